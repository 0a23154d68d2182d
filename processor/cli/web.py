"""``crashproc web``: the crash browser; ``crashproc tokens``: its API tokens.

The web command runs uvicorn worker processes (webstack.serve) as the collector does; each
rebuilds the settings from the same configuration file and flags, passed as one environment
variable. Tokens are printed once, when made; only their SHA-256 is kept.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from processor.cli.collector import split_bind
from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_setting_argument,
    add_storage_argument,
    error,
    given_flags,
    settings_from_args,
)
from processor.config import ConfigError
from processor.storage import StorageError


def cmd_web(args: argparse.Namespace, out: TextIO) -> int:
    from processor.service.wiring import worker_settings_env
    from processor.web.app import build_browser
    from webstack.serve import run

    try:
        settings = settings_from_args(args)
        host, port = split_bind(settings.web_bind, "web.bind")
        build_browser(settings).storage.close()  # storage checked before serving
    except (ConfigError, StorageError) as exc:
        error(str(exc))
        return EXIT_USAGE
    print(f"crashproc web: http://{host}:{port}/", file=out, flush=True)
    return run(
        "processor.web.app:app_from_env",
        host=host,
        port=port,
        workers=settings.web_workers,
        env=worker_settings_env(getattr(args, "config", None), given_flags(args)),
    )


def cmd_tokens(args: argparse.Namespace, out: TextIO) -> int:
    from processor.web.tokens import TokenError, TokenStore, tokens_path

    store = TokenStore(tokens_path(settings_from_args(args)))
    if args.action == "add":
        try:
            token = store.add(args.name, args.permission)
        except TokenError as exc:
            error(str(exc))
            return EXIT_USAGE
        print(token, file=out)
        return EXIT_OK
    if args.action == "revoke":
        if store.revoke(args.name):
            return EXIT_OK
        error(f"no token named {args.name!r}")
        return EXIT_FAILED
    for info in store.list():
        print(f"{info.name}\t{','.join(info.permissions)}\t{info.created}", file=out)
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction) -> None:
    from processor.web.tokens import PERMISSIONS

    parser = commands.add_parser(
        "web", help="the crash browser: top crashers, signatures, crash reports and the API"
    )
    add_setting_argument(parser, "web_bind", metavar="HOST:PORT")
    add_setting_argument(parser, "web_workers")
    add_setting_argument(parser, "web_tokens", metavar="PATH")
    add_setting_argument(parser, "report_index", metavar="PATH")
    add_storage_argument(parser)
    parser.set_defaults(func=cmd_web)

    tokens = commands.add_parser("tokens", help="API tokens of the crash browser")
    actions = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="make a token (printed once; only its hash is kept)")
    add.add_argument("name", help="who or what the token is for")
    add.add_argument(
        "--permission",
        action="append",
        required=True,
        choices=PERMISSIONS,
        help="what the token may do (repeatable)",
    )
    revoke = actions.add_parser("revoke", help="delete a token")
    revoke.add_argument("name", help="the token to delete")
    actions.add_parser("list", help="token names, permissions and creation times (not tokens)")
    for sub in actions.choices.values():
        add_setting_argument(sub, "web_tokens", metavar="PATH")
        add_setting_argument(sub, "report_index", metavar="PATH")
        add_storage_argument(sub)
        sub.set_defaults(func=cmd_tokens)
