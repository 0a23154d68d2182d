"""The configured storage and queue, opened one way for every command and service.

A command that stores crashes and the daemon that processes them must agree on the public
copy (the configured schemas) and on the report index kept beside the storage; the queue's
lease, attempts and retry delay come from the same settings everywhere.
"""

from __future__ import annotations

import json
import os
from typing import Any

from processor.config import Settings
from processor.queues import CrashQueue, open_queue
from processor.storage import CrashStorage, open_storage


def queue_options(settings: Settings) -> dict[str, float]:
    """The queue behaviour the settings ask for (lease, attempts, first retry delay)."""
    return {
        "lease_seconds": settings.queue_lease,
        "max_attempts": settings.queue_max_attempts,
        "retry_delay": settings.queue_retry_delay,
    }


def open_settings_queue(settings: Settings) -> CrashQueue:
    """The configured crash queue (a Redis one checked for persistence)."""
    return open_queue(
        settings.queue,
        allow_volatile_redis=settings.allow_volatile_redis,
        **queue_options(settings),
    )


def open_settings_storage(settings: Settings, *, processed: bool = True) -> CrashStorage:
    """The configured crash storage. For saving processed crashes (``processed``), with the
    public copy made by the configured schemas and every saved crash going into the report
    index (crashproc report); a collector storing raw crashes needs neither."""
    if not processed:
        return open_storage(settings.storage, s3_endpoint_url=settings.s3_endpoint_url)
    from processor.reports.index import attach_report_index, configured_index_path
    from schemas.library import load_schema

    public_view = load_schema("processed_crash", settings.schema_dir).public_view
    storage = open_storage(
        settings.storage, public_view=public_view, s3_endpoint_url=settings.s3_endpoint_url
    )
    attach_report_index(
        storage,
        configured_index_path(settings.report_index, settings.storage),
        owed=settings.report_owed,
        retry_s=settings.report_retry,
    )
    return storage


# A server command's configuration file and flags, for its worker processes (uvicorn starts
# them by import string, so they rebuild the command's settings from this variable).
WORKER_SETTINGS = "CRASHPROC_WORKER_SETTINGS"


def worker_settings_env(
    config_file: str | None, flags: dict[str, tuple[Any, str]]
) -> dict[str, str]:
    """The environment that hands a command's configuration to its server's workers."""
    given = {
        "config": os.path.abspath(config_file) if config_file else None,
        "flags": {name: list(flag) for name, flag in flags.items()},
    }
    return {WORKER_SETTINGS: json.dumps(given)}


def worker_settings() -> Settings:
    """In a server's worker process: the settings its command was run with."""
    given = json.loads(os.environ[WORKER_SETTINGS])
    flags = {name: (value, flag) for name, (value, flag) in given["flags"].items()}
    return Settings.load(config_file=given["config"], flags=flags)
