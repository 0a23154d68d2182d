"""The commands' progress bar: on a terminal only, rate and ETA shown, the final state drawn."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

import crashproc.progress
from crashproc.progress import ProgressCallback, progress_bar
from tests.terminal import Terminal

# tqdm shows a rate below one item a second as seconds per item.
RATE = r"[\d.]+(crash/s|s/crash)"
# Block characters, or digits and # where the terminal's encoding has no blocks.
FILLED = r"[█▏▎▍▌▋▊▉0-9#]+"


@pytest.fixture
def throttled(monkeypatch):
    """Redraws at most once an hour: as on a loaded machine, no update in between is drawn,
    so what the tests see does not depend on how fast they run."""
    monkeypatch.setattr(crashproc.progress, "REDRAW_SECONDS", 3600.0)


def bar_states(drawn: str) -> list[str]:
    """The successive states drawn (each redraw starts with \\r; the pty's line end dropped)."""
    return [state for state in drawn.replace("\r\n", "\n").split("\r") if state]


def test_close_draws_the_final_state_however_throttled(throttled):
    terminal = Terminal()
    bar = progress_bar(3, "reprocessing", unit="crash", stream=terminal.stream)
    for _ in range(3):
        bar.update()
    bar.close()
    states = bar_states(terminal.text())
    assert len(states) == 2, "the first state, then only close()'s"
    assert re.fullmatch(r"reprocessing:\s+0%\|\s*\| 0/3 \[00:00<\?, \?crash/s\]", states[0])
    # The final state stays on the terminal, on a line of its own.
    assert re.fullmatch(
        rf"reprocessing: 100%\|{FILLED}\| 3/3 \[\d\d:\d\d<00:00, {RATE}\]\n", states[1]
    )


def test_the_rate_and_the_time_left_are_shown_while_running():
    terminal = Terminal()
    bar = progress_bar(10, "queueing", unit="crash", stream=terminal.stream)
    bar.update(5)
    bar.refresh()  # what a redraw after REDRAW_SECONDS draws
    bar.close()
    midway = bar_states(terminal.text())[-2]
    assert re.fullmatch(
        rf"queueing:  50%\|{FILLED} +\| 5/10 \[\d\d:\d\d<\d\d:\d\d, {RATE}\]", midway
    )


def test_a_terminal_without_a_size_still_gets_the_bar(throttled):
    terminal = Terminal(size=None)  # 0x0, as a pty nobody sized reports
    bar = progress_bar(2, "reindex", stream=terminal.stream)
    bar.update(2)
    bar.close()
    assert "2/2" in bar_states(terminal.text())[-1]


def test_silent_when_the_stream_is_no_terminal():
    for stream in (io.StringIO(), open("/dev/null", "w")):  # noqa: SIM115 -- closed below
        bar = progress_bar(3, "reprocessing", stream=stream)
        bar.update(3)
        bar.close()
        if isinstance(stream, io.StringIO):
            assert stream.getvalue() == ""
        stream.close()
    # A pipe, as in CI logs: the stderr of a child process.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from crashproc.progress import progress_bar\n"
            "bar = progress_bar(3, 'reprocessing')\n"
            "bar.update(3)\n"
            "bar.close()\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stderr == ""


def test_a_single_item_draws_no_bar():
    terminal = Terminal()
    bar = progress_bar(1, "reprocessing", stream=terminal.stream)
    bar.update()
    bar.close()
    assert terminal.text() == ""


def test_the_callback_form_draws_from_done_and_total(throttled):
    terminal = Terminal()
    with ProgressCallback("indexing", unit="file", stream=terminal.stream) as progress:
        for done in range(1, 5):
            progress(done, 4)
    states = bar_states(terminal.text())
    assert states[0].startswith("indexing:   0%") and " 0/4 " in states[0]
    assert states[-1].startswith("indexing: 100%") and " 4/4 " in states[-1]


def test_the_callback_form_draws_nothing_when_never_called():
    terminal = Terminal()
    ProgressCallback("indexing", stream=terminal.stream).close()
    assert terminal.text() == ""
