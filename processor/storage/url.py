"""Crash storage from a URL: ``./var/crashes``, ``/srv/crashes``, ``file:PATH``, ``s3://bucket/prefix``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from processor.storage.crashstorage import CrashStorage, PublicView
from processor.storage.objectstore import ObjectStore, StorageError

# What the `s3` extra installs (boto3 brings botocore).
S3_MODULES = frozenset({"boto3", "botocore"})


def open_object_store(url: str, s3_endpoint_url: str | None = None) -> ObjectStore:
    """The object store a storage URL names; a bad URL is a StorageError saying why."""
    if not url:
        raise StorageError("storage URL is empty")
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if not parts.netloc:
            raise StorageError(f"storage URL {url!r} names no bucket (s3://bucket/prefix)")
        if parts.query or parts.fragment:
            raise StorageError(f"storage URL {url!r}: s3 URLs take no query or fragment")
        try:
            from processor.storage.s3 import S3ObjectStore
        except ModuleNotFoundError as exc:
            # boto3 is the optional `s3` extra: say which one to install, not a traceback.
            if exc.name not in S3_MODULES:
                raise
            raise StorageError(
                f"s3:// storage needs {exc.name}: pip install 'crashproc[s3]'"
            ) from None

        return S3ObjectStore(parts.netloc, unquote(parts.path), endpoint_url=s3_endpoint_url)
    if url.startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise StorageError(f"storage URL {url!r}: file URLs must be local")
        path = unquote(parts.path)
        if not path:
            raise StorageError(f"storage URL {url!r} names no directory")
        from processor.storage.fs import FSObjectStore

        return FSObjectStore(path)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StorageError(
            f"unsupported storage URL scheme {scheme[:20]!r}: use a directory, file:PATH or "
            "s3://bucket/prefix"
        )
    from processor.storage.fs import FSObjectStore

    return FSObjectStore(url)


def open_storage(
    url: str, public_view: PublicView | None = None, s3_endpoint_url: str | None = None
) -> CrashStorage:
    return CrashStorage(open_object_store(url, s3_endpoint_url), public_view=public_view)
