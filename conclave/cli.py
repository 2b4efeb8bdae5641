"""The ``conclave`` command: a short main that parses arguments and wires things."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from conclave.config import ConfigError, Settings, load_settings, warnings_for
from conclave.errors import ConclaveError

EXIT_INVALID_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    # The common options are accepted before or after the command; SUPPRESS keeps a
    # subcommand from resetting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="configuration file")
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory (default ./conclave-data)",
    )
    parser = argparse.ArgumentParser(prog="conclave", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="start the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", parents=[common], help="validate the configuration")
    check.set_defaults(run=_check)

    purge = commands.add_parser(
        "purge", parents=[common], help="delete what is past its retention period now"
    )
    purge.set_defaults(run=_purge)

    compliance = commands.add_parser(
        "compliance", parents=[common], help="check the installation against the GDPR requirements"
    )
    _compliance_arguments(compliance)
    compliance.set_defaults(run=_compliance)

    user = commands.add_parser("user", parents=[common], help="manage accounts")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[common], help="create an account")
    add.add_argument("username")
    add.add_argument("--admin", action="store_true")
    add.add_argument(
        "--display-name",
        default=None,
        help="the name others see (asked for at a terminal; default: the user name)",
    )
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(run=_user_add)
    listing = actions.add_parser("list", parents=[common], help="list accounts")
    listing.set_defaults(run=_user_list)
    remove = actions.add_parser(
        "remove", parents=[common], help="delete an account and everything linked to it"
    )
    remove.add_argument("username")
    remove.set_defaults(run=_user_remove)
    export = actions.add_parser(
        "export", parents=[common], help="print all data held about an account (JSON)"
    )
    export.add_argument("username")
    export.set_defaults(run=_user_export)
    password = actions.add_parser("set-password", parents=[common], help="set a password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(run=_user_set_password)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env_config = os.environ.get("CONCLAVE_CONFIG")
    config = getattr(args, "config", None) or (Path(env_config) if env_config else None)
    overrides: dict[str, object] = {"data_dir": getattr(args, "data_dir", None)}
    server = {
        key: getattr(args, key) for key in ("host", "port") if getattr(args, key, None) is not None
    }
    if server:
        overrides["server"] = server
    try:
        settings = _load(config, overrides)
    except ConfigError as error:
        print("The configuration is invalid:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    run: Callable[[Settings, argparse.Namespace], int] = args.run
    try:
        return run(settings, args)
    except ConclaveError as error:
        print(f"conclave: {error.text}", file=sys.stderr)
        return 1


def _load(config: Path | None, overrides: dict[str, object]) -> Settings:
    settings = load_settings(config, **{k: v for k, v in overrides.items() if k != "server"})
    server = overrides.get("server")
    if isinstance(server, dict) and server:
        merged = settings.server.model_dump() | server
        settings = load_settings(config, data_dir=settings.data_dir, server=merged)
    return settings


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    # Importing the server makes some 100,000 objects that live as long as it does; the
    # collector's passes over them while they are made cost about 0.1 s of the start
    # (issue 2). serve() collects once and freezes them before it serves.
    gc.disable()
    try:
        from conclave.server import serve
    finally:
        gc.enable()

    serve(settings)
    return 0


def _check(settings: Settings, _args: argparse.Namespace) -> int:
    for note in warnings_for(settings):
        print(f"warning: {note}")
    print("The configuration is valid.")
    return 0


def _compliance_arguments(parser: argparse.ArgumentParser) -> None:
    from conclave.compliance.options import add_arguments

    add_arguments(parser)


def _compliance(settings: Settings, args: argparse.Namespace) -> int:
    from conclave.compliance.command import run

    return run(settings, args)


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from conclave.services import build_services

    return build_services(settings)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("Password: ")
        repeated = getpass.getpass("Repeat password: ")
    except (EOFError, KeyboardInterrupt):  # Ctrl-D, Ctrl-C, or a pipe without --password-stdin
        raise SystemExit(
            "conclave: no password given (to pipe one in, use --password-stdin)"
        ) from None
    if first != repeated:
        raise SystemExit("conclave: the passwords differ")
    return first


def _display_name(given: str | None, username: str) -> str:
    """``--display-name``; else, at a terminal, asked for (Enter keeps the user name);
    else the user name (``create_user`` uses it for an empty one)."""
    if given is not None:
        return given
    if not sys.stdin.isatty():
        return ""
    try:
        return input(f"Display name [{username.strip().lower()}]: ").strip()
    except (EOFError, KeyboardInterrupt):
        raise SystemExit("conclave: no display name given") from None


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    display_name = _display_name(args.display_name, args.username)
    password = _read_password(args.password_stdin)
    role = "admin" if args.admin else "member"
    services = _services(settings)
    user = services.accounts.create_user(args.username, display_name, password, role)
    services.audit.record(
        "user_created", actor_id=None, client=None, subject_id=user.id, details={"via": "cli"}
    )
    print(f"created {user.role} {user.username}")
    return 0


def _user_list(settings: Settings, _args: argparse.Namespace) -> int:
    for user in _services(settings).accounts.list_users():
        state = "disabled" if user.disabled else "active"
        print(f"{user.username}\t{user.role}\t{state}\t{user.display_name}")
    return 0


def _user_remove(settings: Settings, args: argparse.Namespace) -> int:
    services = _services(settings)
    user = services.accounts.by_username(args.username)
    erased = services.data_rights.delete(None, user.id, None, "cli")
    print(
        f"removed {user.username}: {erased.meetings} meeting(s), {erased.invitations} "
        f"invitation(s), {erased.sessions} session(s) deleted; "
        f"{erased.audit_entries_anonymised} audit entr(ies) anonymised"
    )
    return 0


def _user_export(settings: Settings, args: argparse.Namespace) -> int:
    services = _services(settings)
    user = services.accounts.by_username(args.username)
    body = services.data_rights.export_json(user.id, actor_id=None, client=None, via="cli")
    sys.stdout.write(body.decode() + "\n")
    return 0


def _purge(settings: Settings, _args: argparse.Namespace) -> int:
    report = _services(settings).retention.purge()
    for kind, count in dataclasses.asdict(report.counts).items():
        print(f"{kind.replace('_', ' ')}: {count}")
    if report.reclaimed is not None:
        print(f"database pages freed: {report.reclaimed.pages_freed}")
    if report.more:
        print("more data is past its retention: run `conclave purge` again")
    return 0


def _user_set_password(settings: Settings, args: argparse.Namespace) -> int:
    services = _services(settings)
    user = services.accounts.by_username(args.username)
    services.accounts.set_password(user.id, _read_password(args.password_stdin))
    services.audit.record(
        "password_set", actor_id=None, client=None, subject_id=user.id, details={"via": "cli"}
    )
    print(f"password set for {user.username}; all sessions ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
