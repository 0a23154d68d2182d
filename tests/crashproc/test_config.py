"""The configuration file, the environment and flags: precedence, provenance and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crashproc import config
from crashproc.config import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_declaration_is_complete():
    decls = config.declarations()
    assert len(decls) > 30
    envs = [d.env for d in decls.values()]
    assert len(envs) == len(set(envs)), "two settings share an environment variable"
    for decl in decls.values():
        assert decl.env.startswith("CRASHPROC_")
        assert decl.help and not decl.help.endswith(".")
        if decl.default is not None and decl.default != []:
            config.check_value(decl.key, decl.default, "default")  # defaults are valid


def test_precedence_is_flag_then_environment_then_file_then_default(tmp_path):
    path = write(
        tmp_path / "crashproc.toml",
        '[storage]\nurl = "/from/file"\n[queue]\nurl = "sqlite:/from/file.sqlite"\n'
        "lease = 7\n[daemon]\nworkers = 3\n",
    )
    loaded = config.load(
        config_file=path,
        environ={"CRASHPROC_QUEUE": "redis://localhost:6379/0", "CRASHPROC_WORKERS": "5"},
        flags={"daemon.workers": (2, "--workers")},
    )
    assert loaded["storage.url"] == "/from/file"
    assert loaded.values["storage.url"].source == "file"
    assert loaded.origin("storage.url") == f"{path}:2"
    assert loaded["queue.url"] == "redis://localhost:6379/0"
    assert loaded.origin("queue.url") == "CRASHPROC_QUEUE"
    assert loaded["queue.lease"] == 7.0
    assert loaded.origin("queue.lease") == f"{path}:5"
    assert loaded["daemon.workers"] == 2
    assert loaded.origin("daemon.workers") == "--workers"
    assert loaded["queue.max_attempts"] == 3
    assert loaded.values["queue.max_attempts"].source == "default"


def test_the_file_is_found_by_flag_then_variable_then_working_directory(tmp_path):
    here = write(tmp_path / "crashproc.toml", '[storage]\nurl = "/here"\n')
    other = write(tmp_path / "other.toml", '[storage]\nurl = "/other"\n')
    assert config.find_config_file(None, {}, cwd=tmp_path) == here
    assert config.find_config_file(None, {"CRASHPROC_CONFIG": str(other)}, tmp_path) == other
    assert config.find_config_file(other, {"CRASHPROC_CONFIG": str(here)}, tmp_path) == other
    assert config.find_config_file(None, {}, cwd=tmp_path / "nowhere") is None
    assert config.load(environ={}, cwd=tmp_path)["storage.url"] == "/here"


def test_relative_paths_in_a_file_are_relative_to_the_file(tmp_path):
    (tmp_path / "etc").mkdir()
    path = write(
        tmp_path / "etc" / "crashproc.toml",
        '[storage]\nurl = "crashes"\n[queue]\nurl = "sqlite:queue.sqlite"\n'
        '[symbols]\npaths = ["syms", "/abs/syms"]\ncache = "~/cache"\n',
    )
    loaded = config.load(config_file=path, environ={})
    base = (tmp_path / "etc").resolve()
    assert loaded["storage.url"] == str(base / "crashes")
    assert loaded["queue.url"] == f"sqlite:{base / 'queue.sqlite'}"
    assert loaded["symbols.paths"] == [str(base / "syms"), "/abs/syms"]
    assert loaded["symbols.cache"] == "~/cache"
    # The same relative values from the environment stay relative to the working directory.
    env = config.load(environ={"CRASHPROC_STORAGE": "crashes"}, cwd=tmp_path / "none")
    assert env["storage.url"] == "crashes"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '[storage]\nurl = "/x"\n\n[symbols]\npathz = ["a"]\n',
            ":5: unknown setting 'symbols.pathz' (did you mean 'symbols.paths'?)",
        ),
        (
            '[storage]\nurl = "/x"\n[queues]\nurl = "sqlite:q"\n',
            ":3: unknown section [queues] (did you mean 'queue'?)",
        ),
        ('[queue]\n# comment\nlease = "soon"\n', ":3: queue.lease must be a number, not 'soon'"),
        ("[queue]\nlease = 0\n", ":2: queue.lease must be greater than 0, not 0"),
        ("[daemon]\nworkers = 2.5\n", ":2: daemon.workers must be an integer, not 2.5"),
        (
            '[stackwalker]\nmode = "fast"\n',
            ":2: stackwalker.mode must be one of auto, builtin, external, none",
        ),
        (
            '[symbols]\nurls = ["notaurl"]\n',
            ":2: symbols.urls must be a list of URLs, each an http:// or https:// URL, not 'notaurl'",
        ),
        ('[storage]\nurl = "ftp://host/x"\n', ":2: storage.url: unsupported URL scheme 'ftp'"),
        ("storage = 1\n", ":1: 'storage' is not a setting: settings live in sections"),
        ("[storage\nurl = 1\n", ": not valid TOML"),
    ],
)
def test_file_errors_name_the_key_and_the_line(tmp_path, text, message):
    path = write(tmp_path / "crashproc.toml", text)
    with pytest.raises(ConfigError) as raised:
        config.load(config_file=path, environ={})
    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_a_missing_file_given_explicitly_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(config_file=tmp_path / "absent.toml", environ={})


def test_secrets_are_never_echoed(tmp_path):
    path = write(tmp_path / "crashproc.toml", "[sentry]\ndsn = 12345\n")
    with pytest.raises(ConfigError) as raised:
        config.load(config_file=path, environ={})
    assert "sentry.dsn must be a string" in str(raised.value)
    assert "12345" not in str(raised.value)
    decl = config.setting("sentry.dsn")
    assert config.format_value(decl, "https://key@sentry.example.com/1") == "********"


def test_environment_lists_and_numbers():
    loaded = config.load(
        environ={
            "CRASHPROC_SYMBOLS_URL": "https://a.example.com/, https://b.example.com/",
            "CRASHPROC_QUEUE_RETRY_DELAY": "0",
        },
        cwd=Path("/nonexistent"),
    )
    assert loaded["symbols.urls"] == ["https://a.example.com/", "https://b.example.com/"]
    assert loaded["queue.retry_delay"] == 0.0


def test_paths_that_must_exist_are_problems_not_load_errors(tmp_path):
    loaded = config.load(
        environ={"CRASHPROC_SYMBOLS_PATH": f"{tmp_path},{tmp_path / 'missing'}"},
        cwd=tmp_path,
    )
    assert loaded.problems == [
        (
            "symbols.paths",
            f"CRASHPROC_SYMBOLS_PATH: symbols.paths: {tmp_path / 'missing'} does not exist",
        )
    ]
    with pytest.raises(ConfigError, match="does not exist"):
        loaded.check(["symbols.paths"])
    loaded.check(["storage.url"])  # other settings are fine


def test_key_lines_know_tables_dotted_keys_and_multiline_strings():
    text = (
        "# top\n"
        "[symbols]\n"
        'paths = ["a",\n'
        '  "b"]\n'
        'cache = """\n'
        "x = 1\n"
        '"""\n'
        "[ queue ]\n"
        "lease = 3  # seconds\n"
        "daemon.workers = 2\n"
    )
    lines = config.key_lines(text)
    assert lines["symbols"] == 2
    assert lines["symbols.paths"] == 3
    assert lines["symbols.cache"] == 5
    assert "symbols.x" not in lines
    assert lines["queue.lease"] == 9
    assert lines["queue.daemon.workers"] == 10
