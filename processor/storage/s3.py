"""S3 object store (boto3): crash storage for installations that outgrow one machine.

boto3 comes with the ``s3`` extra (``pip install 'crashproc[s3]'``); only an ``s3://`` storage URL
imports this module (processor.storage.url says which extra is missing).

S3 replaces an object whole on every PUT, so writes are atomic without temporary objects.
Credentials come from boto3's usual chain (environment, config files, instance roles); an
S3-compatible server is reached with ``endpoint_url`` (CRASHPROC_S3_ENDPOINT_URL). Error
messages name the bucket, the key and the S3 error code only: never credentials, never data.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from processor.storage.objectstore import (
    READ_CHUNK,
    KeyNotFound,
    ObjectStore,
    StorageError,
    StoredObject,
    check_key,
    check_prefix,
)

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
CLIENT_CONFIG = Config(
    connect_timeout=10, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"}
)

FETCH_ATTEMPTS = 3


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))


class S3ObjectStore(ObjectStore):
    """Keys below ``prefix`` in ``bucket``."""

    def __init__(
        self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client: Any = None
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.endpoint_url = endpoint_url
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, config=CLIENT_CONFIG)

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}"
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, action: str, key: str, exc: Exception) -> StorageError:
        if isinstance(exc, ClientError):
            code = _error_code(exc)
            if code in NOT_FOUND_CODES:
                return KeyNotFound(f"{key}: not in storage")
            return StorageError(f"{self.describe()}: {action} {key} failed: {code}")
        return StorageError(f"{self.describe()}: {action} {key} failed: {type(exc).__name__}")

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("put", key, exc) from None

    def put_stream(self, key: str, stream: BinaryIO) -> None:
        try:
            self.client.upload_fileobj(stream, self.bucket, self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("upload", key, exc) from None
        except S3UploadFailedError:
            raise StorageError(f"{self.describe()}: upload {key} failed") from None

    def _get_object(self, key: str, action: str) -> dict[str, Any]:
        """The GET's response (its body not read yet); errors name ``action`` and the key."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(action, key, exc) from None

    def get(self, key: str) -> bytes:
        body = self._get_object(key, "get")["Body"]
        try:
            return body.read()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("get", key, exc) from None

    def open(self, key: str) -> StoredObject:
        response = self._get_object(key, "get")
        return StoredObject(response.get("ContentLength"), _S3Body(self, key, response["Body"]))

    def fetch(self, key: str, path: Path) -> None:
        """One streamed GET into ``path`` (boto3's download_file would first HEAD the object
        for its size: one request more per dump and per stored output). A read that breaks
        mid-stream starts over, up to FETCH_ATTEMPTS times; a failed fetch leaves no file."""
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            body = self._get_object(key, "download")["Body"]
            try:
                with open(path, "wb") as out:
                    shutil.copyfileobj(body, out, READ_CHUNK)
                return
            except BotoCoreError as exc:  # the stream broke (timeout, connection reset)
                path.unlink(missing_ok=True)
                if attempt == FETCH_ATTEMPTS:
                    raise self._fail("download", key, exc) from None
            finally:
                body.close()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if _error_code(exc) in NOT_FOUND_CODES:
                return False
            raise self._fail("head", key, exc) from None
        except BotoCoreError as exc:
            raise self._fail("head", key, exc) from None

    def _pages(self, prefix: str, **options: Any) -> Iterator[dict[str, Any]]:
        full = self._key(prefix[:-1]) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            yield from paginator.paginate(Bucket=self.bucket, Prefix=full, **options)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("list", prefix, exc) from None

    def list_keys(self, prefix: str) -> Iterator[str]:
        check_prefix(prefix)
        start = len(self.prefix) + 1 if self.prefix else 0
        keys = [
            item["Key"][start:] for page in self._pages(prefix) for item in page.get("Contents", [])
        ]
        yield from sorted(keys)

    def list_children(self, prefix: str) -> list[str]:
        check_prefix(prefix)
        names = set()
        skip = len(self._key(prefix[:-1])) + 1
        for page in self._pages(prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.add(common["Prefix"][skip:].rstrip("/"))
            for item in page.get("Contents", []):
                names.add(item["Key"][skip:])
        return sorted(name for name in names if name)


class _S3Body:
    """An object's streaming body whose read errors say which key, as the store's do."""

    def __init__(self, store: S3ObjectStore, key: str, body: Any) -> None:
        self.store = store
        self.key = key
        self.body = body

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self.body.read(size if size >= 0 else None)
        except (ClientError, BotoCoreError) as exc:
            raise self.store._fail("read", self.key, exc) from None

    def close(self) -> None:
        self.body.close()
