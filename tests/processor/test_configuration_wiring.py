"""Every crashproc command reads the one configuration: file, environment and flags.

A crashproc.toml in the working directory names a storage and a queue; submit, queue,
daemon, report and reprocess all use them without a flag, `config show` says where each
value came from, and unusable values stop a command at once with one line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processor.cli import run

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "crashes" / "linux-amd64"
# Commands run in a child process (the pipe tests) find our packages from the repository.
CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def crashproc(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def installation(tmp_path, monkeypatch):
    """A working directory with a crashproc.toml naming its storage and queue (relative to
    the file), and no CRASHPROC_* variables."""
    for name in list(os.environ):
        if name.startswith("CRASHPROC_"):
            monkeypatch.delenv(name)
    (tmp_path / "crashproc.toml").write_text(
        '[storage]\nurl = "data/crashes"\n\n[queue]\nurl = "sqlite:data/queue.sqlite"\n'
        'retry_delay = 0\n\n[stackwalker]\nmode = "none"\n\n[daemon]\nworkers = 1\n'
        "log_interval = 0.5\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_command_uses_the_configured_storage_and_queue(installation, capsys):
    code, out = crashproc("submit", str(SAMPLE))
    assert code == 0, capsys.readouterr().err
    crash_id = out.split()[0]
    assert list((installation / "data" / "crashes").rglob("*raw_crash*"))

    code, out = crashproc("queue", "status")
    assert code == 0
    assert "standard\t1" in out

    code, _ = crashproc("daemon", "--once")
    assert code == 0, capsys.readouterr().err

    code, out = crashproc("report", "signatures", "--format", "json")
    assert code == 0, capsys.readouterr().err
    rows = json.loads(out)["rows"]
    assert len(rows) == 1, rows
    assert (installation / "data" / "report-index.sqlite").is_file()

    code, out = crashproc("reprocess", crash_id, "--preview")
    assert code == 0, capsys.readouterr().err
    assert out.startswith(crash_id)


def test_config_show_says_where_each_value_came_from(installation, monkeypatch):
    monkeypatch.setenv("CRASHPROC_QUEUE_LEASE", "12")
    monkeypatch.setenv("CRASHPROC_SENTRY_DSN", "https://secretkey@sentry.example.com/1")
    code, out = crashproc("config", "show", "--workers", "4")
    assert code == 0
    lines = out.splitlines()
    config_file = installation / "crashproc.toml"
    assert lines[0] == f"# configuration file: {config_file}"
    base = installation.resolve()
    assert f'url = "{base / "data" / "crashes"}"  # file {config_file}:2' in lines
    assert "lease = 12  # env CRASHPROC_QUEUE_LEASE" in lines
    assert "workers = 4  # flag --workers" in lines
    assert "max_attempts = 3  # default" in lines
    assert "# hostname is unset: the machine's  (default)" in lines
    assert "dsn = ********  # env CRASHPROC_SENTRY_DSN" in lines
    assert "secretkey" not in out

    code, out = crashproc("config", "show", "--format", "json")
    document = json.loads(out)
    assert document["file"] == str(config_file)
    assert document["settings"]["queue.lease"] == {
        "value": 12.0,
        "source": "env",
        "origin": "CRASHPROC_QUEUE_LEASE",
    }
    assert document["settings"]["sentry.dsn"]["value"] == "********"
    assert "secretkey" not in out


def test_an_explicit_config_file_wins_over_the_working_directory(installation, tmp_path):
    other = tmp_path / "elsewhere.toml"
    other.write_text('[storage]\nurl = "/srv/other"\n', encoding="utf-8")
    code, out = crashproc("config", "show", "--config", str(other))
    assert code == 0
    assert 'url = "/srv/other"' in out
    # Before the subcommand too, and through the environment variable.
    code, out = crashproc("--config", str(other), "config", "show")
    assert 'url = "/srv/other"' in out


SAMPLE_ARG = str(SAMPLE)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["process", "--symbols-url", "notaurl", SAMPLE_ARG],
            "--symbols-url: symbols.urls must be a list of URLs",
        ),
        (
            ["process", "--symbols-path", "/no/such/store", SAMPLE_ARG],
            "--symbols-path: symbols.paths: /no/such/store does not exist",
        ),
        (
            ["daemon", "--once", "--symbols-path", "/no/such/store"],
            "--symbols-path: symbols.paths: /no/such/store does not exist",
        ),
        (
            ["daemon", "--once", "--symbols-url", "https://"],
            "symbols.urls must be a list of URLs, each an http:// or https:// URL with a host",
        ),
        (
            ["reprocess", "--all", "--symbols-path", "/no/such/store"],
            "--symbols-path: symbols.paths: /no/such/store does not exist",
        ),
        (
            ["reprocess", "--all", "--queue=sqlite:q", "--symbols-path", "/no/such/store"],
            "--symbols-path: symbols.paths: /no/such/store does not exist",
        ),
        (["submit", "--storage", "ftp://host/x", SAMPLE_ARG], "unsupported URL scheme 'ftp'"),
        (["submit", "--queue", "amqp://host/", SAMPLE_ARG], "unsupported URL scheme 'amqp'"),
        (["queue", "status", "--queue", "amqp://host/"], "unsupported URL scheme 'amqp'"),
        (["report", "signatures", "--storage", "ftp://x/"], "unsupported URL scheme 'ftp'"),
    ],
)
def test_unusable_settings_stop_a_command_at_once(installation, capsys, argv, message):
    started = time.monotonic()
    code, out = crashproc(*argv)
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert message in err
    assert out == ""
    assert time.monotonic() - started < 10  # no waiting on a server that is not there
    assert not (installation / "data").exists()  # nothing stored, nothing queued


def test_a_bad_configuration_file_is_one_line_naming_the_line(installation, capsys):
    (installation / "crashproc.toml").write_text('[queue]\nurl = "sqlite:q"\nleese = 5\n')
    code, _ = crashproc("queue", "status")
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"crashproc: error: {installation / 'crashproc.toml'}:3: unknown setting 'queue.leese'"
        " (did you mean 'queue.lease'?)"
    )


def test_common_flags_after_the_subcommand_and_version(installation, capsys):
    code, _ = crashproc("queue", "status", "-v")
    assert code == 0
    with pytest.raises(SystemExit) as done:
        crashproc("--version")
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("crashproc ")


@pytest.mark.parametrize(
    "script, module, argv",
    [
        ("reprocess-crash", "processor.cli", ["--help"]),
        ("process-crash", "processor.cli", ["--help"]),
    ],
)
def test_alias_commands_name_themselves(script, module, argv):
    entry = script.replace("-", "_") + "_main"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; from {module} import {entry}; sys.exit({entry}())",
            *argv,
        ],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"usage: {script} ")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; from {module} import {entry}; sys.exit({entry}())",
            "--version",
        ],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        check=False,
    )
    assert proc.stdout.startswith(f"{script} ")


def test_a_closed_pipe_ends_quietly(installation):
    """`crashproc config show | head -1`: the reader goes away after one line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "config", "show"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=CHILD_ENV,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert proc.returncode in (0, 141)


def test_the_readme_lists_every_setting_as_declared():
    """The README's settings table is `crashproc config docs`, so it cannot drift."""
    from processor.cli.config import settings_table

    assert settings_table() in (REPO / "README.md").read_text(encoding="utf-8")
