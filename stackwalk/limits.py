"""Caps on what one walk holds: threads walked, frames per thread, frames in all, JSON size.

rust-minidump walks every thread of the thread list and every frame the stack memory allows,
with no cap: a 4.8 MB dump claiming 100,000 threads that share one stack and one context
costs a walk of 900,000 frames (here: tens of seconds, over a gigabyte) and a 220 MB
document (`make bench-hostile`). Breakpad's reader refuses a thread list of more than 4,096
threads outright, losing the crash. These caps keep the crash and bound the work instead; a
normal dump never reaches them, so its document stays byte for byte the peer's.

What a capped document holds (what a Socorro user needs from it):

* The crashing thread is always walked first and in full (up to ``max_frames_per_thread``):
  the signature, the crash reason and ``crashing_thread`` come from it.
* The other threads are walked in dump order while fewer than ``max_threads`` threads have
  been walked and fewer than ``max_total_frames`` frames kept; a thread reaching the frames
  budget is cut there.
* The threads after that are still listed, in place, without frames (``frame_count`` 0, id,
  name and last error kept): ``threads[i]`` stays the dump's thread ``i``,
  ``crashing_thread.threads_index`` stays right and ``thread_count`` stays the dump's count,
  itself the most telling fact about such a dump.
* Only when the compact JSON of the document exceeds ``max_json_size`` are threads removed,
  from the end, the least informative first: listed-without-frames entries, then the frames
  of walked threads, then those entries, then the crashing thread's outermost frames. The
  crashing thread's entry is never removed; ``threads_index`` and
  ``crash_info.crashing_thread`` follow its new position.

The built-in walker applies the caps while walking (that is what bounds its time and
memory); ``limit_document`` applies them to a document another stackwalker wrote
(rust-minidump's, a stored output) and gives the same document, so the processed crash is
bounded whatever the backend; the external process itself is bounded by its timeout and
output size only.

A cap that triggers is recorded twice: a note (``LimitsReport.notes``) and the
``stackwalk_limits`` object of the document (absent when nothing triggered), which says
which caps triggered, their values and what was walked, listed and omitted. A cap of 0 (or
None) is no cap.
"""

from __future__ import annotations

import sys

from stackwalk.jsonout import compact_json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Any

# Defaults: far above normal dumps (a Firefox parent process has a few hundred threads;
# runaway recursion on a 1 MB Windows stack gives ~20,000 frames), low enough that the
# worst dump costs a few seconds and ~150 MB.
DEFAULT_MAX_THREADS = 1024
DEFAULT_MAX_FRAMES_PER_THREAD = 20_000
DEFAULT_MAX_TOTAL_FRAMES = 100_000
DEFAULT_MAX_JSON_SIZE = 16 * 1024 * 1024

FIELD = "stackwalk_limits"
# Bytes kept free for the stackwalk_limits object when a document is shrunk (it takes ~350).
RECORD_RESERVE = 1024


class WalkLimits:
    """The caps of one walk; 0 or None means no cap. Hashable and not to be changed, as
    the frozen dataclass it was, written out: stackwalk does not import dataclasses
    (start-up cost)."""

    FIELDS = ("max_threads", "max_frames_per_thread", "max_total_frames", "max_json_size")

    max_threads: int | None
    max_frames_per_thread: int | None
    max_total_frames: int | None
    max_json_size: int | None

    def __init__(
        self,
        max_threads: int | None = DEFAULT_MAX_THREADS,
        max_frames_per_thread: int | None = DEFAULT_MAX_FRAMES_PER_THREAD,
        max_total_frames: int | None = DEFAULT_MAX_TOTAL_FRAMES,
        max_json_size: int | None = DEFAULT_MAX_JSON_SIZE,
    ) -> None:
        self.max_threads = max_threads
        self.max_frames_per_thread = max_frames_per_thread
        self.max_total_frames = max_total_frames
        self.max_json_size = max_json_size

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__qualname__}({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    @classmethod
    def unlimited(cls) -> WalkLimits:
        return cls(None, None, None, None)

    def cap(self, name: str) -> int | None:
        value = getattr(self, name)
        return value if value else None


class LimitsReport:
    """What the caps did to one document."""

    limits: WalkLimits
    triggered: list[str]
    notes: list[str]
    threads_walked: int
    threads_not_walked: int  # listed without frames
    threads_omitted: int
    threads_cut: int  # walked threads whose frames a cap cut short

    def __init__(
        self,
        limits: WalkLimits,
        triggered: list[str] | None = None,
        notes: list[str] | None = None,
        threads_walked: int = 0,
        threads_not_walked: int = 0,
        threads_omitted: int = 0,
        threads_cut: int = 0,
    ) -> None:
        self.limits = limits
        self.triggered = list() if triggered is None else triggered
        self.notes = list() if notes is None else notes
        self.threads_walked = threads_walked
        self.threads_not_walked = threads_not_walked
        self.threads_omitted = threads_omitted
        self.threads_cut = threads_cut

    def _values(self) -> tuple:
        return (
            self.limits,
            self.triggered,
            self.notes,
            self.threads_walked,
            self.threads_not_walked,
            self.threads_omitted,
            self.threads_cut,
        )

    def __repr__(self) -> str:
        shown = (
            "limits",
            "triggered",
            "notes",
            "threads_walked",
            "threads_not_walked",
            "threads_omitted",
            "threads_cut",
        )
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def trigger(self, cap: str, note: str) -> None:
        if cap not in self.triggered:
            self.triggered.append(cap)
            self.notes.append(note)

    def record(self, doc: dict[str, Any]) -> None:
        """Put the ``stackwalk_limits`` object in ``doc`` when a cap triggered."""
        if not self.triggered:
            return
        threads = doc.get("threads") or []
        doc[FIELD] = {
            "triggered": list(self.triggered),
            "max_threads": self.limits.cap("max_threads"),
            "max_frames_per_thread": self.limits.cap("max_frames_per_thread"),
            "max_total_frames": self.limits.cap("max_total_frames"),
            "max_json_size": self.limits.cap("max_json_size"),
            "threads_walked": self.threads_walked,
            "threads_not_walked": self.threads_not_walked,
            "threads_omitted": self.threads_omitted,
            "threads_cut": self.threads_cut,
            "frames": sum(len(t.get("frames") or ()) for t in threads if isinstance(t, dict)),
        }


def json_size(value: object) -> int:
    """Bytes of ``value`` as compact JSON (UTF-8), as minidump-stackwalk --json prints it.

    A lone surrogate (a stored output may hold one until the processor replaces it) counts as
    the three bytes its replacement takes, instead of failing the encoding.
    """
    text = compact_json(value, default=str)
    return len(text.encode("utf-8", "surrogatepass"))


def bare_thread(thread: dict[str, Any]) -> dict[str, Any]:
    """A thread entry listed without frames."""
    return {**thread, "frame_count": 0, "frames": []}


def fit_size(doc: dict[str, Any], report: LimitsReport, protected: int | None) -> list[int] | None:
    """Shrink ``doc["threads"]`` (``protected``: the crashing thread's index, never removed)
    until the compact document fits ``max_json_size``; see the module docstring for the
    order. Returns the former indices of the threads kept (so facts kept beside the
    document, such as the human report's, can follow), or None when it fits as it is."""
    cap = report.limits.cap("max_json_size")
    threads = doc.get("threads")
    if cap is None or not isinstance(threads, list):
        return None
    if json_size(doc) <= cap:  # one pass of the C encoder; sizes per thread only when over
        return None
    sizes = [json_size(t) + 1 for t in threads]  # + its comma
    total = json_size({**doc, "threads": []}) + sum(sizes)
    cap = max(cap - RECORD_RESERVE, 0)  # room for the stackwalk_limits object
    keep = [True] * len(threads)
    order = [i for i in range(len(threads) - 1, -1, -1) if i != protected]

    def omit(i: int) -> None:
        nonlocal total
        keep[i] = False
        total -= sizes[i]
        report.threads_omitted += 1

    # 1: entries listed without frames; 2: frames of walked threads; 3: those entries.
    for i in order:
        if total <= cap:
            break
        if not threads[i].get("frames"):
            omit(i)
    for i in order:
        if total <= cap:
            break
        if keep[i] and threads[i].get("frames"):
            threads[i] = bare_thread(threads[i])
            new = json_size(threads[i]) + 1
            total -= sizes[i] - new
            sizes[i] = new
            report.threads_cut += 1
    for i in order:
        if total <= cap:
            break
        if keep[i]:
            omit(i)
    if total > cap and protected is not None:
        _cut_crashing_thread(doc, threads, protected, total - cap, report)
    kept = [t for i, t in enumerate(threads) if keep[i]]
    if protected is not None:
        # Both places naming the crashing thread's index follow it to its new position.
        moved = sum(keep[:protected])
        for holder, key in (
            (doc.get("crashing_thread"), "threads_index"),
            (doc.get("crash_info"), "crashing_thread"),
        ):
            if isinstance(holder, dict) and holder.get(key) == protected:
                holder[key] = moved
    doc["threads"] = kept
    report.trigger(
        "json_size",
        f"document larger than {report.limits.cap('max_json_size'):,} bytes: {report.threads_omitted:,} threads omitted, "
        f"{report.threads_cut:,} cut",
    )
    return [i for i in range(len(threads)) if keep[i]]


def _cut_crashing_thread(
    doc: dict[str, Any], threads: list, index: int, excess: int, report: LimitsReport
) -> None:
    """Drop the crashing thread's outermost frames (its copy in ``crashing_thread`` too) until
    ``excess`` bytes are gone; frame 0 stays."""
    frames = threads[index].get("frames") or []
    saved, keep = 0, len(frames)
    # Each frame is written twice: in threads[] and in crashing_thread.
    while keep > 1 and saved < excess:
        keep -= 1
        saved += 2 * (json_size(frames[keep]) + 1)
    if keep == len(frames):
        return
    threads[index] = {**threads[index], "frame_count": keep, "frames": frames[:keep]}
    crashing = doc.get("crashing_thread")
    if isinstance(crashing, dict) and isinstance(crashing.get("frames"), list):
        crashing["frames"] = crashing["frames"][:keep]
        crashing["frame_count"] = keep
    report.threads_cut += 1


def limit_document(doc: dict[str, Any], limits: WalkLimits) -> list[str]:
    """Apply the caps to a document another stackwalker wrote (rust-minidump's, a stored
    output), as the built-in walk applies them while walking; returns the notes. The
    document is changed in place; an unchanged one gets no ``stackwalk_limits``."""
    threads = doc.get("threads")
    if not isinstance(threads, list) or FIELD in doc:
        return []
    report = LimitsReport(limits)
    crashing = doc.get("crashing_thread")
    protected = crashing.get("threads_index") if isinstance(crashing, dict) else None
    if not isinstance(protected, int) or not 0 <= protected < len(threads):
        protected = None
    budget = Budget(limits, report)
    order = ([protected] if protected is not None else []) + [
        i for i in range(len(threads)) if i != protected
    ]
    for i in order:
        thread = threads[i]
        frames = thread.get("frames") if isinstance(thread, dict) else None
        if not isinstance(frames, list) or not frames:
            continue
        allowed = budget.frames_for(i == protected)
        if not allowed:
            threads[i] = bare_thread(thread)
            report.threads_not_walked += 1
            continue
        if len(frames) > allowed:
            # As the walk that stops there: the frames kept are the frames found.
            threads[i] = {**thread, "frame_count": allowed, "frames": frames[:allowed]}
            budget.cut()
            if i == protected:
                crashing["frames"] = crashing["frames"][:allowed]
                crashing["frame_count"] = allowed
        budget.walked(min(len(frames), allowed))
    budget.finish(len(threads))
    fit_size(doc, report, protected)
    report.record(doc)
    return report.notes


class Budget:
    """The thread and frame budget of one walk, thread by thread."""

    def __init__(self, limits: WalkLimits, report: LimitsReport) -> None:
        self.report = report
        self.max_threads = limits.cap("max_threads")
        self.per_thread = limits.cap("max_frames_per_thread")
        self.max_total = limits.cap("max_total_frames")
        self.frames = 0
        self.cut_by: str | None = None
        self.exhausted = False  # no thread but the crashing one is walked any more

    def frames_for(self, crashing: bool) -> int:
        """How many frames the next thread may keep (sys.maxsize: any number); 0: list it
        without frames."""
        if self.exhausted and not crashing:
            return 0
        if not crashing:
            if self.max_threads is not None and self.report.threads_walked >= self.max_threads:
                self.report.trigger("max_threads", f"threads walked capped at {self.max_threads:,}")
                self.exhausted = True
                return 0
            if self.max_total is not None and self.frames >= self.max_total:
                self.report.trigger(
                    "max_total_frames", f"frames of all threads capped at {self.max_total:,}"
                )
                self.exhausted = True
                return 0
        allowed = self.per_thread or sys.maxsize
        self.cut_by = "max_frames_per_thread"
        if self.max_total is not None:
            left = max(self.max_total - self.frames, 1)
            if left < allowed:
                allowed, self.cut_by = left, "max_total_frames"
        return allowed

    def cut(self) -> None:
        """The thread just walked reached its allowance."""
        self.report.threads_cut += 1
        if self.cut_by == "max_frames_per_thread":
            self.report.trigger(
                "max_frames_per_thread", f"frames per thread capped at {self.per_thread:,}"
            )
        else:
            self.report.trigger(
                "max_total_frames", f"frames of all threads capped at {self.max_total:,}"
            )

    def walked(self, frames: int) -> None:
        self.report.threads_walked += 1
        self.frames += frames

    def finish(self, thread_count: int) -> None:
        """Complete the notes with the counts, once every thread has been seen."""
        report = self.report
        if report.threads_not_walked:
            for i, cap in enumerate(report.triggered):
                if cap in ("max_threads", "max_total_frames"):
                    report.notes[i] += (
                        f": {report.threads_not_walked:,} of {thread_count:,} threads listed "
                        "without frames"
                    )
                    break
