"""What every part of crashproc shares and that belongs to none of them.

This package sits below ``processor``, ``stackwalk``, ``symbols``, ``signature`` and
``schemas``: any of them may import it, and it imports none of them. It holds the
installation's version, the conventions every command line follows (``cli``), the one
progress bar of long runs (``progress``), and the configuration file every command reads
(``config``).
"""

from __future__ import annotations

import functools

DISTRIBUTION = "crashproc"
UNKNOWN_VERSION = "0+unknown"


@functools.cache
def version() -> str:
    """The installed distribution's version (``0+unknown`` when run from an uninstalled tree).

    Read once per process: the processor records it in every processed crash, and reading the
    distribution's metadata costs milliseconds each time (the running code is the one that
    was imported anyway, whatever an upgrade meanwhile wrote on disk)."""
    # imported here: importlib.metadata costs ~20 ms, more than a whole `stackwalk` run
    # needs, and only --version and provenance records ask for the version
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION
