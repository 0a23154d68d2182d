"""Reports over processed crashes (missing symbols, signatures, before/after) from the report index
(an SQLite file, or a PostgreSQL database shared by every host)."""

from processor.reports.index import ReportIndex, ReportIndexError, attach_report_index

__all__ = ["ReportIndex", "ReportIndexError", "attach_report_index"]
