"""The "evil JSON" side file (Socorro's raw crash annotations) that minidump-stackwalk reads.

Only two things are taken from it, as in rust-minidump: code-signing subjects per
module (`ModuleSignatureInfo`, an object or a string holding JSON, mapping signer ->
[module names]) and `CPUMicrocodeVersion`. An unreadable file is ignored.
"""

from __future__ import annotations

import os

from crashproc.records import Record


class Evil(Record):
    certs: dict[str, str]
    cpu_microcode_version: str | None = None

    def __init__(
        self, certs: dict[str, str] | None = None, cpu_microcode_version: str | None = None
    ) -> None:
        self.certs = dict() if certs is None else certs
        self.cpu_microcode_version = cpu_microcode_version

    _fields = ("certs", "cpu_microcode_version")


def _object(value: object) -> dict | None:
    import json  # not at the top: a walk without --evil-json never needs it

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def read_evil(source: str | os.PathLike | dict | None) -> Evil:
    """The facts of an evil JSON file at a path, or of its content already parsed (a caller
    holding the annotations in memory passes them, and nothing is written or read)."""
    if source is None:
        return Evil()
    if isinstance(source, dict):
        return evil_from(source)
    import json  # not at the top: a walk without --evil-json never needs it

    try:
        with open(source, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError):
        return Evil()
    return evil_from(data) if isinstance(data, dict) else Evil()


def evil_from(data: dict) -> Evil:
    """The facts taken from the annotations ``data``; what is malformed is ignored."""
    evil = Evil()
    signers = _object(data.get("ModuleSignatureInfo"))
    if signers and all(
        isinstance(mods, list) and all(isinstance(m, str) for m in mods)
        for mods in signers.values()
    ):
        for signer, modules in signers.items():
            for module in modules:
                evil.certs[module] = signer
    microcode = data.get("CPUMicrocodeVersion")
    if isinstance(microcode, str):
        evil.cpu_microcode_version = microcode
    return evil
