"""Reading the YAML files every process starts with (schemas, settings, metrics) cheaply.

PyYAML's pure-Python parser takes ~0.2-0.7 s for the processed-crash schema alone, paid by every
command and every worker. Two remedies, both transparent:

* libyaml's ``CSafeLoader`` when PyYAML was built with it (its wheels are): ~8x faster, the same
  documents as ``SafeLoader``;
* a cache of the parsed document as JSON under the user cache directory
  (``$XDG_CACHE_HOME/crashproc/yaml``, else ``~/.cache/crashproc/yaml``), named by the SHA-256
  of the file's bytes, so an edited file is a different entry and can never be served stale.
  An entry that cannot be read or decoded, or that does not hold what its name promises, is
  ignored and rewritten; a cache directory that cannot be written is simply not used.
  ``CRASHPROC_YAML_CACHE=0`` turns the cache off (a directory path there moves it).

Only documents JSON represents exactly are cached (a timestamp or a non-string key would come
back changed); the others are parsed every time. JSON rather than pickle: a cache file is
data, and loading it cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

CACHE_ENV = "CRASHPROC_YAML_CACHE"
CACHE_FORMAT = 1  # part of every entry's name: bump when the entry layout changes
MAX_ENTRIES = 64  # a few versions of each file read at start-up

try:
    SafeLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    SafeLoader = yaml.SafeLoader

LOADER_NAME = SafeLoader.__name__


def parse(text: str | bytes) -> Any:
    """``yaml.safe_load`` with libyaml when present; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=SafeLoader)


def cache_dir() -> Path | None:
    """Where parsed documents are kept, or None when the cache is turned off."""
    setting = os.environ.get(CACHE_ENV, "")
    if setting.lower() in ("0", "off", "false", "no"):
        return None
    if setting and setting.lower() not in ("1", "on", "true", "yes"):
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crashproc" / "yaml"


def load(path: str | Path) -> Any:
    """The document in the YAML file ``path``; raises OSError or ``yaml.YAMLError``."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    directory = cache_dir()
    entry = directory / f"{digest}.v{CACHE_FORMAT}.json" if directory else None
    if entry is not None:
        cached = _read_entry(entry, digest)
        if cached is not None:
            return cached["document"]
    document = parse(data)
    if entry is not None:
        _write_entry(entry, digest, document)
    return document


def _read_entry(entry: Path, digest: str) -> dict[str, Any] | None:
    try:
        cached = json.loads(entry.read_bytes())
    except (OSError, ValueError):
        return None  # absent, unreadable or corrupt: parse again (and rewrite it)
    if not isinstance(cached, dict) or cached.get("sha256") != digest or "document" not in cached:
        return None
    return cached


def _write_entry(entry: Path, digest: str, document: Any) -> None:
    try:
        text = json.dumps({"sha256": digest, "document": document}, ensure_ascii=False)
    except (TypeError, ValueError):
        return  # not JSON (a timestamp, a set): not cached
    if json.loads(text)["document"] != document:
        return  # JSON would change it (a non-string key): not cached
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader sees the old entry, no entry, or the whole new one.
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fp:
                fp.write(text)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(entry.parent)
    except (OSError, ValueError):
        pass  # a read-only or full cache directory: parsing again next time is fine


def _prune(directory: Path) -> None:
    """Keep the newest ``MAX_ENTRIES``: every edit of a file makes a new entry."""
    entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[MAX_ENTRIES:]:
        stale.unlink(missing_ok=True)
