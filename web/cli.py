"""The `ksdpl` console script: the engine's commands plus `serve`, `user` and `demo`.

The engine owns the command group (deploy, start, worker, region, ...); this module adds what
needs the web layer and the accounts, each imported by the command that uses it (argon2, Flask).
Errors go to stderr as one line with a non-zero exit, never a traceback (the engine's group
turns `EngineError` into that).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

import click

from engine.cli import Context, listing_text, paged, pass_context
from engine.cli import cli as engine_cli
from engine.errors import EngineError
from engine.preferences import NOTIFY_MODES

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _prompt_password() -> str:
    return click.prompt("Kata sandi", hide_input=True, confirmation_prompt="Ulangi kata sandi")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--with-worker", is_flag=True, help="Also run due jobs and timers in this process.")
@click.option(
    "--worker-interval", default=30.0, show_default=True, type=float, help="Seconds between worker polls."
)
@click.option(
    "--dev",
    is_flag=True,
    help="Development mode (also KSDPL_DEV=1): a local secret key when KSDPL_SECRET_KEY is not set.",
)
def serve(host: str, port: int, with_worker: bool, worker_interval: float, dev: bool) -> None:
    """Serve the staff web app (for production use gunicorn 'web.wsgi:app')."""
    from werkzeug.serving import run_simple

    from . import MissingSecretKey, create_app

    try:
        app = create_app({"KSDPL_DEV": True} if dev else None)
    except MissingSecretKey as err:
        raise EngineError(str(err)) from None
    scheduler = None
    if with_worker:
        from engine.worker import Worker

        scheduler = Worker(app.extensions["ksdpl"], interval=worker_interval).start_background()
        click.echo(f"worker running every {worker_interval:g}s", err=True)
    if app.config["SESSION_COOKIE_SECURE"] and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            "note: session cookies are Secure: serve over HTTPS, "
            "or set KSDPL_SECURE_COOKIES=0 on a trusted network",
            err=True,
        )
    click.echo(f"KSDPL web app on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@click.group()
def user() -> None:
    """Staff accounts; regional groups (pemda, kepala_daerah, dprd) need --region."""


@user.command("add")
@click.argument("username")
@click.option("--name", required=True, help="Full name shown on screens.")
@click.option("--group", "groups", multiple=True, required=True, help="Repeat for several groups.")
@click.option("--region", "region_code", default=None, help="Region code (required for regional groups).")
@click.option("--password", default=None, help="Prompted (hidden) when not given.")
@click.option("--email", default=None, help="Address notifications are mailed to.")
@json_option
@pass_context
def user_add(
    ctx: Context,
    username: str,
    name: str,
    groups: tuple[str, ...],
    region_code: str | None,
    password: str | None,
    email: str | None,
    as_json: bool,
) -> None:
    """Add an account."""
    from .accounts import AccountError, create_user

    password = password if password is not None else _prompt_password()
    with ctx.orchestrator.uow() as uow:
        try:
            account = create_user(
                uow.session,
                username,
                name,
                list(groups),
                password,
                region_code,
                ctx.orchestrator.registry.access,
                email,
            )
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()
        data = {
            "username": account.username,
            "groups": account.groups.split(","),
            "region": account.region_code,
            "email": account.email,
        }
    click.echo(json.dumps(data) if as_json else f"user {data['username']} added")


@user.command("passwd")
@click.argument("username")
@click.option("--password", default=None, help="Prompted (hidden) when not given.")
@pass_context
def user_passwd(ctx: Context, username: str, password: str | None) -> None:
    """Set a new password; the user's open sessions end."""
    from .accounts import AccountError, set_password

    password = password if password is not None else _prompt_password()
    with ctx.orchestrator.uow() as uow:
        try:
            set_password(uow.session, username, password)
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()
    click.echo(f"password of {username.strip().lower()} changed")


def _account_change(ctx: Context, change, username: str, *args) -> None:
    from .accounts import AccountError

    with ctx.orchestrator.uow() as uow:
        try:
            change(uow.session, username, *args)
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()


@user.command("disable")
@click.argument("username")
@pass_context
def user_disable(ctx: Context, username: str) -> None:
    """Disable an account: it cannot log in and its open sessions end at once."""
    from .accounts import set_active

    _account_change(ctx, set_active, username, False)
    click.echo(f"user {username.strip().lower()} disabled")


@user.command("enable")
@click.argument("username")
@pass_context
def user_enable(ctx: Context, username: str) -> None:
    """Enable a disabled account again."""
    from .accounts import set_active

    _account_change(ctx, set_active, username, True)
    click.echo(f"user {username.strip().lower()} enabled")


@user.command("unlock")
@click.argument("username")
@pass_context
def user_unlock(ctx: Context, username: str) -> None:
    """Lift the lock that many wrong passwords put on an account (an admin's act)."""
    from .throttle import unlock

    _account_change(ctx, lambda s, name: unlock(s, name), username)
    click.echo(f"user {username.strip().lower()} unlocked")


@user.command("set-email")
@click.argument("username")
@click.argument("email")
@pass_context
def user_set_email(ctx: Context, username: str, email: str) -> None:
    """Set the address notifications are mailed to ("" removes it)."""
    from .accounts import AccountError, set_email

    with ctx.orchestrator.uow() as uow:
        try:
            set_email(uow.session, username, email)
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()
    click.echo(f"e-mail of {username.strip().lower()}: {email.strip().lower() or '-'}")


@user.command("notify")
@click.argument("username")
@click.argument("mode", type=click.Choice(sorted(NOTIFY_MODES)))
@pass_context
def user_notify(ctx: Context, username: str, mode: str) -> None:
    """E-mail for each notification, a daily digest, or none (the app shows them all anyway)."""
    from .accounts import AccountError, set_notify_mode

    with ctx.orchestrator.uow() as uow:
        try:
            set_notify_mode(uow.session, username, mode)
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()
    click.echo(f"notifications of {username.strip().lower()}: {mode}")


@user.command("list")
@click.option("--search", "text", default="", help="Part of the username or name.")
@click.option("--region", "region_code", default=None, help="Only the accounts of this region.")
@paged
@json_option
@pass_context
def user_list(
    ctx: Context, text: str, region_code: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """List accounts in username order, a page at a time (never their password hashes)."""
    from engine.views import Listing

    from .accounts import list_users

    with ctx.session() as session:
        users, total = list_users(session, text, region_code, limit, offset)
    rows = [
        {
            "username": u.username,
            "name": u.name,
            "groups": list(u.groups),
            "region": u.region_code,
            "active": u.active,
            "email": u.email,
            "notify": u.notify_mode,
        }
        for u in users
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return

    def line(r: dict) -> str:
        state = "" if r["active"] else "  (nonaktif)"
        return (
            f"{r['username']:<20} {','.join(r['groups']):<24} {r['region'] or '-':<8} "
            f"{r['email'] or '-':<32} {r['notify']:<6} {r['name']}{state}"
        )

    click.echo(listing_text(Listing(rows, total, limit, offset), line, "no users"))


@click.group()
def token() -> None:
    """Bearer tokens for the JSON API (/api/v1): each acts as its user."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for, e.g. the system that uses it.")
@json_option
@pass_context
def token_create(ctx: Context, username: str, name: str, as_json: bool) -> None:
    """Create a token and print it (it is shown only this once; only its hash is kept)."""
    from .accounts import AccountError
    from .tokens import create_token

    with ctx.orchestrator.uow() as uow:
        try:
            value = create_token(uow.session, username, name, created_by=os.environ.get("USER"))
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()
    click.echo(json.dumps({"username": username.strip().lower(), "token": value}) if as_json else value)


@token.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--user", "username", default=None, help="Revoke every token of this user.")
@pass_context
def token_revoke(ctx: Context, token_id: int | None, username: str | None) -> None:
    """Revoke one token (its id from `token list`) or all tokens of a user (--user)."""
    from .accounts import AccountError
    from .tokens import revoke

    if (token_id is None) == (username is None):
        raise click.UsageError("give a TOKEN_ID or --user USERNAME")
    with ctx.orchestrator.uow() as uow:
        try:
            count = revoke(uow.session, token_id=token_id, username=username)
        except AccountError as err:
            raise EngineError(str(err)) from None
        uow.commit()
    click.echo(f"{count} token(s) revoked")


@token.command("list")
@click.option("--user", "username", default=None)
@json_option
@pass_context
def token_list(ctx: Context, username: str | None, as_json: bool) -> None:
    """Tokens with their owner, prefix and state (never the tokens themselves)."""
    from .tokens import list_tokens

    with ctx.orchestrator.session() as session:
        rows = list_tokens(session, username)
    if as_json:
        data = [
            {
                "id": t.id,
                "username": t.username,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in rows
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no tokens")
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
        click.echo(f"{t.id:>5}  {t.username:<20} {t.prefix}…  {t.created_at:%Y-%m-%d}  {state}  {t.name}")


@click.command()
@click.option("--no-cases", is_flag=True, help="Only processes, regions and users.")
@click.option("--force", is_flag=True, help="Add the demo accounts even to a database with real accounts.")
@json_option
@pass_context
def demo(ctx: Context, no_cases: bool, force: bool, as_json: bool) -> None:
    """Demo data: deploy the KSDPL process, three regions, one user per group, sample cases.

    Refuses a database that already has accounts other than the demo ones (a real deployment
    would gain well-known passwords) unless --force."""
    from .demo import load_demo

    report = load_demo(ctx.settings.database_url, ctx.orchestrator, with_cases=not no_cases, force=force)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in report["log"]:
        click.echo(line)
    click.echo("\nDemo users (log in at http://127.0.0.1:8000/ after `ksdpl serve --with-worker`):")
    for row in report["users"]:
        click.echo(
            f"  {row['username']:<18} {row['password']:<24} {row['groups']:<14} {row['region'] or '-'}"
        )


def build_cli() -> click.Group:
    """The engine's group with the web commands added (once, however often this is called)."""
    for command in (serve, user, token, demo):
        if command.name not in engine_cli.commands:
            engine_cli.add_command(command)
    return engine_cli


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `ksdpl` console script."""
    build_cli().main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="ksdpl")


if __name__ == "__main__":
    main()
