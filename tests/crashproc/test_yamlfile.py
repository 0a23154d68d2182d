"""Start-up YAML: libyaml's parser and the parsed-document cache give PyYAML's documents."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from crashproc import yamlfile

REPO = Path(__file__).resolve().parents[2]
STARTUP_FILES = [
    *sorted((REPO / "schemas").glob("*.yaml")),
    REPO / "crashproc" / "settings.yaml",
    REPO / "processor" / "metrics.yaml",
]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "yaml-cache"
    monkeypatch.setenv(yamlfile.CACHE_ENV, str(directory))
    return directory


def entry_for(cache: Path, path: Path) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return cache / f"{digest}.v{yamlfile.CACHE_FORMAT}.json"


def test_libyaml_is_used_here():
    assert yamlfile.LOADER_NAME == "CSafeLoader"


@pytest.mark.parametrize("path", STARTUP_FILES, ids=lambda p: p.name)
def test_parsed_and_cached_documents_are_pyyamls(cache, path):
    expected = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert yamlfile.load(path) == expected  # parsed, then cached
    assert entry_for(cache, path).is_file()
    assert yamlfile.load(path) == expected  # from the cache


def test_the_cache_is_what_a_second_load_reads(cache, tmp_path):
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    yamlfile.load(path)
    entry = entry_for(cache, path)
    cached = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**cached, "document": {"a": "from the cache"}}), encoding="utf-8")
    assert yamlfile.load(path) == {"a": "from the cache"}


def test_an_edited_file_is_never_served_from_the_old_entry(cache, tmp_path):
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert yamlfile.load(path) == {"a": 1}
    path.write_text("a: 2\n", encoding="utf-8")
    assert yamlfile.load(path) == {"a": 2}


@pytest.mark.parametrize(
    "content",
    ["", "{not json", '{"sha256": "0000", "document": {"a": "stale"}}', '["a list"]'],
    ids=["empty", "truncated", "wrong-digest", "not-an-entry"],
)
def test_a_corrupt_entry_is_ignored_and_rewritten(cache, tmp_path, content):
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    entry = entry_for(cache, path)
    entry.parent.mkdir(parents=True)
    entry.write_text(content, encoding="utf-8")
    assert yamlfile.load(path) == {"a": 1}
    assert json.loads(entry.read_text(encoding="utf-8"))["document"] == {"a": 1}


def test_documents_json_would_change_are_not_cached(cache, tmp_path):
    path = tmp_path / "doc.yaml"
    path.write_text("when: 2026-01-02\n1: one\n", encoding="utf-8")
    assert yamlfile.load(path) == {"when": datetime.date(2026, 1, 2), 1: "one"}
    assert not entry_for(cache, path).exists()


def test_an_unwritable_cache_is_not_used(tmp_path, monkeypatch):
    """An existing cache directory nobody can write into, root included (CI runs as root,
    for whom a chmod'ed directory is still writable): /proc/self refuses new files."""
    monkeypatch.setenv(yamlfile.CACHE_ENV, "/proc/self")
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert yamlfile.load(path) == {"a": 1}
    assert yamlfile.load(path) == {"a": 1}  # and again, still parsed, still no error


def test_a_cache_path_that_is_a_file_is_not_used(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(yamlfile.CACHE_ENV, str(blocker / "yaml"))
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert yamlfile.load(path) == {"a": 1}


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv(yamlfile.CACHE_ENV, "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert yamlfile.load(path) == {"a": 1}
    assert not (tmp_path / "xdg").exists()


def test_the_default_cache_is_under_the_user_cache_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(yamlfile.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "doc.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    yamlfile.load(path)
    assert entry_for(tmp_path / "xdg" / "crashproc" / "yaml", path).is_file()


def test_old_entries_are_pruned(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(yamlfile, "MAX_ENTRIES", 3)
    for number in range(5):
        path = tmp_path / f"doc{number}.yaml"
        path.write_text(f"n: {number}\n", encoding="utf-8")
        yamlfile.load(path)
    assert len(list(cache.glob("*.json"))) == 3
