"""Crash storage: raw crashes, dumps and processed crashes in Socorro's v1 key layout."""

from processor.storage.crashstorage import (
    CorruptCrashData,
    CrashNotFound,
    CrashStorage,
    ListenerError,
    ProcessedListener,
    stored_outputs,
)
from processor.storage.objectstore import KeyNotFound, ObjectStore, StorageError
from processor.storage.url import open_object_store, open_storage

__all__ = [
    "CorruptCrashData",
    "CrashNotFound",
    "CrashStorage",
    "KeyNotFound",
    "ListenerError",
    "ObjectStore",
    "ProcessedListener",
    "StorageError",
    "open_object_store",
    "open_storage",
    "stored_outputs",
]
