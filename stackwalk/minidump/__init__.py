"""Bounds-checked minidump reader: `Minidump.open(path)`; every failure is a MinidumpError."""

from stackwalk.minidump.dump import Minidump
from stackwalk.minidump.errors import (
    BadHeader,
    MinidumpError,
    MissingStream,
    OutOfBounds,
    StreamError,
)

__all__ = ["BadHeader", "Minidump", "MinidumpError", "MissingStream", "OutOfBounds", "StreamError"]
