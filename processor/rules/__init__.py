"""Processing rules: small classes with a ``predicate`` and an ``action``."""
