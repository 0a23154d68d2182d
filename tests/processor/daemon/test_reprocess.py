"""``crashproc reprocess`` / ``reprocess-crash``: ids from everywhere, inline, queued, preview."""

from __future__ import annotations

import io
import sys

import pytest

import crashproc.progress
from processor.cli import reprocess_crash_main, run
from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.queues import open_queue
from processor.runner import CrashProcessor
from processor.service.job import run_job
from processor.storage import open_storage, stored_outputs
from tests.terminal import Terminal

SAMPLE_NAMES = ["linux-amd64", "windows-x86-test-app", "oom-with-memory-report"]


@pytest.fixture(scope="module")
def processor():
    settings = Settings()
    settings.stackwalker = "none"
    crash_processor = CrashProcessor(settings)
    yield crash_processor
    crash_processor.close()


@pytest.fixture
def site(tmp_path, processor, sample_dir):
    """A storage holding three processed sample crashes; returns (storage URL, ids)."""
    storage = open_storage(str(tmp_path / "crashes"))
    ids = []
    for name in SAMPLE_NAMES:
        crash = load_crash_dir(sample_dir(name))
        outputs = stored_outputs(crash.dumps.items())
        storage.save_raw_crash(crash.crash_id, crash.raw_crash, crash.dumps, outputs)
        run_job(storage, processor, crash.crash_id, use_previous=False)
        ids.append(crash.crash_id)
    return str(tmp_path / "crashes"), ids


def reprocess(storage_url, *argv, stdin=None, monkeypatch=None):
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = run(
        ["reprocess", "--storage", storage_url, "--stackwalker", "none", *map(str, argv)], out=out
    )
    return code, out.getvalue()


def preview_ids(output: str) -> list[str]:
    return [line.split("\t")[0] for line in output.splitlines()]


def test_inline_reprocessing_saves_with_history(site, capsys):
    storage_url, ids = site
    storage = open_storage(storage_url)
    before = storage.load_processed_crash(ids[0])
    code, out = reprocess(storage_url, ids[0])
    assert code == 0
    assert out == ""
    after = storage.load_processed_crash(ids[0])
    assert after["processor_history"] == [before["processor_notes"]]
    assert after["completed_datetime"] > before["completed_datetime"]
    assert (
        storage.load_processed_crash(ids[0], public=True)["completed_datetime"]
        == (after["completed_datetime"])
    )
    assert storage.load_processed_crash(ids[1]) is not None
    err = capsys.readouterr().err
    assert "reprocessed 1 crash(es) with default: 0 with a different signature, 0 failed" in err


def test_preview_shows_old_and_new_signatures_and_saves_nothing(site, capsys):
    storage_url, ids = site
    storage = open_storage(storage_url)
    stale = storage.load_processed_crash(ids[1])
    real_signature = stale["signature"]
    stale["signature"] = "old | signature"
    storage.save_processed_crash(ids[1], stale)
    code, out = reprocess(storage_url, "--preview", "--ruleset", "regenerate_signature", *ids)
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    signatures = {crash_id: storage.load_processed_crash(crash_id)["signature"] for crash_id in ids}
    same_symbols = "modules with symbols: 0 lost, 0 gained"
    assert lines == [
        [ids[0], signatures[ids[0]], signatures[ids[0]], "same", same_symbols],
        [ids[1], "old | signature", real_signature, "different", same_symbols],
        [ids[2], signatures[ids[2]], signatures[ids[2]], "same", same_symbols],
    ]
    assert storage.load_processed_crash(ids[1]) == stale, "preview saves nothing"
    err = capsys.readouterr().err
    assert "previewed 3 crash(es) with regenerate_signature: 1 with a different signature" in err


def test_ids_from_file_stdin_and_dates_once_each(site, tmp_path, monkeypatch):
    storage_url, ids = site
    id_file = tmp_path / "ids.txt"
    id_file.write_text(f"# crashes to look at\n\n{ids[1]}  some signature\n{ids[0]}\n")
    code, out = reprocess(
        storage_url,
        "--preview",
        "--file",
        id_file,
        "-",
        stdin=f"{ids[2]}\n{ids[1]}\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    assert preview_ids(out) == [ids[2], ids[1], ids[0]]

    dates = {crash_id: "20" + crash_id[-6:] for crash_id in ids}
    day = sorted(dates.values())[1]
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    code, out = reprocess(storage_url, "--preview", "--since", iso, "--until", iso)
    assert preview_ids(out) == sorted(c for c in ids if dates[c] == day)
    code, out = reprocess(storage_url, "--preview", "--since", day)
    assert preview_ids(out) == sorted(
        (c for c in ids if dates[c] >= day), key=lambda c: (dates[c], c)
    )
    code, out = reprocess(storage_url, "--preview", "--all", ids[2])
    rest = sorted((c for c in ids if c != ids[2]), key=lambda c: (dates[c], c))
    assert preview_ids(out) == [ids[2], *rest]


def test_bad_and_missing_crashes_are_reported_and_the_rest_done(site, capsys):
    storage_url, ids = site
    missing = "0bba61c5-dfc3-43e7-87e6-8afda3260919"
    code, out = reprocess(storage_url, "--preview", "not-an-id", missing, ids[0])
    assert code == 1
    assert preview_ids(out) == [ids[0]]
    err = capsys.readouterr().err
    assert "malformed crash id 'not-an-id'" in err
    assert f"crash {missing}: raw crash not found in storage" in err
    assert "previewed 1 crash(es) with default: 0 with a different signature, 1 failed" in err


def test_queueing_for_the_daemon(site, tmp_path, capsys):
    storage_url, ids = site
    queue_url = f"sqlite:{tmp_path / 'queue.sqlite'}"
    code, printed = reprocess(
        storage_url, "--ruleset", "regenerate_signature", f"--queue={queue_url}", ids[0], ids[1]
    )
    assert code == 0
    assert printed == "", "queueing prints no per-crash lines"
    assert (
        "queued 2 crash(es) for reprocessing with regenerate_signature" in capsys.readouterr().err
    )
    queue = open_queue(queue_url)
    deliveries = [queue.claim("c"), queue.claim("c")]
    assert [(d.queue, d.crash_id, d.ruleset) for d in deliveries] == [
        ("reprocessing", ids[0], "regenerate_signature"),
        ("reprocessing", ids[1], "regenerate_signature"),
    ]


def test_queue_flag_alone_uses_the_configured_queue(site, tmp_path, monkeypatch):
    storage_url, ids = site
    queue_path = tmp_path / "configured.sqlite"
    monkeypatch.setenv("CRASHPROC_QUEUE", f"sqlite:{queue_path}")
    code, _ = reprocess(storage_url, ids[2], "--queue")
    assert code == 0
    assert open_queue(f"sqlite:{queue_path}").depths()["reprocessing"] == 1


@pytest.mark.parametrize(
    "argv, problem",
    [
        ([], "no crashes given"),
        (["--preview", "--queue", "sqlite:q.sqlite", "--all"], "cannot be combined with --queue"),
        (
            ["--queue", "de1bb258-cbbf-4589-a673-34f800260918"],
            "looks like a crash id: write --queue=URL",
        ),
        (["--all", "--queue=amqp://x/"], "unsupported URL scheme 'amqp'"),
    ],
)
def test_usage_errors(site, capsys, argv, problem):
    storage_url, _ = site
    code, _ = reprocess(storage_url, *argv)
    assert code == 2
    assert problem in capsys.readouterr().err


def test_reprocess_crash_is_the_same_command(site, capsys):
    storage_url, ids = site
    code = reprocess_crash_main(
        ["--storage", storage_url, "--stackwalker", "none", "--preview", ids[0]]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith(ids[0] + "\t")


def test_progress_bar_only_on_a_terminal(site, monkeypatch, capsys):
    """The bar is drawn when stderr is a terminal and ends on the final state, 3/3.

    Redraws are throttled to one an hour, as a loaded machine may throttle them between
    crashes: only the first state and close()'s final one can be drawn, so the test does not
    depend on timing.
    """
    storage_url, _ = site
    monkeypatch.setattr(crashproc.progress, "REDRAW_SECONDS", 3600.0)
    terminal = Terminal()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", terminal.stream)
        code, _ = reprocess(storage_url, "--all")
    drawn = terminal.text()
    assert code == 0
    states = [state for state in drawn.split("\r") if state.startswith("reprocessing:")]
    assert [state.split("|")[2].split()[0] for state in states] == ["0/3", "3/3"]
    assert "crashproc: reprocessed 3 crash(es)" in drawn

    # stderr is no terminal (pytest captures it): nothing but the summary.
    code, _ = reprocess(storage_url, "--all")
    assert code == 0
    assert capsys.readouterr().err.startswith("crashproc: reprocessed 3 crash(es)")


def test_queued_reprocessing_is_done_by_the_daemon(make_site):
    site = make_site()
    dirs = site.crashes(5)
    site.submit([d for d, _ in dirs])
    assert site.start_daemon("--once").wait() == 0
    result = site.crashproc("reprocess", "--all", "--queue")
    assert result.returncode == 0, result.stderr
    assert "queued 5 crash(es) for reprocessing with default" in result.stderr
    assert site.start_daemon("--once").wait() == 0
    storage = open_storage(site.storage_url)
    for _, crash_id in dirs:
        processed = storage.load_processed_crash(crash_id)
        assert len(processed["processor_history"]) == 1, "reprocessed once, from the stored result"
    assert open_queue(site.queue_url).pending() == 0
