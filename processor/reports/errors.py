"""What can go wrong with a report index, whichever database holds it."""

from __future__ import annotations


class ReportIndexError(Exception):
    """The index cannot be used (missing, another schema version, not an index); says what to do."""


class MissingIndexError(ReportIndexError):
    """A reader found no index (it is never created empty for a reader)."""


class SchemaVersionError(ReportIndexError):
    """The index needs a migration this process will not apply, or is newer than this crashproc."""


class IndexUnavailable(ReportIndexError):
    """The database server cannot be reached or dropped the connection: worth trying again."""
