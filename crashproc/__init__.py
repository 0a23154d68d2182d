"""What every part of crashproc shares and that belongs to none of them.

This package sits below ``processor``, ``stackwalk``, ``symbols``, ``signature`` and
``schemas``: any of them may import it, and it imports none of them. It holds the
installation's version, the conventions every command line follows (``cli``), the one
progress bar of long runs (``progress``), and the configuration file every command reads
(``config``).
"""

from __future__ import annotations

DISTRIBUTION = "crashproc"


def version() -> str:
    """The installed distribution's version (``0+unknown`` when run from an uninstalled tree)."""
    # imported here: importlib.metadata costs ~20 ms, more than a whole `stackwalk` run
    # needs, and only --version and provenance records ask for the version
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
