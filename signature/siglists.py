"""Loading the four signature lists that steer frame selection.

The lists are plain text so they can be synced from Socorro unchanged: one entry per line,
``#`` comments and blank lines ignored. Three of them are regular expressions applied with
``re.match`` (anchored at the start only, so entries are prefix patterns); the sentinel list
holds exact frame strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: Directory of the lists shipped with the package (Socorro's, MPL-2.0; see LICENSE there).
BUNDLED_DIR = Path(__file__).resolve().parent / "siglists"

LIST_NAMES = (
    "irrelevant_signature_re",
    "prefix_signature_re",
    "signature_sentinels",
    "signatures_with_line_numbers_re",
)

#: Frames longer than this are matched against the regex lists by their first
#: MATCH_LIMIT characters only. Some list entries (``.*framework.*\\.oat``) backtrack
#: quadratically on long inputs; real normalized frames are far shorter than this.
MATCH_LIMIT = 4096


class SignatureListError(ValueError):
    """A signature list file is missing, unreadable or holds an invalid regex."""


def read_list(name: str, directory: Path | None = None, *, regex: bool = True) -> tuple[str, ...]:
    """Return the entries of list ``name`` from ``directory`` (default: the bundled lists).

    A bad regex is reported with its file and line number instead of surfacing later as
    an error in a combined pattern.
    """
    path = (directory or BUNDLED_DIR) / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureListError(f"cannot read signature list {path}: {exc}") from exc
    numbered = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            numbered.append((lineno, line))
    if regex:
        _check_regexes(path, numbered)
    return tuple(line for _, line in numbered)


def _check_regexes(path: Path, numbered: list[tuple[int, str]]) -> None:
    """Raise for the first entry that is not a valid regex, naming file and line.

    The combined pattern is compiled first (it is needed anyway and lands in ``re``'s
    cache); entries are compiled one by one only to locate an error.
    """
    try:
        _combine(tuple(line for _, line in numbered))
        return
    except re.error:
        pass
    for lineno, line in numbered:
        try:
            re.compile(line)
        except re.error as exc:
            raise SignatureListError(f"{path}:{lineno}: invalid regular expression: {exc}") from exc
    raise SignatureListError(f"{path}: entries do not combine into one regular expression")


def _combine(entries: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation for a list; None for an empty list (which matches nothing).

    Socorro joins with ``|`` too, but an empty join would match every frame; an empty
    list is better read as "no entries".
    """
    return re.compile("|".join(entries)) if entries else None


@dataclass(frozen=True)
class SignatureLists:
    """The compiled lists, their entries, and where they came from (for the debug log)."""

    irrelevant_entries: tuple[str, ...]
    prefix_entries: tuple[str, ...]
    line_number_entries: tuple[str, ...]
    sentinels: tuple[str, ...]
    directory: Path | None
    irrelevant: re.Pattern[str] | None = field(init=False)
    prefix: re.Pattern[str] | None = field(init=False)
    line_numbers: re.Pattern[str] | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "irrelevant", _combine(self.irrelevant_entries))
        object.__setattr__(self, "prefix", _combine(self.prefix_entries))
        object.__setattr__(self, "line_numbers", _combine(self.line_number_entries))

    @classmethod
    def load(cls, directory: str | Path | None = None) -> SignatureLists:
        """Load all four lists from ``directory``, or the bundled ones when None."""
        where = Path(directory) if directory is not None else None
        if where is not None and not where.is_dir():
            raise SignatureListError(f"signature list directory {where} does not exist")
        return cls(
            irrelevant_entries=read_list("irrelevant_signature_re", where),
            prefix_entries=read_list("prefix_signature_re", where),
            line_number_entries=read_list("signatures_with_line_numbers_re", where),
            sentinels=read_list("signature_sentinels", where, regex=False),
            directory=where,
        )

    def first_match(self, entries: tuple[str, ...], frame: str) -> str | None:
        """The first entry of a list that matches ``frame`` (for explanations; slow)."""
        text = frame[:MATCH_LIMIT]
        return next((entry for entry in entries if re.match(entry, text)), None)

    def describe(self) -> str:
        """The debug-log line Socorro writes about the lists in use."""
        if self.directory is None:
            return "using included signature lists"
        return f"using signature lists from {self.directory}"


def matches(pattern: re.Pattern[str] | None, text: str) -> bool:
    """``re.match`` of a combined list against ``text``, bounded in time (see MATCH_LIMIT)."""
    if pattern is None:
        return False
    if len(text) > MATCH_LIMIT:
        text = text[:MATCH_LIMIT]
    return pattern.match(text) is not None
