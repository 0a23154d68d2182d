"""Issue 18: a symbols server that never answers.

Before, one crash with 2 missing modules took ~495 s with the default settings: each module
was looked up twice per crash (the stackwalker and the symbolication rule named it
differently), each lookup up to 4 tries of 30 s, and nothing remembered the silence. Now a
crash looks each module up once, all its lookups share a budget (symbols.crash_budget), and a
server that keeps not answering is skipped for a while (symbols.breaker_*).

The servers are real sockets on 127.0.0.1 that accept a request and never reply; budgets and
timeouts are a second or two, and the breaker's cool-down runs on an injected clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from symbols.breaker import CircuitBreaker
from symbols.fetch import HttpOptions
from symbols.provider import SymbolProvider
from symbols.scope import lookup_scope
from symbols.supplier import ModuleId, SymbolSupplier
from tests.conftest import REPO
from tests.scripted_http import url_of

# Four modules as the stackwalker names them (full paths) and as the rule does (leaf names).
IDS = [f"{n:032X}1" for n in range(1, 5)]
WALKER_NAMES = [ModuleId(f"c:\\m{n}.dll", None, f"c:\\m{n}.pdb", i) for n, i in enumerate(IDS)]
RULE_NAMES = [ModuleId(f"m{n}.dll", None, f"m{n}.pdb", i.lower()) for n, i in enumerate(IDS)]
BUDGET = 1.5
# Tries per lookup a silent server would cost without the budget: 4 x 1 s.
OPTIONS = HttpOptions(connect_timeout=1, read_timeout=1, deadline=30, retries=3, backoff=0.01)
SAMPLE = REPO / "examples" / "crashes" / "windows-x86-test-app"


@pytest.fixture
def silent(scripted):
    release = threading.Event()
    server = scripted(lambda handler: release.wait(60))
    yield server
    release.set()


def provider(tmp_path: Path, url: str, **supplier_options) -> SymbolProvider:
    supplier = SymbolSupplier(
        symbols_urls=[url], cache_dir=tmp_path / "cache", options=OPTIONS, **supplier_options
    )
    return SymbolProvider(supplier, crash_budget=BUDGET)


def test_one_lookup_per_module_and_one_budget_per_crash(tmp_path, silent):
    symbols = provider(tmp_path, url_of(silent), breaker=CircuitBreaker(failures=100))
    started = time.monotonic()
    with lookup_scope():
        walked = [symbols.get(m) for m in WALKER_NAMES]
        again = [symbols.get(m) for m in RULE_NAMES]  # the rule asks under other names
    elapsed = time.monotonic() - started
    assert [a is w for a, w in zip(again, walked, strict=True)] == [True] * 4
    # The budget went to the first module (one try of 1 s, then the rest of the budget);
    # the modules after it were not asked for at all.
    assert 1 <= len(silent.hits) <= 2, silent.hits
    assert all(IDS[0] in hit for hit in silent.hits)
    outcomes = [found.lookup.attempts[-1].outcome for found in walked]
    assert outcomes[1:] == ["budget"] * 3
    assert "symbols.crash_budget" in walked[-1].lookup.attempts[-1].reason
    # 4 modules x 2 askers x 4 tries x 1 s = 32 s before; now the budget and a margin.
    assert elapsed < BUDGET + 1.5, elapsed
    # A spent budget says nothing of the modules: the next crash asks again.
    hits = len(silent.hits)
    with lookup_scope():
        symbols.get(WALKER_NAMES[3])
    assert any(IDS[3] in hit for hit in silent.hits[hits:])


def test_breaker_skips_a_silent_server_then_tries_it_again(tmp_path, silent):
    now = [1000.0]
    opened = []
    breaker = CircuitBreaker(failures=2, cooldown=60, clock=lambda: now[0], on_open=opened.append)
    options = HttpOptions(connect_timeout=1, read_timeout=1, deadline=5, retries=0)
    supplier = SymbolSupplier(
        symbols_urls=[url_of(silent)],
        cache_dir=tmp_path / "cache",
        options=options,
        breaker=breaker,
    )
    results = [supplier.locate(m) for m in WALKER_NAMES[:3]]
    assert [r.attempts[-1].outcome for r in results] == ["timeout", "timeout", "unavailable"]
    assert len(silent.hits) == 2, "the third module did not reach the server"
    assert opened == [url_of(silent)]
    assert "2 lookup(s) in a row got no answer" in results[2].attempts[-1].reason
    now[0] += 61  # cool-down over: one lookup is let through, and its silence reopens at once
    assert supplier.locate(WALKER_NAMES[3]).attempts[-1].outcome == "timeout"
    assert len(silent.hits) == 3
    assert supplier.locate(WALKER_NAMES[0]).attempts[-1].outcome == "unavailable"
    assert opened == [url_of(silent)] * 2


def test_breaker_closes_when_the_server_answers_again(tmp_path, scripted):
    answering = threading.Event()

    def flaky(handler) -> None:
        if not answering.is_set():
            time.sleep(1.5)  # longer than the read timeout: no answer
        handler.send_response(404)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = scripted(flaky)
    now = [0.0]
    breaker = CircuitBreaker(failures=1, cooldown=10, clock=lambda: now[0])
    options = HttpOptions(read_timeout=1, deadline=5, retries=0)
    supplier = SymbolSupplier(
        symbols_urls=[url_of(server)], cache_dir=tmp_path / "c", options=options, breaker=breaker
    )
    assert supplier.locate(WALKER_NAMES[0]).attempts[-1].outcome == "timeout"
    assert supplier.locate(WALKER_NAMES[1]).attempts[-1].outcome == "unavailable"
    answering.set()
    now[0] += 11
    assert [supplier.locate(m).attempts[-1].outcome for m in WALKER_NAMES[1:]] == ["not-found"] * 3


def test_a_crash_against_a_silent_server_costs_its_budget(tmp_path, silent):
    """The whole processor: windows-x86-test-app has 2 modules without symbols here."""
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        CRASHPROC_SYMBOLS_CRASH_BUDGET=str(BUDGET),
        CRASHPROC_SCRATCH_DIR=str(tmp_path / "scratch"),
    )
    started = time.monotonic()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "processor", "process", "--stackwalker", "builtin"),
            *("--symbols-url", url_of(silent), "--symbols-cache", str(tmp_path / "cache")),
            str(SAMPLE),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    processed = json.loads(done.stdout.splitlines()[0])
    missing = {m["filename"]: m["reason"] for m in processed["symbolication"]["missing_modules"]}
    assert missing == {"test_app.exe": "budget", "kernel32.dll": "budget"}
    assert len(silent.hits) == 1, silent.hits  # the first module's one try, cut by the budget
    notes = processed["processor_notes"]
    assert "kernel32.pdb/BCE8785C57B44245A669896B6A19B9542: budget; tried" in notes
    assert "symbols budget is spent (symbols.crash_budget)" in notes
    # With the default settings this crash waited ~495 s; now the budget, plus the start of a
    # Python process with the whole pipeline on a busy machine.
    assert elapsed < BUDGET + 30, elapsed


def test_crashes_cut_by_their_budget_still_open_the_breaker(tmp_path, silent):
    """With the defaults (30 s read timeout, 60 s budget) every crash against a silent server
    ends on its budget; the silences still count, so after symbols.breaker_failures crashes
    the server is skipped and the next crashes cost nothing."""
    symbols = provider(tmp_path, url_of(silent), breaker=CircuitBreaker(failures=2, cooldown=600))
    for _ in range(2):
        with lookup_scope():
            assert symbols.get(WALKER_NAMES[0]).lookup.attempts[-1].outcome == "budget"
    hits = len(silent.hits)
    with lookup_scope():
        found = [symbols.get(m) for m in WALKER_NAMES[1:]]
    assert [f.lookup.attempts[-1].outcome for f in found] == ["unavailable"] * 3
    assert len(silent.hits) == hits
