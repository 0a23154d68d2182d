"""A collector on 127.0.0.1 over a storage directory and an SQLite queue in tmp_path."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from processor.collector.app import build_collector
from processor.config import Settings
from processor.queues import open_queue
from processor.storage import open_storage
from webstack.serve import start_background

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "crashes"


@dataclass
class Site:
    url: str
    root: Path

    @property
    def storage_url(self) -> str:
        return str(self.root / "crashes")

    @property
    def queue_url(self) -> str:
        return f"sqlite:{self.root / 'queue.sqlite'}"

    def stored(self) -> list[str]:
        return sorted(open_storage(self.storage_url).list_crash_ids())

    def raw_crash(self, crash_id: str) -> dict:
        return open_storage(self.storage_url).load_raw_crash(crash_id)

    def queued(self) -> int:
        queue = open_queue(self.queue_url)
        try:
            return queue.depths()["standard"]
        finally:
            queue.close()

    def files(self) -> list[str]:
        crashes = self.root / "crashes"
        return sorted(str(p) for p in crashes.rglob("*") if p.is_file()) if crashes.exists() else []


def settings_for(root: Path, **overrides) -> Settings:
    settings = Settings(
        storage=str(root / "crashes"), queue=f"sqlite:{root / 'queue.sqlite'}", **overrides
    )
    settings.check()
    return settings


@pytest.fixture
def make_collector(tmp_path) -> Iterator:
    servers = []

    def make(**overrides) -> Site:
        root = tmp_path / f"site{len(servers)}"
        root.mkdir()
        collector = build_collector(settings_for(root, **overrides))
        server = start_background(collector.asgi())
        servers.append(server)
        site = Site(url=f"http://127.0.0.1:{server.server_port}", root=root)
        site.collector = collector
        return site

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def collector(make_collector) -> Site:
    return make_collector()


def sample(name: str) -> tuple[dict, dict[str, bytes]]:
    """A sample crash's annotations (collector keys removed) and its dumps."""
    directory = SAMPLES / name
    raw = json.loads((directory / "raw_crash.json").read_text())
    for key in ("uuid", "submitted_timestamp", "version", "metadata"):
        raw.pop(key, None)
    dumps = {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.name != "raw_crash.json" and not p.name.endswith(".json")
    }
    return raw, dumps


def multipart(
    fields: list[tuple[str, str]],
    files: list[tuple[str, str, bytes]],
    boundary: str = "---MultipartBoundary-vI0xQ5mNqJ2dTfXgKcWbZpYs8LhRe3Ua---",
    extra_json: dict | str | None = None,
) -> tuple[bytes, str]:
    """A multipart/form-data body laid out as Crashpad's HTTPMultipartBuilder writes it."""
    out = []
    for name, value in fields:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if extra_json is not None:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="extra"\r\n'
            "Content-Type: application/json\r\n\r\n".encode()
            + (extra_json if isinstance(extra_json, str) else json.dumps(extra_json)).encode()
            + b"\r\n"
        )
    for name, filename, data in files:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body)


def crash_id_of(text: str) -> str:
    assert text.startswith("CrashID=bp-"), text
    return text.strip().removeprefix("CrashID=bp-")


__all__ = ["SAMPLES", "Site", "crash_id_of", "gzipped", "multipart", "os", "sample"]
