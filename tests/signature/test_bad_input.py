"""Hostile crash data: huge, deep or pathological inputs give a signature quickly, never raise.

Time limits are generous (the machine is shared); the quadratic or exponential behaviours
these guard against would take minutes, not seconds.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from signature import SignatureGenerator
from signature.siglists import MATCH_LIMIT

LIMIT_SECONDS = 3.0


@pytest.fixture(scope="module")
def generator() -> SignatureGenerator:
    return SignatureGenerator()


def stack(*functions: Any, **fields: Any) -> dict[str, Any]:
    return {
        "crashing_thread": 0,
        "threads": [{"frames": [{"function": f, "module": "libxul.so"} for f in functions]}],
        **fields,
    }


def timed(generator: SignatureGenerator, crash: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = generator.generate(crash)
    return result, time.perf_counter() - start


def test_ten_thousand_frames_only_forty_are_normalized(generator: SignatureGenerator) -> None:
    crash = stack(*(["memcpy"] * 10_000))
    result, elapsed = timed(generator, crash)
    assert elapsed < LIMIT_SECONDS
    assert result.proto_signature == " | ".join(["memcpy"] * 40)
    assert len(result.signature) == 255
    assert result.notes == ["SigTruncate: SigTrunc: signature truncated due to length"]


def test_ten_thousand_inline_frames(generator: SignatureGenerator) -> None:
    inlines = [{"function": "memset"}] * 10_000
    crash = {"threads": [{"frames": [{"function": "main", "inlines": inlines}]}]}
    result, elapsed = timed(generator, crash)
    assert elapsed < LIMIT_SECONDS
    assert result.proto_signature == " | ".join(["memset"] * 40)


@pytest.mark.parametrize(
    "function",
    [
        "x" * 1_000_000,
        "framework" * 120_000,  # '.*framework.*\.oat' backtracks on every occurrence
        "IPC::ParamTraits<" * 60_000,  # recursive collapsing
        "<" * 1_000_000,
        "(" * 500_000 + ")" * 500_000,
        "a " * 500_000,  # a token per space
        "f (" + " (" * 300_000,  # glued argument tokens
        "::$_1" * 200_000 + "::",
        "::h" + "a" * 1_000_000,
        "x [clone .cold.1]" * 60_000,
    ],
    ids=[
        "plain",
        "framework",
        "paramtraits",
        "angles",
        "parens",
        "spaces",
        "glue",
        "lambdas",
        "hash",
        "clones",
    ],
)
def test_megabyte_function_names(generator: SignatureGenerator, function: str) -> None:
    rust = {"file": "/src/lib.rs", "line": 1}
    for extra in ({}, rust):
        crash = stack(function)
        crash["threads"][0]["frames"][0].update(extra)
        result, elapsed = timed(generator, crash)
        assert elapsed < LIMIT_SECONDS, f"{elapsed:.1f}s"
        assert isinstance(result.signature, str)
        assert len(result.signature) <= 255


def test_long_frames_are_matched_by_their_start(generator: SignatureGenerator) -> None:
    # An irrelevant frame stays irrelevant however long it is...
    long_irrelevant = "KiFastSystemCallRet" + "x" * 2 * MATCH_LIMIT
    assert generator.generate(stack(long_irrelevant, "nsFoo::Bar")).signature == "nsFoo::Bar"
    # ...but a contains-pattern beyond the match limit is not seen (documented bound).
    hidden_prefix = "y" * MATCH_LIMIT + "abort"
    assert generator.generate(stack(hidden_prefix, "nsFoo::Bar")).signature.startswith("yyy")


def test_megabyte_annotations(generator: SignatureGenerator) -> None:
    crash = stack(
        "nsFoo::Bar",
        abort_message="a\x00b" * 400_000,
        ipc_channel_error="e" * 1_000_000,
        ipc_message_name="\t" * 1_000_000,
        async_shutdown_timeout='{"phase": "' + "p" * 1_000_000 + '", "conditions": []}',
        hang="h" * 1_000_000,
    )
    result, elapsed = timed(generator, crash)
    assert elapsed < LIMIT_SECONDS
    assert result.signature.startswith("hang: hhh")
    assert len(result.signature) == 255


def test_megabyte_java_stack_trace(generator: SignatureGenerator) -> None:
    trace = "java.lang.Error: " + "@0badf00d" * 100_000 + "\n\tat a.B.c(B.java:1)" * 10_000
    result, elapsed = timed(generator, {"java_stack_trace": trace})
    assert elapsed < LIMIT_SECONDS
    assert result.signature == "java.lang.Error: at a.B.c(B.java)"


def test_control_characters_everywhere(generator: SignatureGenerator) -> None:
    controls = "".join(chr(c) for c in range(32)) + "\x7f\u2028\ufeff"
    crash = stack(f"ns{controls}Foo::Bar()", ipc_message_name=controls, hang=controls)
    result = generator.generate(crash)
    assert result.signature == "hang: | nsFoo::Bar | IPC_Message_Name="
    assert "SigPrintableCharsOnly: unprintable characters removed" in result.notes


@pytest.mark.parametrize(
    "crash",
    [
        None,
        "text",
        42,
        {"threads": [{"frames": [None, [], "x", 1.5, True]}]},
        {"threads": [{"frames": [{"function": f} for f in (1, 2.5, [], {}, True)]}]},
        {"crashing_thread": float("nan"), "threads": []},
        {"crashing_thread": 10**30, "threads": [{"frames": [{"function": "f"}]}]},
        {"threads": [{"frames": [{"function": "f", "inlines": [1, None, {"function": 3}]}]}]},
        {"threads": [{"frames": [{"unloaded_modules": [{"module": None}]}]}]},
        {"java_exception": {"exception": {"values": [{"stacktrace": {"frames": "x"}}]}}},
        {"java_exception": {"exception": "x"}},
        {"oom_allocation_size": float("inf"), "threads": []},
        {"oom_allocation_size": [], "js_large_allocation_failure": [], "threads": []},
        {"async_shutdown_timeout": {"phase": "p"}},
        {"additional_minidumps": 5, "ipc_channel_error": "x"},
    ],
)
def test_garbage_never_raises(generator: SignatureGenerator, crash: Any) -> None:
    result = generator.generate(crash)
    assert isinstance(result.signature, str)
    assert all(isinstance(note, str) for note in result.notes)
