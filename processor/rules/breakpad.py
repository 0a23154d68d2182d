"""Rules that derive processed-crash fields from the stackwalker output (``json_dump``).

``json_dump`` is rust-minidump's ``minidump-stackwalk --json`` document. The stackwalker
may have failed (no or empty ``json_dump``) and reprocessing may feed these rules old or
odd documents, so every read is defensive: garbage yields the field's default, never an
exception.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from processor.metrics import METRICS
from processor.rules.base import Rule
from processor.rules.safe import dicts, dig, is_int, is_number, thread_frames
from processor.status import Status


def _json_dump(processed_crash: Mapping[str, Any]) -> dict[str, Any]:
    """The stackwalker output as a dict ({} when missing or not an object)."""
    value = processed_crash.get("json_dump")
    return value if isinstance(value, dict) else {}


def _crashing_frames(processed_crash: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The frames of the stack ``crashing_thread`` points at (None when there is no such stack).

    Reads the processed ``crashing_thread`` (what CrashingThreadInfoRule settled on), not the
    raw ``crash_info`` value.
    """
    return thread_frames(processed_crash.get("json_dump"), processed_crash.get("crashing_thread"))


class _NeedsJsonDump:
    """Gate for rules that only have work when the stackwalker left output (not None).

    A mixin rather than a ``Rule`` subclass, so that the ``Rule`` classes of this module are
    exactly its runnable rules.
    """

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return processed_crash.get("json_dump") is not None


class CrashingThreadInfoRule(_NeedsJsonDump, Rule):
    """Copy the crashing thread and crash reason/address out of ``json_dump``.

    Writes ``crashing_thread`` (index into ``json_dump.threads`` or None),
    ``crashing_thread_name``, ``reason`` (default ""), ``address`` and, when it is a
    string, ``last_error_value``. The address follows the stackwalker's analysis: a
    null-pointer dereference with an offset is reported as address zero (of the original
    width) so such crashes group together, and a non-canonical address is replaced by the
    adjusted one.
    """

    @staticmethod
    def crash_address(crash_info: Mapping[str, Any]) -> str | None:
        address = dig(crash_info, "address", str)
        adjusted = dig(crash_info, "adjusted_address", dict)
        if adjusted is None:
            return address
        kind = adjusted.get("kind")
        if kind == "null-pointer":
            return "0x0000000000000000" if address and len(address) == 18 else "0x00000000"
        if kind == "non-canonical":
            return dig(adjusted, "address", str) or address
        return address

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        json_dump = _json_dump(processed_crash)
        crash_info = dig(json_dump, "crash_info", dict, {})

        crashing_thread = dig(crash_info, "crashing_thread", int)
        if crashing_thread is not None and crashing_thread < 0:
            crashing_thread = None
        processed_crash["crashing_thread"] = crashing_thread
        if crashing_thread is None:
            status.add_note("mdsw did not identify the crashing thread")

        processed_crash["crashing_thread_name"] = dig(json_dump, "crashing_thread.thread_name", str)
        processed_crash["reason"] = dig(crash_info, "type", str, "")
        processed_crash["address"] = self.crash_address(crash_info)

        last_error_value = dig(json_dump, "crashing_thread.last_error_value", str)
        if last_error_value is not None:
            processed_crash["last_error_value"] = last_error_value


class CrashInconsistenciesRule(_NeedsJsonDump, Rule):
    """Copy ``json_dump.crash_info.crash_inconsistencies`` (a list of names of ways the
    crash data contradicts itself, or None) into ``crash_inconsistencies``."""

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = dig(processed_crash, "json_dump.crash_info.crash_inconsistencies", list)
        if value is not None:
            value = [item for item in value if isinstance(item, str)]
        processed_crash["crash_inconsistencies"] = value


class PossibleBitFlipsRule(Rule):
    """Set ``possible_bit_flips_max_confidence``: the highest bit-flip confidence, scaled
    from 0.0-1.0 to an int 0-100 (search histograms bucket by whole numbers).

    Left unset when the stackwalker found no possible bit flips. An entry without a
    confidence counts as 0; entries whose confidence is not a number are ignored.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        bit_flips = dig(processed_crash, "json_dump.crash_info.possible_bit_flips", list)
        confidences = [
            item.get("confidence", 0.0)
            for item in dicts(bit_flips)
            if is_number(item.get("confidence", 0.0))
        ]
        if confidences:
            scaled = int(max(confidences) * 100)
            processed_crash["possible_bit_flips_max_confidence"] = min(100, max(0, scaled))


class HasGuardPageAccessRule(Rule):
    """Set ``has_guard_page_access = True`` when some memory access of the crashing
    instruction likely hit a guard page (a stack overflow or buffer overrun sign).

    The field is only ever set to True: it is protected, and its absence is the common case.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        accesses = dig(processed_crash, "json_dump.crash_info.memory_accesses", list)
        if any(item.get("is_likely_guard_page") is True for item in dicts(accesses)):
            processed_crash["has_guard_page_access"] = True


class TruncateStacksRule(Rule):
    """Cut the middle out of stacks longer than ``max_frames``.

    Runaway recursion produces stacks of tens of thousands of frames that bloat storage and
    the search index; the top (where it crashed) and the bottom (how it got started) are
    the informative parts. A long stack keeps its first ``keep_head`` and last ``keep_tail``
    frames with one marker frame ``{"truncated": {"msg": "N frames truncated"}}`` between
    them, and its thread gets ``truncated: True``. Applies to ``json_dump`` and to the
    ``json_dump`` of every additional minidump listed in ``additional_minidumps``.

    N is the number of frames really removed; Socorro's marker says one fewer (it counts the
    slice ``frames[250:-250]`` but keeps only the last 249), a difference kept on purpose and
    documented in the schema.
    """

    def __init__(
        self, max_frames: int = 500, keep_head: int | None = None, keep_tail: int | None = None
    ) -> None:
        head = max_frames // 2 if keep_head is None else keep_head
        tail = max_frames - head - 1 if keep_tail is None else keep_tail
        if head < 0 or tail < 0 or head + tail + 1 > max_frames:
            raise ValueError(
                f"TruncateStacksRule: need keep_head + keep_tail + 1 <= max_frames, "
                f"got {head} + {tail} + 1 > {max_frames}"
            )
        self.max_frames = max_frames
        self.keep_head = head
        self.keep_tail = tail

    def __repr__(self) -> str:
        return (
            f"<{type(self).__qualname__} max_frames={self.max_frames} "
            f"keep_head={self.keep_head} keep_tail={self.keep_tail}>"
        )

    def truncate(self, frames: list[Any]) -> list[Any]:
        """The shortened stack: head, one marker frame, tail."""
        METRICS.gauge("processor.truncatestackrule.stack_size", len(frames))
        METRICS.incr("processor.truncatestackrule.truncated")
        dropped = len(frames) - self.keep_head - self.keep_tail
        tail = frames[len(frames) - self.keep_tail :]
        marker = {"truncated": {"msg": f"{dropped:,} frames truncated"}}
        return [*frames[: self.keep_head], marker, *tail]

    def _truncate_thread(self, thread: Any, path: str, arrow: str, status: Status) -> None:
        frames = dig(thread, "frames", list)
        if frames is None or len(frames) <= self.max_frames:
            return
        truncated = self.truncate(frames)
        thread["frames"] = truncated
        thread["truncated"] = True
        status.add_note(
            f"TruncateStacksRule: truncated {path}.frames: {len(frames)} {arrow} {len(truncated)}"
        )

    def truncate_stacks(self, json_dump: dict[str, Any], path: str, status: Status) -> None:
        """Truncate the crashing-thread copy and every thread of one stackwalker output."""
        # The two note formats differ ("->" vs ">") in Socorro; kept so notes stay comparable.
        self._truncate_thread(
            json_dump.get("crashing_thread"), f"{path}.crashing_thread", "->", status
        )
        threads = json_dump.get("threads")
        if isinstance(threads, list):
            for index, thread in enumerate(threads):
                self._truncate_thread(thread, f"{path}.threads[{index}]", ">", status)

    def json_dumps(self, processed_crash: Mapping[str, Any]) -> Iterator[tuple[str, dict]]:
        """(path, json_dump) for the main minidump and each additional one."""
        if isinstance(processed_crash.get("json_dump"), dict):
            yield "json_dump", processed_crash["json_dump"]
        names = processed_crash.get("additional_minidumps")
        if not isinstance(names, list):
            return
        for name in dict.fromkeys(name for name in names if isinstance(name, str)):
            json_dump = dig(processed_crash.get(name), "json_dump", dict)
            if json_dump is not None:
                yield f"{name}.json_dump", json_dump

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        for path, json_dump in list(self.json_dumps(processed_crash)):
            self.truncate_stacks(json_dump, path, status)


class ThreadCountRule(Rule):
    """Copy ``json_dump.thread_count`` into ``thread_count`` (None when unknown)."""

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        count = dig(processed_crash, "json_dump.thread_count", int)
        processed_crash["thread_count"] = count if count is not None and count >= 0 else None


class TopMostFilesRule(Rule):
    """Set ``topmost_filenames`` to the first source file named in the crashing stack.

    Inlined calls count before the frame that contains them, since they are closer to the
    crash. Despite the plural name the value is a single string. Left unset when no frame
    names a file.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        frames = _crashing_frames(processed_crash)
        for frame in frames or []:
            for inline in dicts(frame.get("inlines")):
                if isinstance(inline.get("file"), str) and inline["file"]:
                    processed_crash["topmost_filenames"] = inline["file"]
                    return
            if isinstance(frame.get("file"), str) and frame["file"]:
                processed_crash["topmost_filenames"] = frame["file"]
                return


# Module names and ids go into searchable keyword fields; anything outside these characters
# is dropped rather than escaped.
_BAD_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_BAD_HEX_CHARS = re.compile(r"[^A-Fa-f0-9]")
NULL_DEBUG_ID = "0" * 33


def _clean_filename(value: Any) -> str:
    return _BAD_FILENAME_CHARS.sub("", value) if isinstance(value, str) else ""


def _clean_hex(value: Any) -> str:
    return _BAD_HEX_CHARS.sub("", value) if isinstance(value, str) else ""


def _modules(processed_crash: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(dicts(dig(processed_crash, "json_dump.modules", list)))


class _NeedsModules:
    """Gate for rules that only have work when ``json_dump`` lists modules (a mixin, like
    ``_NeedsJsonDump``)."""

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return bool(_modules(processed_crash))


class ModulesInStackRule(_NeedsJsonDump, Rule):
    """Set ``modules_in_stack``: sorted, ``;``-joined ``filename/debugid`` of every module
    that has a frame in the crashing thread's stack, so people can search for crashes
    involving a given build of a library."""

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        frames = _crashing_frames(processed_crash)
        if not frames:
            return
        module_ids = {
            module["filename"]: (
                f"{_clean_filename(module['filename'])}/{_clean_hex(module.get('debug_id'))}"
            )
            for module in _modules(processed_crash)
            if isinstance(module.get("filename"), str)
        }
        in_stack = {
            module_ids.get(frame["module"])
            for frame in frames
            if isinstance(frame.get("module"), str)
        }
        in_stack.discard(None)
        if in_stack:
            processed_crash["modules_in_stack"] = ";".join(sorted(in_stack))


class MissingSymbolsRule(_NeedsModules, Rule):
    """Set ``missing_symbols``: sorted, ``;``-joined ``filename/version/debugid[/codeid]``
    of the modules the stackwalker looked up symbols for and did not find.

    Symbol-upload tooling reads this to find which builds lack symbols. A missing version
    is written "None" (and "/" in versions is escaped as "\\/"), a missing debug id as 33
    zeros, and the code id is only appended when there is one.
    """

    @staticmethod
    def format_module(module: Mapping[str, Any]) -> str:
        filename = _clean_filename(module.get("filename"))
        version = module.get("version")
        version = version.replace("/", "\\/") if isinstance(version, str) and version else "None"
        debug_id = module.get("debug_id", NULL_DEBUG_ID)
        debug_id = _clean_hex(debug_id if isinstance(debug_id, str) else NULL_DEBUG_ID)
        code_id = _clean_hex(module.get("code_id"))
        parts = [filename, version, debug_id] + ([code_id] if code_id else [])
        return "/".join(parts)

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        missing = sorted(
            self.format_module(module)
            for module in _modules(processed_crash)
            if isinstance(module.get("filename"), str)
            and module["filename"]
            and module.get("missing_symbols") is True
        )
        if missing:
            processed_crash["missing_symbols"] = ";".join(missing)


def _is_local_host(hostname: str | None) -> bool:
    """localhost, *.localhost, or a loopback IP address."""
    if not hostname:
        return False
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class ModuleURLRewriteRule(_NeedsModules, Rule):
    """Clean up ``json_dump.modules[].symbol_url`` before it is shown to people.

    The stackwalker records where each symbol file came from. URLs of a local symbol server
    are meaningless outside the processor host and are removed (with a note naming the
    module). For the hosts in ``strip_query_hosts`` the query string (the code-info lookup's
    ``code_file``/``code_id``, or anything else a redirect appended) is dropped. With
    ``strip_code_info_queries`` the query string of any URL carrying ``code_file`` or
    ``code_id`` is dropped too. A URL that cannot be parsed is removed like a local one.
    """

    def __init__(
        self,
        strip_query_hosts: tuple[str, ...] = ("symbols.mozilla.org",),
        strip_code_info_queries: bool = False,
    ) -> None:
        self.strip_query_hosts = frozenset(host.lower() for host in strip_query_hosts)
        self.strip_code_info_queries = strip_code_info_queries

    def __repr__(self) -> str:
        return (
            f"<{type(self).__qualname__} strip_query_hosts={sorted(self.strip_query_hosts)} "
            f"strip_code_info_queries={self.strip_code_info_queries}>"
        )

    @staticmethod
    def module_name(module: Mapping[str, Any]) -> str:
        for key in ("filename", "debug_file"):
            if isinstance(module.get(key), str) and module[key]:
                return module[key]
        return "unknown"

    def rewrite(self, url: str) -> str | None:
        """The cleaned URL, or None if it must be removed."""
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError:
            return None
        if _is_local_host(hostname):
            return None
        strip = hostname in self.strip_query_hosts
        if not strip and self.strip_code_info_queries and parts.query:
            params = parse_qs(parts.query, keep_blank_values=True)
            strip = "code_file" in params or "code_id" in params
        return parts._replace(query="").geturl() if strip else url

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        for module in _modules(processed_crash):
            url = module.get("symbol_url")
            if not isinstance(url, str) or not url:
                continue
            new_url = self.rewrite(url)
            if new_url is None:
                module["symbol_url"] = None
                status.add_note(f"Redacting symbol url for module {self.module_name(module)}")
            else:
                module["symbol_url"] = new_url


class SoftErrorsRule(Rule):
    """Store ``json_dump.soft_errors`` (errors the crash reporter hit while writing the
    minidump) as a JSON string of at most ``max_length`` characters in ``soft_errors``.

    As in Socorro, the field is written whenever the stackwalker output has the key, even
    when its value is null (what the stackwalker writes when the minidump has no such
    stream): ``soft_errors`` is then the JSON text ``"null"``. Only an output without the key
    leaves the field out.
    """

    def __init__(self, max_length: int = 4096) -> None:
        self.max_length = max_length

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return "soft_errors" in _json_dump(processed_crash)

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = _json_dump(processed_crash)["soft_errors"]
        processed_crash["soft_errors"] = json.dumps(value, default=repr)[: self.max_length]


class MacBootArgsRule(Rule):
    """Copy non-empty macOS kernel boot arguments into ``mac_boot_args`` (protected) and
    set ``has_mac_boot_args = True`` (public), since unusual boot args explain odd crashes."""

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return bool(_json_dump(processed_crash).get("mac_boot_args"))

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = _json_dump(processed_crash)["mac_boot_args"]
        if not isinstance(value, str):
            status.add_note(
                f"MacBootArgsRule: mac_boot_args is {type(value).__qualname__} and not str"
            )
            return
        value = value.strip()
        if value:
            processed_crash["mac_boot_args"] = value
            processed_crash["has_mac_boot_args"] = True


class MacCrashInfoRule(Rule):
    """Store macOS crash-info records as a JSON string (sorted keys, so reprocessing gives
    the same text) in ``mac_crash_info`` when there is at least one record.

    Any earlier value is removed first, so reprocessing never keeps stale records.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        processed_crash.pop("mac_crash_info", None)
        info = dig(processed_crash, "json_dump.mac_crash_info", dict)
        num_records = dig(info, "num_records", int, 0)
        if num_records > 0:
            processed_crash["mac_crash_info"] = json.dumps(info, sort_keys=True, default=repr)


class ReportTypeRule(Rule):
    """Classify the report as "hang" or "crash" in ``report_type``.

    IPC channel errors and async-shutdown timeouts are hangs by definition; so is a
    crashing stack that went through a watchdog (``RunWatchdog``), which kills hung
    processes on purpose.
    """

    HANG_FIELDS = ("ipc_channel_error", "async_shutdown_timeout")

    @staticmethod
    def crashing_thread(json_dump: Any) -> int:
        """The crashing thread index from crash_info (0 when unusable, as Socorro does)."""
        value = dig(json_dump, "crash_info.crashing_thread")
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        return value if is_int(value) and value >= 0 else 0

    def is_hang(self, processed_crash: Mapping[str, Any]) -> bool:
        if any(field in processed_crash for field in self.HANG_FIELDS):
            return True
        json_dump = processed_crash.get("json_dump")
        frames = thread_frames(json_dump, self.crashing_thread(json_dump)) or []
        return any(
            isinstance(frame.get("function"), str) and "RunWatchdog" in frame["function"]
            for frame in frames
        )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        processed_crash["report_type"] = "hang" if self.is_hang(processed_crash) else "crash"


class ShutDownHangCrashingThreadRule(Rule):
    """Set ``crashing_thread = 0`` for shutdown hangs.

    A shutdown hang is reported by the terminator killing the process from its own thread;
    the interesting (hung) stack is the main thread's. Runs after signature generation, so
    it only changes the stored field that the crash report page shows.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        signature = processed_crash.get("signature")
        if isinstance(signature, str) and signature.startswith("shutdownhang"):
            processed_crash["crashing_thread"] = 0
