"""Reports over processed crashes (missing symbols, signatures, before/after) from an SQLite index."""

from processor.reports.index import ReportIndex, ReportIndexError, attach_report_index

__all__ = ["ReportIndex", "ReportIndexError", "attach_report_index"]
