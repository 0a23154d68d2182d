"""Request bodies read to disk as they arrive, under limits: multipart forms, gzip, raw bodies.

Starlette's own form parser keeps file parts in spooled temporary files and knows neither
``Content-Encoding: gzip`` request bodies (Crashpad compresses its uploads) nor a limit on
the decompressed size, so this module drives python-multipart's streaming parser itself:
each chunk received is counted against the wire limit, inflated under the uncompressed limit
(a gzip bomb stops at the limit, not at the end of memory), and fed to the parser, which
writes file parts straight into scratch files named by their position (never by a name the
client chose). What breaks a rule raises ``FormError`` with a short code and a sentence.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import ClientDisconnect, Request

CHUNK = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FormError(ValueError):
    """A body this service refuses: ``code`` is a short token, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Disconnected(Exception):
    """The client went away before its body was complete: there is nobody to answer."""


@dataclass(frozen=True)
class Limits:
    """How much of a body a service accepts."""

    max_body: int  # bytes on the wire (compressed when gzip)
    max_uncompressed: int  # bytes after inflating a gzip body
    max_parts: int = 100  # form fields and files together
    max_field_size: int = 1 << 20  # one non-file field's value
    allow_gzip: bool = True


@dataclass
class FilePart:
    """A file part, already on disk."""

    name: str
    filename: str
    content_type: str
    path: Path
    size: int = 0
    sha256: str = ""


@dataclass
class Field:
    """A form field that is not a file (an annotation, a JSON blob)."""

    name: str
    value: bytes
    content_type: str


@dataclass
class Form:
    fields: list[Field] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)
    compressed: bool = False
    wire_size: int = 0
    size: int = 0  # after inflating


async def _body(request: Request, limits: Limits) -> AsyncIterator[bytes]:
    """The body's chunks, inflated when gzip, each limit checked as bytes arrive."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise FormError("bad_content_length", "Content-Length is not a number")
        if int(declared) > limits.max_body:
            raise FormError("body_too_large", f"body larger than {limits.max_body} bytes")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip") or (encoding == "gzip" and not limits.allow_gzip):
        raise FormError("bad_content_encoding", f"Content-Encoding {encoding!r} not supported")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    received = 0
    produced = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limits.max_body:
                raise FormError("body_too_large", f"body larger than {limits.max_body} bytes")
            if inflater is None:
                produced += len(chunk)
                yield chunk
                continue
            data = chunk
            while data:
                if inflater.eof:
                    raise FormError("bad_gzip", "data after the end of the gzip stream")
                room = limits.max_uncompressed - produced + 1
                try:
                    out = inflater.decompress(data, min(room, CHUNK * 4))
                except zlib.error:
                    raise FormError("bad_gzip", "the body is not valid gzip") from None
                produced += len(out)
                if produced > limits.max_uncompressed:
                    raise FormError(
                        "uncompressed_too_large",
                        f"body larger than {limits.max_uncompressed} bytes uncompressed",
                    )
                if out:
                    yield out
                data = inflater.unconsumed_tail
    except ClientDisconnect:
        raise Disconnected() from None
    if declared is not None and received != int(declared):
        raise FormError("truncated", "body shorter than its Content-Length")
    if inflater is not None and not inflater.eof:
        raise FormError("bad_gzip", "the gzip stream is truncated")
    request.state.wire_size = received
    request.state.size = produced


def boundary_of(request: Request) -> bytes:
    """The multipart boundary, or FormError when the body is not multipart/form-data."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type not in (b"multipart/form-data", b"multipart/mixed"):
        raise FormError("not_multipart", "the body is not multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary:
        raise FormError("no_boundary", "multipart/form-data without a boundary")
    return boundary


async def read_form(request: Request, limits: Limits, scratch: Path) -> Form:
    """Parse a multipart body; file parts are written into ``scratch`` (which must exist)."""
    boundary = boundary_of(request)
    form = Form(compressed=request.headers.get("content-encoding", "").lower() == "gzip")
    state = _PartState(form, limits, scratch)
    parser = MultipartParser(boundary, state.callbacks())
    try:
        async for chunk in _body(request, limits):
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        state.close()
        raise FormError("bad_multipart", "the multipart body is malformed") from None
    except BaseException:
        state.close()
        raise
    state.close()
    if parser.state != MultipartState.END:
        raise FormError("truncated", "the multipart body ends before its closing boundary")
    form.wire_size = request.state.wire_size
    form.size = request.state.size
    return form


async def read_body(request: Request, limits: Limits, target: BinaryIO) -> int:
    """Copy a raw (maybe gzip) body into ``target``; the size written."""
    written = 0
    async for chunk in _body(request, limits):
        target.write(chunk)
        written += len(chunk)
    return written


class _PartState:
    """python-multipart's callbacks: headers parsed per part, data to memory or a file."""

    def __init__(self, form: Form, limits: Limits, scratch: Path) -> None:
        self.form = form
        self.limits = limits
        self.scratch = scratch
        self.parts = 0
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.field: Field | None = None
        self.buffer = bytearray()
        self.file: FilePart | None = None
        self.out: BinaryIO | None = None
        self.digest = hashlib.sha256()
        self.skip = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value_data,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise FormError("too_many_parts", f"more than {self.limits.max_parts} form parts")
        self.headers = {}
        self.header_name = self.header_value = b""
        self.field = self.file = None
        self.skip = False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if len(self.headers) > 16 or len(self.header_value) > 4096:
            raise FormError("bad_multipart", "a form part has too many or too long headers")
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name = self.header_value = b""

    def headers_finished(self) -> None:
        disposition, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        name_bytes = params.get(b"name")
        if disposition != b"form-data" or not name_bytes:
            self.skip = True  # a part without a name carries nothing we can file
            return
        try:
            name = name_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError("bad_field_name", "a form field name is not UTF-8") from None
        if _CONTROL.search(name) or len(name) > 256:
            raise FormError("bad_field_name", "a form field name has control characters")
        content_type = self.headers.get(b"content-type", b"").decode("latin-1")
        if b"filename" in params:
            path = self.scratch / f"part-{self.parts}"
            self.file = FilePart(
                name=name,
                filename=params[b"filename"].decode("utf-8", "replace"),
                content_type=content_type,
                path=path,
            )
            self.out = open(path, "wb")  # noqa: SIM115 (closed in part_end or close)
            self.digest = hashlib.sha256()
        else:
            self.field = Field(name=name, value=b"", content_type=content_type)
            self.buffer = bytearray()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.skip:
            return
        chunk = data[start:end]
        if self.file is not None and self.out is not None:
            self.out.write(chunk)
            self.digest.update(chunk)
            self.file.size += len(chunk)
        elif self.field is not None:
            self.buffer += chunk
            if len(self.buffer) > self.limits.max_field_size:
                raise FormError(
                    "field_too_large",
                    f"form field {self.field.name!r} larger than "
                    f"{self.limits.max_field_size} bytes",
                )

    def part_end(self) -> None:
        if self.file is not None and self.out is not None:
            self.out.close()
            self.out = None
            self.file.sha256 = self.digest.hexdigest()
            self.form.files.append(self.file)
        elif self.field is not None:
            self.field.value = bytes(self.buffer)
            self.form.fields.append(self.field)
        self.file = self.field = None

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
