"""The daemon's storage keeps the report index: a crash it saves is in the reports at once."""

from __future__ import annotations

import csv
import io

from processor.cli import run
from processor.config import Settings
from processor.service.worker import open_settings_storage


def test_daemon_storage_indexes_what_it_saves(report_storage, tmp_path, monkeypatch):
    monkeypatch.delenv("CRASHPROC_REPORT_INDEX", raising=False)
    settings = Settings()
    settings.storage = str(tmp_path / "crashes")
    storage = open_settings_storage(settings)
    crash_id, processed = next(iter(report_storage.processed.items()))
    storage.save_processed_crash(crash_id, processed)
    storage.close()
    assert (tmp_path / "report-index.sqlite").is_file()  # beside the storage directory

    out = io.StringIO()
    status = run(
        ["report", "signatures", "--storage", settings.storage, "--format", "csv"], out=out
    )
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["signature"], r["crashes"]) for r in rows] == [(processed["signature"], "1")]
