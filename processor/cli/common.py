"""What the commands share: exit codes, the configuration flags, and how settings are made.

Every command takes ``--config PATH`` and ``-v``; the flags that set a configured value are
declared here once with their setting, so their help shows the real default and where else
the value can be set (the file key and the environment variable).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crashproc import cli
from crashproc import config as configuration
from processor.config import FIELD_KEYS, Settings
from processor.rulesets import bundled_ruleset_names

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Settings field -> its flag, for every flag that sets a configured value.
FLAGS: dict[str, str] = {
    "schema_dir": "--schema-dir",
    "rulesets_dir": "--rulesets",
    "stackwalker": "--stackwalker",
    "stackwalker_command": "--stackwalker-command",
    "symbols_paths": "--symbols-path",
    "symbols_urls": "--symbols-url",
    "symbols_cache": "--symbols-cache",
    "symbols_trusted_hosts": "--symbols-trusted-host",
    "symbols_timeout": "--symbols-timeout",
    "storage": "--storage",
    "queue": "--queue",
    "workers": "--workers",
    "report_index": "--index",
    "collector_bind": "--bind",
    "collector_workers": "--workers",
    "report_owed": "--owed",
    "web_bind": "--bind",
    "web_workers": "--workers",
    "web_tokens": "--tokens",
}


def error(message: str) -> None:
    print(f"crashproc: error: {message}", file=sys.stderr)


def setting_help(name: str, text: str | None = None) -> str:
    """A flag's help for Settings field ``name`` (see crashproc.cli.setting_help)."""
    return cli.setting_help(FIELD_KEYS[name], text)


def add_setting_argument(
    parser: argparse.ArgumentParser, name: str, *, repeatable: bool = False, **options: Any
) -> None:
    """The flag of Settings field ``name`` (dest = the field name; unset when not given)."""
    decl = configuration.setting(FIELD_KEYS[name])
    options.setdefault("help", setting_help(name))
    options.setdefault("metavar", _METAVARS.get(decl.type, "VALUE"))
    if decl.type == "choice":
        options.setdefault("choices", decl.choices)
        options.pop("metavar")
    if decl.type in ("integer",):
        options.setdefault("type", int)
    if decl.type in ("number",):
        options.setdefault("type", float)
    if repeatable:
        options.setdefault("action", "append")
    parser.add_argument(FLAGS[name], dest=name, **options)


_METAVARS = {
    "path": "DIR",
    "paths": "DIR",
    "url": "URL",
    "urls": "URL",
    "location": "URL",
    "integer": "N",
    "number": "SECONDS",
    "strings": "HOST",
}


def add_common_arguments(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """``--config`` and ``-v``, accepted before and after the subcommand (a subcommand's copy
    leaves the value alone unless given there)."""
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $CRASHPROC_CONFIG, else ./crashproc.toml if present)",
        **({"default": None} if top else default),
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="more log output (-vv: debug)",
        **({"default": 0} if top else default),
    )


def add_storage_argument(parser: argparse.ArgumentParser) -> None:
    add_setting_argument(parser, "storage")


def add_queue_argument(parser: argparse.ArgumentParser, **kwargs: Any) -> None:
    add_setting_argument(parser, "queue", **kwargs)


def add_ruleset_argument(parser: argparse.ArgumentParser) -> None:
    """``--ruleset NAME``: a bundled ruleset or one of the configured directory's."""
    parser.add_argument(
        "--ruleset",
        default="default",
        help=f"ruleset to run ({', '.join(bundled_ruleset_names())}, or one of the configured "
        "processor.rulesets directory; default: default)",
    )


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that shape the pipeline (schemas, stackwalker, symbols): every command that
    processes crashes takes them."""
    add_setting_argument(parser, "schema_dir")
    add_setting_argument(parser, "stackwalker")
    add_setting_argument(parser, "stackwalker_command", metavar="COMMAND")
    add_setting_argument(
        parser,
        "symbols_paths",
        repeatable=True,
        help=setting_help("symbols_paths", "symbol store (repeatable)"),
    )
    add_setting_argument(
        parser,
        "symbols_urls",
        repeatable=True,
        help=setting_help("symbols_urls", "symbols server (repeatable)"),
    )
    add_setting_argument(parser, "symbols_cache")
    add_setting_argument(
        parser,
        "symbols_trusted_hosts",
        repeatable=True,
        help=setting_help(
            "symbols_trusted_hosts",
            "host a symbols server may redirect code-info lookups to (repeatable)",
        ),
    )
    add_setting_argument(parser, "symbols_timeout")


def given_flags(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """The configuration flags given on this command line: {field: (value, flag)}."""
    given = {}
    for name, flag in FLAGS.items():
        value = getattr(args, name, None)
        if value is None or value == "" or value == []:
            continue
        given[name] = (value, flag)
    return given


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags > environment > configuration file > defaults."""
    return Settings.load(config_file=getattr(args, "config", None), flags=given_flags(args))
