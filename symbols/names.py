"""Naming rules shared by the store, the cache, the suppliers and the server.

Every place that turns a module identity into a path or URL goes through here, so the
layout `{debug_file}/{DEBUG_ID}/{sym_file}` and the refusal of names that could leave a
directory are defined once.

The checks are string methods rather than regular expressions: a one-dump ``stackwalk``
looks up a dozen modules, and compiling the patterns cost it more than the lookups.
"""

from __future__ import annotations

from symbols.errors import UnsafeNameError

HEX_DIGITS = "0123456789ABCDEFabcdef"
# Control characters can split log lines and HTTP headers; refuse them in path parts.
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])  # str.translate deletes them
MAX_NAME_LENGTH = 255
# A store's code-info index and scratch directory (the supplier reads them without the store).
INDEX_NAME = ".code-info.sqlite3"
SCRATCH_NAME = ".tmp"
MAX_ID_LENGTH = 64


def leaf(name: str) -> str:
    """Basename of a Windows or POSIX path, as rust-minidump takes it (splits on / and \\)."""
    return name.rpartition("/")[2].rpartition("\\")[2]


def sym_file_name(debug_file: str) -> str:
    """Symbol file name for a debug file: `.pdb` -> `.sym`, otherwise `.sym` appended."""
    base = leaf(debug_file)
    if base.lower().endswith(".pdb"):
        return base[:-4] + ".sym"
    return base + ".sym"


def code_info_sym_name(code_file: str) -> str:
    """Last path part of a code-info lookup: `.dll` -> `.sym`, otherwise `.sym` appended."""
    base = leaf(code_file)
    if base.lower().endswith(".dll"):
        return base[:-4] + ".sym"
    return base + ".sym"


def check_component(name: str, what: str = "name") -> str:
    """Return `name` if it is safe as one path component, else raise UnsafeNameError.

    Refused: empty, leading dot (so `.`/`..`), any `/`, `\\`, NUL or control character, a drive letter
    prefix, over-long names. The message names the rule, not the value (which may be
    attacker-controlled).
    """
    if not name or name.startswith("."):
        # Covers "." and ".."; dot-names are also reserved for a store's own files.
        raise UnsafeNameError(f"{what} is empty or starts with a dot")
    if "/" in name or "\\" in name:
        raise UnsafeNameError(f"{what} contains a path separator")
    if len(name.translate(_CONTROL)) != len(name):
        raise UnsafeNameError(f"{what} contains a NUL or control character")
    if name[1:2] == ":" and name[0].isascii() and name[0].isalpha():
        raise UnsafeNameError(f"{what} starts with a drive letter")
    if len(name) > MAX_NAME_LENGTH:
        raise UnsafeNameError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    return name


def normalize_id(identifier: str, what: str = "id") -> str:
    """Upper-case a debug or code id after checking it is plain hex (the store's key form)."""
    if not identifier or len(identifier) > MAX_ID_LENGTH or identifier.strip(HEX_DIGITS):
        raise UnsafeNameError(f"{what} is not a hex string of 1-{MAX_ID_LENGTH} digits")
    return identifier.upper()


def store_relpath(debug_file: str, debug_id: str, sym_file: str | None = None) -> tuple[str, ...]:
    """The three checked path parts `(debug_file, DEBUG_ID, sym_file)` of a symbol file.

    Callers holding a dump's full path pass `leaf(path)`; a name with separators is refused
    here rather than silently shortened. Breakpad ids keep the age's case on the wire but
    stores compare ids upper-case, so the directory name is always upper-case.
    """
    debug_file = check_component(debug_file, "debug file")
    ident = normalize_id(debug_id, "debug id")
    name = check_component(
        sym_file if sym_file is not None else sym_file_name(debug_file), "symbol file"
    )
    return (debug_file, ident, name)
