"""Turning one stack frame into the single string that signature generation works with.

Symbols carry detail that differs between builds and platforms (template arguments,
parameter lists, return types, Rust hashes, lambda numbers); dropping it is what makes
crashes of the same bug group together. The rules and their quirks follow current Socorro
(its ``socorro/signature/rules.py`` and ``utils.py``).

Everything here is linear in the length of its input: bracket matching scans only the
bracket characters (found with a regex), never re-slices per character, and the only
recursion (``IPC::ParamTraits<...>``) is depth-limited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from signature.siglists import SignatureLists, matches

# --- small text helpers ---------------------------------------------------------------


def parse_source_file(source_file: str | None) -> str | None:
    """The path inside a frame's ``file`` value, or None when the form is not recognized.

    ``hg:host/repo:path:rev`` (4 parts) gives the path, ``c:\\dir\\x.cpp`` (2 parts) the part
    after the drive, an absolute POSIX path itself; anything else (relative paths, 3 colons)
    is unknown. Rust normalization keys off this, so the quirks matter.
    """
    if not source_file:
        return None
    parts = source_file.split(":")
    if len(parts) == 4:
        return parts[2]
    if len(parts) == 2:
        return parts[1]
    if source_file.startswith("/"):
        return source_file
    return None


def file_basename(file: str) -> str:
    """Last path segment of a raw ``file`` value (VCS revision suffix included, as Socorro)."""
    trimmed = file.rstrip("/\\")
    separator = "\\" if "\\" in trimmed else "/"
    return trimmed.rsplit(separator, 1)[-1]


def strip_leading_zeros(text: str) -> str:
    """``0x0000000000032ec0`` -> ``0x32ec0``; text that is not hex is returned unchanged."""
    try:
        return hex(int(text, 16))
    except (ValueError, TypeError):
        return text


# --- bracket handling -------------------------------------------------------------------


@cache
def _bracket_re(opening: str, closing: str) -> re.Pattern[str]:
    return re.compile(f"[{re.escape(opening)}{re.escape(closing)}]")


def enclosed_slices(text: str, opening: str, closing: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of every outermost ``opening ... closing`` span of ``text``.

    Unmatched closers at the top level are ordinary text; an unclosed opener runs to the
    end of the string.
    """
    depth = 0
    start = 0
    for match in _bracket_re(opening, closing).finditer(text):
        if match.group() == opening:
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                yield start, match.end()
    if depth:
        yield start, len(text)


Replacement = Callable[[str, str], str]


def replace_enclosed(text: str, opening: str, closing: str, replace: Replacement) -> str:
    """Rebuild ``text`` with each outermost span replaced by ``replace(before, inside)``.

    ``before`` is only the text since the previous span, which is what Socorro's
    exceptions (``operator``, ``IPC::ParamTraits``) look at.
    """
    if opening not in text:
        return text
    pieces = []
    previous_end = 0
    for start, end in enclosed_slices(text, opening, closing):
        before = text[previous_end:start]
        pieces.append(before)
        pieces.append(replace(before, text[start:end]))
        previous_end = end
    pieces.append(text[previous_end:])
    return "".join(pieces)


def _delete(before: str, inside: str) -> str:
    return ""


#: Nesting depth of ``IPC::ParamTraits<IPC::ParamTraits<...>>`` that is still unfolded;
#: deeper levels collapse to ``<T>`` so absurd inputs cannot recurse without bound.
MAX_TRAITS_DEPTH = 16


def collapse_cpp_types(function: str, depth: int = 0) -> str:
    """Collapse C++ template arguments to ``<T>`` (Socorro's rules since bug 2031036).

    Kept verbatim: exactly ``<name omitted>``, anything containing `` as `` or `` in ``
    (``<unknown in foo.dll>``), and the ``<`` of ``operator<``, ``operator<<`` and
    ``operator<=>`` (bug 2010995). The argument of ``IPC::ParamTraits<...>`` is collapsed
    recursively inside kept brackets so the serialized type stays visible.
    """

    def replace(before: str, inside: str) -> str:
        if inside == "<name omitted>" or " as " in inside or " in " in inside:
            return inside
        if before.endswith("operator"):
            return inside
        if before.endswith("IPC::ParamTraits") and depth < MAX_TRAITS_DEPTH:
            return f"<{collapse_cpp_types(inside[1:-1], depth + 1)}>"
        return "<T>"

    return replace_enclosed(function, "<", ">", replace)


def collapse_cpp_arguments(function: str) -> str:
    """Drop parameter lists, keeping ``(anonymous namespace)`` and ``operator()``."""

    def replace(before: str, inside: str) -> str:
        if inside == "(anonymous namespace)" or before.endswith("operator"):
            return inside
        return ""

    return replace_enclosed(function, "(", ")", replace)


def collapse_rust_types(function: str) -> str:
    """Collapse Rust generics to ``<T>`` except trait impls (``<X as Trait>``)."""

    def replace(before: str, inside: str) -> str:
        return inside if " as " in inside else "<T>"

    return replace_enclosed(function, "<", ">", replace)


_OPENERS = {"(": ")", "{": "}", "[": "]", "<": ">", "`": "'"}
_CLOSERS = frozenset(_OPENERS.values())
_TOKEN_CHARS = re.compile(r"[ (){}\[\]<>`']")


def drop_prefix_and_return_type(function: str) -> str:
    """Keep the last space-separated token outside brackets: the qualified name + args.

    ``static void * Foo<Bar>::baz(int)`` -> ``Foo<Bar>::baz(int)``. Trailing tokens that
    start with ``(`` or ``[clone`` are glued back onto the name before them.
    """
    if " " not in function:
        return function
    stack: list[str] = []
    tokens = []
    start = 0
    for match in _TOKEN_CHARS.finditer(function):
        char = match.group()
        if char in _OPENERS:
            stack.append(char)
        elif char in _CLOSERS:
            if stack and _OPENERS[stack[-1]] == char:
                stack.pop()
        elif not stack:  # a space outside any brackets ends a token
            tokens.append(function[start : match.start()])
            start = match.end()
    if start < len(function):
        tokens.append(function[start:])
    if not tokens:
        return ""
    first = len(tokens) - 1
    while first > 0 and tokens[first].startswith(("(", "[clone")):
        first -= 1
    return " ".join(tokens[first:])


_CV_REF_QUALIFIERS = ("const", "const&", "const &", "&&", "&")
_LAMBDA_NUMBER = re.compile(r"::\$_\d+::")
_SPACE_BEFORE = re.compile(r" (?=[*&,])")
_COMMA_WITHOUT_SPACE = re.compile(r",(?! )")


def _fix_spacing(function: str) -> str:
    if " " in function:
        function = _SPACE_BEFORE.sub("", function)
    if "," in function:
        function = _COMMA_WITHOUT_SPACE.sub(", ", function)
    return function


def _drop_rust_hash(function: str) -> str:
    """Remove a trailing legacy Rust hash segment ``::h<hex>`` (any hex-only ``h`` segment)."""
    cut = function.rfind("::")
    if cut == -1:
        return function
    segment = function[cut + 2 :]
    if len(segment) > 1 and segment[0] == "h" and _is_hex(segment[1:]):
        return function[:cut]
    return function


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str) -> bool:
    return all(char in _HEX_DIGITS for char in text)


def cpp_core(function: str) -> str:
    """C++ normalization up to (not including) the line-number and spacing steps."""
    for qualifier in _CV_REF_QUALIFIERS:
        if function.endswith(qualifier):
            function = function[: -len(qualifier)].strip()
    if "::operator" not in function:
        function = drop_prefix_and_return_type(function)
    function = function.replace("`anonymous namespace'", "(anonymous namespace)")
    if "::$_" in function:
        function = _LAMBDA_NUMBER.sub("::$::", function)
    function = collapse_cpp_types(function)
    function = collapse_cpp_arguments(function)
    if "clone .cold" in function:
        function = replace_enclosed(function, "[", "]", _delete)
    return function


def rust_core(function: str) -> str:
    """Rust normalization up to (not including) the line-number and spacing steps."""
    function = drop_prefix_and_return_type(function)
    function = collapse_rust_types(function)
    return replace_enclosed(function, "(", ")", _delete)


# --- Rust 1.34 panic symbols without a path (bug 1544246) -------------------------------

_RUST_134_FUNCTIONS = {
    ("src/liballoc/raw_vec.rs", "capacity_overflow"): "alloc::raw_vec::capacity_overflow",
    ("src/libcore/option.rs", "expect_failed"): "core::option::expect_failed",
    ("src/libcore/panicking.rs", "panic_bounds_check"): "core::panicking::panic_bounds_check",
    ("src/libcore/panicking.rs", "panic_fmt"): "core::panicking::panic_fmt",
    ("src/libcore/panicking.rs", "panic"): "core::panicking::panic",
    ("src/libcore/slice/mod.rs", "slice_index_order_fail"): "core::slice::slice_index_order_fail",
    ("src/libstd/panicking.rs", "begin_panic_fmt"): "std::panicking::begin_panic_fmt",
    ("src/libstd/panicking.rs", "continue_panic_fmt"): "std::panicking::continue_panic_fmt",
    ("src/libstd/panicking.rs", "rust_panic_with_hook"): "std::panicking::rust_panic_with_hook",
}


# --- the frame normalizer ----------------------------------------------------------------

#: Strings longer than this are normalized without caching (they are rare and big).
CACHEABLE_LENGTH = 1024
#: Caches are dropped wholesale when they reach this many entries, which bounds their
#: memory (to tens of MB even when every entry is as long as allowed).
CACHE_LIMIT = 20_000


class FrameNormalizer:
    """Normalizes frames with one set of signature lists, caching per distinct symbol.

    The same symbols recur across crashes (and within one stack), so the string work is
    done once per (symbol, language); only ``signatures_with_line_numbers`` symbols, whose
    text depends on the line, are finished per call.
    """

    def __init__(self, lists: SignatureLists) -> None:
        self.lists = lists
        self._functions: dict[tuple[str, bool], tuple[str, bool]] = {}
        self._rust_files: dict[str, bool] = {}

    def is_rust_file(self, file: str | None) -> bool:
        """Whether a frame's ``file`` selects Rust normalization (parsed path ends in .rs)."""
        if not file:
            return False
        known = self._rust_files.get(file)
        if known is None:
            known = (parse_source_file(file) or "").endswith(".rs")
            if len(file) <= CACHEABLE_LENGTH:
                if len(self._rust_files) >= CACHE_LIMIT:
                    self._rust_files.clear()
                self._rust_files[file] = known
        return known

    def function(self, function: str, line: object, rust: bool) -> str:
        """Normalize a symbol with C++ or Rust rules."""
        key = (function, rust)
        cached = self._functions.get(key)
        if cached is None:
            core = rust_core(function) if rust else cpp_core(function)
            needs_line = matches(self.lists.line_numbers, core)
            cached = (core if needs_line else self._finish(core, rust), needs_line)
            if len(function) <= CACHEABLE_LENGTH:
                if len(self._functions) >= CACHE_LIMIT:
                    self._functions.clear()
                self._functions[key] = cached
        text, needs_line = cached
        if needs_line:
            return self._finish(f"{text}:{line}", rust)
        return text

    @staticmethod
    def _finish(text: str, rust: bool) -> str:
        text = _fix_spacing(text)
        return _drop_rust_hash(text) if rust else text

    def frame(
        self,
        function: str | None,
        file: str | None,
        line: object,
        module: str | None,
        unloaded_module: object,
        offset: str | None,
        has_unloaded: bool = False,
    ) -> str:
        """The frame's string, by precedence: symbol, file#line, module, unloaded, offset.

        ``unloaded_module`` is the ``module`` of the first unloaded-modules entry; it is
        used when ``has_unloaded`` is true (a frame may list an unloaded module without a
        name, which renders ``(unloaded None)`` as in Socorro).
        """
        if function:
            rust = self.is_rust_file(file)
            if rust:
                fixed = _RUST_134_FUNCTIONS.get((parse_source_file(file), function))
                if fixed:
                    function = fixed
            return self.function(function, line, rust)
        if file and line:
            return f"{file_basename(file)}#{line}"
        if module:
            return module.strip("[]")
        if has_unloaded:
            return f"(unloaded {unloaded_module})"
        if offset:
            return f"@{strip_leading_zeros(offset)}"
        return ""
