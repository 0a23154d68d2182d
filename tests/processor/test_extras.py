"""Backends from optional extras: without the package, one line naming the extra to install.

``make install`` installs every extra, so a missing package is stood in for here by making its
import fail: ``sys.modules[name] = None`` is what Python's import system reads as "not
installed" (ModuleNotFoundError), as for a ``pip install crashproc`` without the extra. The
backend module is dropped from ``sys.modules`` too, so its imports run again.
"""

from __future__ import annotations

import io
import sys

import pytest

from processor.cli import run
from processor.queues import QueueError, open_queue
from processor.storage import StorageError, open_object_store

S3_MESSAGE = "s3:// storage needs boto3: pip install 'crashproc[s3]'"
REDIS_MESSAGE = "redis:// queues need redis: pip install 'crashproc[redis]'"


@pytest.fixture
def without_boto3(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.delitem(sys.modules, "processor.storage.s3", raising=False)


@pytest.fixture
def without_redis(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "processor.queues.redis_streams", raising=False)


def test_s3_storage_without_boto3(without_boto3):
    with pytest.raises(StorageError) as info:
        open_object_store("s3://crashes/prod")
    assert str(info.value) == S3_MESSAGE


def test_redis_queue_without_redis(without_redis):
    for scheme in ("redis", "rediss", "unix"):
        with pytest.raises(QueueError) as info:
            open_queue(f"{scheme}://localhost/0")
        assert str(info.value) == REDIS_MESSAGE.replace("redis://", f"{scheme}://")


def test_other_backends_need_no_extra(without_boto3, without_redis, tmp_path):
    open_object_store(str(tmp_path / "crashes"))
    open_queue(f"sqlite:{tmp_path / 'queue.sqlite'}").close()


def usage_error_line(argv: list[str], tmp_path, capsys) -> str:
    """Run a command (DIR stands for a directory, QUEUE for a local queue); assert it ended
    with a usage error of one line, no traceback, and return that line."""
    local = {"DIR": str(tmp_path), "QUEUE": f"sqlite:{tmp_path / 'queue.sqlite'}"}
    status = run([local.get(arg, arg) for arg in argv], out=io.StringIO())
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "reindex", "--storage", "s3://crashes/prod", "--index", "DIR"],
        ["reprocess", "--storage", "s3://crashes/prod", "--all"],
        ["submit", "--storage", "s3://crashes/prod", "--queue", "QUEUE", "DIR"],
    ],
    ids=lambda argv: argv[0],
)
def test_commands_say_which_extra_s3_storage_needs(without_boto3, argv, tmp_path, capsys):
    assert usage_error_line(argv, tmp_path, capsys).endswith(f": {S3_MESSAGE}\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["queue", "status", "--queue", "redis://localhost:6379/0"],
        ["submit", "--storage", "DIR", "--queue", "redis://localhost:6379/0", "DIR"],
        ["reprocess", "--storage", "DIR", "--queue=redis://localhost:6379/0", "--all"],
    ],
    ids=lambda argv: argv[0],
)
def test_commands_say_which_extra_redis_queues_need(without_redis, argv, tmp_path, capsys):
    assert usage_error_line(argv, tmp_path, capsys).endswith(f": {REDIS_MESSAGE}\n")
