"""A real terminal for tests of what commands draw only on terminals (the progress bars).

A pseudo-terminal is a terminal device, so the code's own tty check runs for real. What is
written to it is drained by a thread as it comes (a full pty would block the writer), and
``text()`` returns all of it once the terminal is closed.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
from typing import TextIO


class Terminal:
    """``stream`` is the terminal side to write to; ``size`` (columns, lines) or None (0x0)."""

    def __init__(self, size: tuple[int, int] | None = (100, 30)):
        self._master, replica = os.openpty()
        if size is not None:
            columns, lines = size
            winsize = struct.pack("HHHH", lines, columns, 0, 0)
            fcntl.ioctl(replica, termios.TIOCSWINSZ, winsize)
        self.stream: TextIO = os.fdopen(replica, "w")
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 1 << 16)
            except OSError:  # EIO: the terminal side is closed and everything was read
                break
            if not chunk:
                break
            self._chunks.append(chunk)

    def text(self) -> str:
        """Everything written, after closing the terminal side (pty line ends are \\r\\n)."""
        if not self.stream.closed:
            self.stream.close()
        self._reader.join()
        os.close(self._master)
        return b"".join(self._chunks).decode()
