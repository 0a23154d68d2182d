"""Signatures from C/C++/Rust stacks: expand frames, normalize them, walk the lists.

The walk is Socorro's: cut the stack at the first sentinel, skip empty and irrelevant
frames, keep prefix frames and continue, stop after the first frame that is not a prefix.
Only the first 40 frames (inline frames included) are looked at, so the cost does not
grow with the stack's length.

Malformed stacks (frames that are not objects, fields of the wrong type) do not raise:
the offending part is ignored and a note says so. Socorro would fail the rule instead and
leave an empty signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from signature.normalize import CACHE_LIMIT, CACHEABLE_LENGTH, FrameNormalizer
from signature.siglists import SignatureLists, matches

MAXIMUM_FRAMES_TO_CONSIDER = 40
TOOL = "CSignatureTool"


@dataclass(frozen=True)
class FrameDecision:
    """What the walk did with one normalized frame (for ``signature explain``)."""

    index: int
    frame: str
    verdict: str  # above-sentinel, sentinel, empty, irrelevant, duplicate, prefix, stop, unused


def _where(frame: int | str, field: str) -> str:
    """``frame 3 module``; a string ``frame`` names an inline frame already."""
    return f"frame {frame} {field}" if isinstance(frame, int) else f"{frame} {field}"


# The field's location is passed in parts and formatted only for a note: these run for every
# field of every frame, and building the text eagerly was a fifth of the generation time.
def _text(value: object, frame: int | str, field: str, notes: list[str]) -> str | None:
    """A string field, or None (with a note) when it holds another type."""
    if value is None or value.__class__ is str or isinstance(value, str):
        return value  # type: ignore[return-value]
    notes.append(f"{TOOL}: {_where(frame, field)} is not a string; ignored")
    return None


def _line(value: object, frame: int | str, field: str, notes: list[str]) -> object:
    if value is None or isinstance(value, (int, float, str)):
        return value
    notes.append(f"{TOOL}: {_where(frame, field)} is not a number; ignored")
    return None


class CStackTool:
    """Frame-list creation and the siglist walk for one set of signature lists."""

    def __init__(self, lists: SignatureLists) -> None:
        self.lists = lists
        self.normalizer = FrameNormalizer(lists)
        # frame string -> (irrelevant, prefix); frames recur across crashes
        self._verdicts: dict[str, tuple[bool, bool]] = {}

    # -- frame expansion ----------------------------------------------------------------

    def frame_list(self, thread: object, windows: bool, notes: list[str]) -> list[str]:
        """Normalized strings of the first 40 frames of a thread, inline frames first.

        Each inline frame comes before the frame it was inlined into and carries that
        frame's module and offset. Written as one flat loop: this is the hot path.
        """
        if thread is None:
            return []
        if not isinstance(thread, Mapping):
            notes.append(f"{TOOL}: crashing thread is not an object; ignored")
            return []
        frames = thread.get("frames", [])
        if not isinstance(frames, list):
            notes.append(f"{TOOL}: frames of the crashing thread is not a list; ignored")
            return []
        normalize = self.normalizer.frame
        result: list[str] = []
        for number, frame in enumerate(frames):
            if len(result) >= MAXIMUM_FRAMES_TO_CONSIDER:
                break
            if not isinstance(frame, Mapping):
                notes.append(f"{TOOL}: frame {number} is not an object; ignored")
                result.append("")
                continue
            module = _text(frame.get("module"), number, "module", notes)
            if windows and module:
                module = module.lower()
            offset = _text(frame.get("offset"), number, "offset", notes)
            inlines = frame.get("inlines")
            if inlines:
                self._add_inlines(inlines, number, module, offset, result, notes)
                if len(result) >= MAXIMUM_FRAMES_TO_CONSIDER:
                    break
            has_unloaded, unloaded = self._unloaded(frame.get("unloaded_modules"), number, notes)
            result.append(
                normalize(
                    _text(frame.get("function"), number, "function", notes),
                    _text(frame.get("file"), number, "file", notes),
                    _line(frame.get("line"), number, "line", notes),
                    module,
                    unloaded,
                    offset,
                    has_unloaded,
                )
            )
        return result

    def _add_inlines(
        self,
        inlines: object,
        number: int,
        module: str | None,
        offset: str | None,
        result: list[str],
        notes: list[str],
    ) -> None:
        if not isinstance(inlines, list):
            notes.append(f"{TOOL}: frame {number} inlines is not a list; ignored")
            return
        normalize = self.normalizer.frame
        for position, inline in enumerate(inlines):
            if len(result) >= MAXIMUM_FRAMES_TO_CONSIDER:
                return
            what = f"frame {number} inline {position}"
            if not isinstance(inline, Mapping):
                notes.append(f"{TOOL}: {what} is not an object; ignored")
                inline = {}
            result.append(
                normalize(
                    _text(inline.get("function"), what, "function", notes),
                    _text(inline.get("file"), what, "file", notes),
                    _line(inline.get("line"), what, "line", notes),
                    module,
                    None,
                    offset,
                )
            )

    @staticmethod
    def _unloaded(value: object, number: int, notes: list[str]) -> tuple[bool, object]:
        if not value:
            return (False, None)
        if not isinstance(value, list) or not isinstance(value[0], Mapping):
            notes.append(f"{TOOL}: frame {number} unloaded_modules is malformed; ignored")
            return (False, None)
        return (True, value[0].get("module"))

    # -- the walk -------------------------------------------------------------------------

    def _verdict(self, frame: str) -> tuple[bool, bool]:
        verdict = self._verdicts.get(frame)
        if verdict is None:
            irrelevant = matches(self.lists.irrelevant, frame)
            prefix = not irrelevant and matches(self.lists.prefix, frame)
            verdict = (irrelevant, prefix)
            if len(frame) <= CACHEABLE_LENGTH:
                if len(self._verdicts) >= CACHE_LIMIT:
                    self._verdicts.clear()
                self._verdicts[frame] = verdict
        return verdict

    def generate(
        self,
        frames: list[str],
        crashing_thread: int,
        notes: list[str],
        debug: list[str],
        decisions: list[FrameDecision] | None = None,
    ) -> str:
        """The signature of a normalized frame list (may be empty or an EMPTY: form)."""
        debug.append(self.lists.describe())
        start = self._sentinel_index(frames)
        if start is not None:
            debug.append(f'sentinel; starting at "{frames[start]}" index {start}')
        offset = start or 0
        if decisions is not None:
            decisions.extend(FrameDecision(i, frames[i], "above-sentinel") for i in range(offset))
        candidates = frames[offset:]
        kept: list[str] = []
        last_index = offset - 1
        for index, frame in enumerate(candidates, start=offset):
            last_index = index
            verdict = self._classify(frame, kept, debug)
            if decisions is not None:
                label = f"sentinel, {verdict}" if index == start else verdict
                decisions.append(FrameDecision(index, frame, label))
            if verdict == "stop":
                break
        if decisions is not None:
            decisions.extend(
                FrameDecision(i, frames[i], "unused") for i in range(last_index + 1, len(frames))
            )
        signature = " | ".join(kept)
        if not signature:
            notes.append(f"{TOOL}: no frame data for crashing thread ({crashing_thread})")
            signature = candidates[0] if candidates else "EMPTY: no frame data available"
        return signature

    def _sentinel_index(self, frames: list[str]) -> int | None:
        if not self.lists.sentinels:
            return None
        first: dict[str, int] = {}
        for index, frame in enumerate(frames):
            first.setdefault(frame, index)
        found = [first[s] for s in self.lists.sentinels if s in first]
        return min(found) if found else None

    def _classify(self, frame: str, kept: list[str], debug: list[str]) -> str:
        """Decide one frame; appends to ``kept`` when it is part of the signature."""
        if not frame:
            debug.append('empty string; ignoring: ""')
            return "empty"
        irrelevant, prefix = self._verdict(frame)
        if irrelevant:
            debug.append(f'irrelevant; ignoring: "{frame}"')
            return "irrelevant"
        if kept and frame == kept[-1] and _collapsible(frame):
            return "duplicate"
        kept.append(frame)
        if not prefix:
            debug.append(f'not a prefix; stop: "{frame}"')
            return "stop"
        debug.append(f'prefix; continue iterating: "{frame}"')
        return "prefix"


def _collapsible(frame: str) -> bool:
    """Frames that only name a library (or an unknown symbol) and repeat meaninglessly."""
    if frame.startswith("(unloaded"):
        return False
    return (
        frame.lower().endswith((".dll", ".so"))
        or frame == "XUL"
        or frame == "<name omitted>"
        or frame.startswith("<unknown in")
    )
