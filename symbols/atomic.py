"""Atomic file creation shared by the symbol store and the download cache.

Readers in other processes must never see a half-written symbol file, and a failed or
interrupted write must not leave partial files behind: data goes to a temporary file in
a scratch directory on the same filesystem and is renamed into place only when complete.

Published files get the mode a plain `open(..., "w")` would give them (0666 less the umask,
0644 under the usual 022), not the 0600 of the temporary file: symbol files are no secret
(Tecken serves them to anyone), and a symbols server or a stackwalker running as another user
of the same group must be able to read a store or cache that the processor filled. An
installation that wants them private sets its umask (027: 0640, 077: 0600).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

SCRATCH_PREFIX = ".part-"
_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (os.umask can only
    read it by setting it, which would race with threads creating files meanwhile)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a published file: 0666 less the umask."""
    return 0o666 & ~current_umask()


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
    """Flush `tmp` to disk, give it its published mode (see above) and rename it to `final`
    (replacing any previous file)."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(tmp, file_mode())
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
