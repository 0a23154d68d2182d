"""``crashproc collector``: receive crash reports over HTTP (``POST /submit``).

Runs uvicorn worker processes (webstack.serve); each rebuilds the settings from the same
configuration file and flags, which cross into it as one environment variable.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from processor.cli.common import (
    EXIT_USAGE,
    add_queue_argument,
    add_setting_argument,
    add_storage_argument,
    error,
    given_flags,
    settings_from_args,
)
from processor.config import ConfigError
from processor.queues import QueueError
from processor.storage import StorageError


def split_bind(bind: str, key: str = "collector.bind") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as (host, port); ConfigError naming the
    setting ``key`` when malformed."""
    host, colon, port = bind.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{key}: expected HOST:PORT, got {bind!r}")
    return host, int(port)


def cmd_collector(args: argparse.Namespace, out: TextIO) -> int:
    from processor.collector.app import build_collector
    from processor.service.wiring import worker_settings_env
    from webstack.serve import run

    try:
        settings = settings_from_args(args)
        host, port = split_bind(settings.collector_bind)
        build_collector(settings).storage.close()  # storage and rules checked before serving
    except (ConfigError, StorageError, QueueError) as exc:
        error(str(exc))
        return EXIT_USAGE
    print(f"crashproc collector: http://{host}:{port}/submit", file=out, flush=True)
    return run(
        "processor.collector.app:app_from_env",
        host=host,
        port=port,
        workers=settings.collector_workers,
        env=worker_settings_env(getattr(args, "config", None), given_flags(args)),
    )


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "collector", help="receive crash reports over HTTP (POST /submit) and queue them"
    )
    add_setting_argument(parser, "collector_bind", metavar="HOST:PORT")
    add_setting_argument(parser, "collector_workers")
    add_storage_argument(parser)
    add_queue_argument(parser)
    parser.set_defaults(func=cmd_collector)
