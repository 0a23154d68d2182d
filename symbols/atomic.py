"""Atomic file creation shared by the symbol store and the download cache.

Readers in other processes must never see a half-written symbol file, and a failed or
interrupted write must not leave partial files behind: data goes to a temporary file in
a scratch directory on the same filesystem and is renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

SCRATCH_PREFIX = ".part-"


@contextlib.contextmanager
def scratch_file(scratch_dir: Path) -> Iterator[Path]:
    """A new empty temporary file in `scratch_dir`; deleted on exit unless published."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=scratch_dir, prefix=SCRATCH_PREFIX)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def publish(tmp: Path, final: Path) -> None:
    """Flush `tmp` to disk and rename it to `final` (replacing any previous file)."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
