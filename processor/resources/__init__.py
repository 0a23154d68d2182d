"""What rules are built with: the stackwalker backends (one ``Stackwalker`` interface), the
symbol provider every command builds the same way, the beta version lookup, the parsers and
records rules share, and ``RulesetContext``, which makes each once per pipeline from settings.

Below the rules and the engine, above storage, queues and observability.
"""
