"""The engine's commands. Scriptable: `--json` everywhere, errors on stderr, no tracebacks.

The handler registry comes from the module `KSDPL_HANDLERS` names (see `engine.config`), so the
engine stays free of any one process's code. Only click and light modules are imported here:
each command imports what it needs (the workflow engine, the database), so `--help` and the
listing commands start fast.
"""

from __future__ import annotations

import csv
import getpass
import json
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from .calendar import TIMEZONES, zone_label
from .config import Settings
from .errors import DeploymentRejected, EngineError, NotFound, Unavailable, ValidationFailed
from .ids import MAX_ID
from .text import single_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session, sessionmaker

    from .access import Actor
    from .imports import ImportReport, RowResult
    from .service import NewDocument, Orchestrator
    from .views import Listing

DEFAULT_LIMIT = 50  # rows per page of `instances` and `tasks`

ROW_ID = click.IntRange(1, MAX_ID)  # an id past the columns' range names no row: a usage error, not a crash
EX_TEMPFAIL = 75  # sysexits.h: a temporary failure (the database is unavailable); try again later


class Context:
    """Settings and the orchestrator, built once per command."""

    def __init__(self) -> None:
        self.settings = Settings.from_env()

    @cached_property
    def orchestrator(self) -> Orchestrator:
        from .service import Orchestrator

        return Orchestrator.from_settings(self.settings)

    @cached_property
    def _read_engine(self) -> Engine:
        from .store import make_engine

        return make_engine(self.settings.database_url)

    @cached_property
    def _read_sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self._read_engine, expire_on_commit=False)

    def connection(self) -> AbstractContextManager[Connection]:
        """A Core connection for the quickest reads (`engine.tables`): not even the ORM."""
        return self._read_engine.connect()

    def session(self) -> AbstractContextManager[Session]:
        """A read session for listing commands: the database only, not the workflow engine and
        the handlers the orchestrator loads."""
        from .store import read_session

        if "orchestrator" in self.__dict__:
            return self.orchestrator.session()
        return read_session(self._read_sessions)

    def who(self, user: str | None) -> tuple[Actor | None, str]:
        """`--user NAME` acts as that existing, enabled account, checked like the web; without it
        the command acts as the system account, recorded as such with the OS user behind it."""
        if user is None:
            return None, system_name()
        actor = self.orchestrator.account(user)
        return actor, actor.username


def system_name() -> str:
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = str(os.getuid())
    return f"sistem (CLI, {os_user})"[:100]


user_option = click.option(
    "--user",
    default=None,
    help="Act as this account (must exist and be enabled; checked like the web). "
    "Without it: the system account, recorded as 'sistem (CLI, <os user>)'.",
)


class FriendlyGroup(click.Group):
    """Turns every refused request into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationFailed as err:
            click.echo(f"error: {err}", err=True)
            for name, message in err.errors.items():
                click.echo(f"  {name}: {message}", err=True)
            sys.exit(1)
        except DeploymentRejected as err:
            click.echo("error: deployment refused", err=True)
            for problem in err.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        except EngineError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
        except Unavailable as err:
            click.echo(f"error: {err} ({err.detail})", err=True)
            sys.exit(EX_TEMPFAIL)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as err:
            if os.environ.get("KSDPL_DEBUG"):
                raise
            click.echo(f"error: {type(err).__name__}: {err}", err=True)
            sys.exit(1)


def emit(as_json: bool, data: Any, text: Callable[[Any], str]) -> None:
    if not as_json:
        click.echo(text(data))
        return
    from .jsonvalues import json_default

    click.echo(json.dumps(data, default=json_default, ensure_ascii=False, indent=2))


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{pair}' is not name=value", param_hint="--var")
        values[name.strip()] = value
    return values


def read_documents(pairs: tuple[str, ...]) -> dict[str, NewDocument]:
    """`--file field=PATH` values as checked documents (kind, first bytes, size), like a web upload."""
    from .documents import DocumentRefused, clean_filename, document_type
    from .service import MAX_DOCUMENT_BYTES, NewDocument

    documents: dict[str, NewDocument] = {}
    errors: dict[str, str] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise click.BadParameter(f"'{pair}' is not field=PATH", param_hint="--file")
        file = Path(path)
        if not file.is_file():
            errors[name] = f"Berkas '{path}' tidak ditemukan"
            continue
        if file.stat().st_size > MAX_DOCUMENT_BYTES:
            errors[name] = "Berkas terlalu besar (maks. 10 MB)"
            continue
        filename = clean_filename(file.name)
        content = file.read_bytes()
        try:
            documents[name] = NewDocument(filename, document_type(filename, content), content)
        except DocumentRefused as refused:
            errors[name] = str(refused)
    if errors:
        raise ValidationFailed(errors, "Berkas ditolak")
    return documents


def split_typed(pairs: tuple[str, ...]) -> tuple[dict[str, str], dict[str, Any]]:
    """`name=value` (a form field, typed by the form) and `name:type=value` (a typed variable)."""
    from .forms import typed_variable

    raw, typed = {}, {}
    for name, value in parse_vars(pairs).items():
        variable, sep, kind = name.partition(":")
        if not sep:
            raw[name] = value
            continue
        try:
            typed[variable.strip()] = typed_variable(kind, value)
        except ValueError as err:
            raise click.BadParameter(f"'{name}={value}': {err}", param_hint="--var") from None
    return raw, typed


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group(cls=FriendlyGroup)
def cli() -> None:
    """Process orchestrator: deploy diagrams, run cases, the worker, regions and the calendar."""


@cli.command("init-db")
@json_option
@pass_context
def init_db(ctx: Context, as_json: bool) -> None:
    """Create or upgrade the database schema to the newest migration."""
    from .store import upgrade

    upgrade(ctx.settings.database_url)
    seeded = ctx.orchestrator.seed_lookups()
    listed = ctx.orchestrator.fill_list_columns()
    emit(
        as_json,
        {
            "database": ctx.settings.database_url,
            "status": "ok",
            "seeded": seeded,
            "list_columns_filled": listed,
        },
        lambda d: (
            "database ready"
            + "".join(f"\n{name}: {n} values" for name, n in seeded.items())
            + (f"\nlist columns filled for {listed} cases" if listed else "")
        ),
    )


def _read_files(paths: tuple[str, ...]) -> dict[str, str]:
    files = {}
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise EngineError(f"{path}: no such file")
        try:
            files[p.name] = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise EngineError(f"{path}: not a text file") from err
    return files


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@user_option
@json_option
@pass_context
def deploy(ctx: Context, paths: tuple[str, ...], user: str | None, as_json: bool) -> None:
    """Deploy .bpmn/.dmn files: a new version if they changed, nothing otherwise."""
    _actor, name = ctx.who(user)
    files = _read_files(paths)
    results = ctx.orchestrator.deploy(files, user=name)
    for warning in ctx.orchestrator.warnings(files):
        click.echo(f"warning: {warning}", err=True)
    emit(
        as_json,
        [r.__dict__ for r in results],
        lambda rs: "\n".join(
            f"{'deployed' if r['changed'] else 'unchanged'} {r['key']} version {r['version']}" for r in rs
        ),
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@json_option
@pass_context
def check(ctx: Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Run the deploy-time checks only."""
    files = _read_files(paths)
    problems = ctx.orchestrator.check(files)
    warnings = ctx.orchestrator.warnings(files)
    emit(
        as_json,
        {"problems": problems, "warnings": warnings},
        lambda d: (
            "\n".join([*problems, *(f"warning: {w}" for w in warnings)]) if problems or warnings else "ok"
        ),
    )
    if problems:
        sys.exit(1)


@cli.command()
@click.argument("key")
@click.option("--region", required=True, help="Region code of the case.")
@click.option("--var", "variables", multiple=True, help="name=value, typed by the start form.")
@click.option("--file", "files", multiple=True, help="field=PATH for a file field of the start form.")
@click.option("--business-key", default=None)
@user_option
@json_option
@pass_context
def start(
    ctx: Context,
    key: str,
    region: str,
    variables: tuple[str, ...],
    files: tuple[str, ...],
    business_key: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    """Start a case; prints its id."""
    actor, name = ctx.who(user)
    instance_id = ctx.orchestrator.start(
        key,
        region,
        parse_vars(variables),
        actor=actor,
        business_key=business_key,
        user=name,
        documents=read_documents(files),
    )
    emit(as_json, {"id": instance_id}, lambda d: str(d["id"]))


page_options = (
    click.option("--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, 1000)),
    click.option("--offset", default=0, show_default=True, type=click.IntRange(0), help="Rows to skip."),
)


def paged(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(page_options):
        command = option(command)
    return command


def listing_text(listing: Listing, line: Callable[[dict[str, Any]], str], empty: str) -> str:
    """The rows, then where this page stands in the whole list when it is not all of it."""
    lines = [line(row) for row in listing.rows] or [empty]
    if listing.total > len(listing.rows):
        first = listing.offset + 1 if listing.rows else listing.offset
        lines.append(f"({first}-{listing.offset + len(listing.rows)} of {listing.total}; --offset for more)")
    return "\n".join(lines)


@cli.command()
@click.option("--status", type=click.Choice(["running", "completed", "cancelled"]), default=None)
@paged
@json_option
@pass_context
def instances(ctx: Context, status: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List cases, newest first, a page at a time."""
    from .views import list_instances

    with ctx.session() as s:
        listing = list_instances(s, status=status, limit=limit, offset=offset)
    emit(
        as_json,
        listing.rows,
        lambda _: listing_text(
            listing,
            lambda r: (
                f"{r['id']:>6}  {r['status']:<9} stage {r['stage'] or '-':>2}  "
                f"{r['region'] or '-':<8} {r['title']}"
            ),
            "no cases",
        ),
    )


def _show_text(d: dict[str, Any]) -> str:
    from .jsonvalues import json_default

    lines = [
        f"case {d['id']}: {d['title']}",
        f"  process {d['process']} version {d['version']}, region {d['region']}",
        f"  status {d['status']}, stage {d['stage']} ({d['stage_name']})",
        "  variables:",
    ]
    lines += [
        f"    {k} = {json.dumps(v, default=json_default, ensure_ascii=False)}"
        for k, v in d["variables"].items()
    ]
    lines.append("  open tasks:")
    for t in d["tasks"]:
        lines.append(
            f"    {t['id']}  {t['name']} [{', '.join(t['candidate_groups'])}] due {t['due_at'] or '-'}"
        )
        for f in t["form"]:
            constraints = ", ".join(f"{k}={v}" if v else k for k, v in f["constraints"].items())
            options = "|".join(o["id"] for o in f["options"])
            lines.append(f"      - {f['id']} ({f['type']}{': ' + options if options else ''}) {constraints}")
    lines.append("  timers:")
    lines += [f"    {t['name']} due {t['due_at']}" for t in d["timers"]]
    lines.append("  jobs:")
    lines += [
        f"    {j['topic']} {j['status']} attempts {j['attempts']}/{j['max_attempts']}" for j in d["jobs"]
    ]
    lines.append("  incidents:")
    lines += [
        f"    #{i['id']} {i['message']}{' (resolved)' if i['resolved_at'] else ''}" for i in d["incidents"]
    ]
    return "\n".join(lines)


@cli.command()
@click.argument("instance_id", type=ROW_ID)
@json_option
@pass_context
def show(ctx: Context, instance_id: int, as_json: bool) -> None:
    """A case: status, stage, variables, open tasks with their forms, timers, jobs, incidents."""
    from .views import instance_detail

    with ctx.session() as s:
        detail = instance_detail(s, instance_id)
    if detail is None:
        raise EngineError(f"case {instance_id} not found")
    emit(as_json, detail, _show_text)


@cli.command()
@click.option("--instance", "instance_id", type=ROW_ID, default=None)
@click.option("--group", default=None)
@paged
@json_option
@pass_context
def tasks(
    ctx: Context, instance_id: int | None, group: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """Ready user tasks by due date, a page at a time (a task's form: `show` its case)."""
    from .views import list_tasks

    with ctx.session() as s:
        listing = list_tasks(s, instance_id=instance_id, group=group, limit=limit, offset=offset)
    emit(
        as_json,
        listing.rows,
        lambda _: listing_text(
            listing,
            lambda r: (
                f"{r['id']}  case {r['instance_id']:>5}  stage {r['stage'] or '-':>2}  {r['name']} "
                f"[{', '.join(r['candidate_groups'])}] due {r['due_at'] or '-'}"
            ),
            "no tasks",
        ),
    )


@cli.command()
@click.argument("task_id")
@click.option(
    "--var",
    "variables",
    multiple=True,
    help="name=value, typed and checked by the task's form; name:type=value (string, boolean, "
    "long, double, date, json) for a task without a form.",
)
@click.option("--file", "files", multiple=True, help="field=PATH for a file field (repeatable).")
@user_option
@json_option
@pass_context
def complete(
    ctx: Context,
    task_id: str,
    variables: tuple[str, ...],
    files: tuple[str, ...],
    user: str | None,
    as_json: bool,
) -> None:
    """Complete a user task with its form values and files; prints the tasks that are ready next."""
    actor, name = ctx.who(user)
    raw, typed = split_typed(variables)
    result = ctx.orchestrator.complete_task(
        task_id,
        raw,
        actor=actor,
        user=name,
        documents=read_documents(files),
        strict=True,
        variables=typed,
    )
    data = {
        "instance_id": result.instance_id,
        "status": result.status,
        "stage": result.stage,
        "stage_name": result.stage_name,
        "next_tasks": [t.__dict__ for t in result.next_tasks],
        "incident": result.incident,
    }

    def text(d: dict[str, Any]) -> str:
        lines = [f"case {d['instance_id']}: {d['status']}, stage {d['stage']} ({d['stage_name'] or '-'})"]
        if not d["next_tasks"]:
            lines.append("next: no user task (waiting for the system, a deadline, or done)")
        for t in d["next_tasks"]:
            due = t["due_at"].isoformat() if t["due_at"] else "-"
            lines.append(
                f"next: {t['id']}  {t['element']}  {t['name']} [{', '.join(t['candidate_groups'])}] due {due}"
            )
        if d["incident"]:
            lines.append(f"incident: {d['incident']}")
        return "\n".join(lines)

    emit(as_json, data, text)


def _form_text(d: dict[str, Any]) -> str:
    lines = [d["title"]]
    for f in d["fields"]:
        flags = [flag for flag in ("required", "readonly") if f[flag]]
        flags += [f"{k}={v}" if v is not None else k for k, v in f["constraints"].items()]
        kind = f["type"] + (": " + "|".join(o["id"] for o in f["options"]) if f["options"] else "")
        default = f"  default {f['default']}" if f["default"] not in (None, "") else ""
        current = (
            f"  now {json.dumps(f['current'], ensure_ascii=False)}" if f.get("current") is not None else ""
        )
        lines.append(f"  {f['id']} ({kind}) {' '.join(flags)}{default}{current}".rstrip())
        lines.append(f"      {f['label']}")
    if not d["fields"]:
        lines.append("  (no fields)")
    return "\n".join(lines)


@cli.command()
@click.argument("key_or_task")
@json_option
@pass_context
def form(ctx: Context, key_or_task: str, as_json: bool) -> None:
    """A start form (process KEY, newest version) or a task's form (TASK_ID): each field's id,
    type, whether it is required, its constraints and allowed values."""
    from .forms import describe
    from .models import Instance, Task

    with ctx.orchestrator.session() as s:
        task = s.get(Task, key_or_task)
        variables = json.loads(s.get(Instance, task.instance_id).variables or "{}") if task else {}
    if task is not None:
        fields = [describe(f) for f in json.loads(task.form or "[]")]
        for f in fields:  # what the case holds now: send it again to keep it
            f["current"] = variables.get(f["id"])
        data = {
            "task": task.id,
            "element": task.bpmn_id,
            "instance_id": task.instance_id,
            "status": task.status,
            "title": f"task {task.id}: {task.name} ({task.bpmn_id}), case {task.instance_id}, {task.status}",
            "fields": fields,
        }
    else:
        try:
            _definition_id, deployment = ctx.orchestrator.latest(key_or_task)
        except NotFound:
            raise EngineError(f"'{key_or_task}' is neither a deployed process nor a task id") from None
        data = {
            "process": key_or_task,
            "title": f"start form of {key_or_task} ({deployment.name or key_or_task})",
            "fields": [describe(f) for f in deployment.start_form],
        }
    emit(as_json, data, _form_text)


@cli.command()
@click.argument("task_id")
@click.option("--user", required=True, help="The account taking the task (checked like the web).")
@pass_context
def claim(ctx: Context, task_id: str, user: str) -> None:
    """Take a task, as on the inbox's 'Ambil' button: one of two claimers wins."""
    actor, _name = ctx.who(user)
    ctx.orchestrator.claim(task_id, actor)
    click.echo(f"task {task_id}: claimed by {actor.username}")


@cli.command()
@click.argument("task_id")
@click.option("--user", required=True, help="The account releasing the task.")
@pass_context
def unclaim(ctx: Context, task_id: str, user: str) -> None:
    """Give a claimed task back to its groups."""
    actor, _name = ctx.who(user)
    ctx.orchestrator.unclaim(task_id, actor)
    click.echo(f"task {task_id}: released")


@cli.command()
@click.option("--once", is_flag=True, help="Run everything due now, then exit.")
@click.option("--interval", type=float, default=30.0, show_default=True, help="Seconds between polls.")
@json_option
@pass_context
def worker(ctx: Context, once: bool, interval: float, as_json: bool) -> None:
    """Run due jobs and fire due timers."""
    from .worker import Worker

    w = Worker(ctx.orchestrator, interval=interval)
    if once:
        report = w.run_once()
        emit(
            as_json, report.__dict__, lambda r: ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r.items())
        )
    else:
        click.echo(f"worker {w.worker_id} running; Ctrl-C stops it", err=True)
        w.run_forever()


@cli.command("set-var")
@click.argument("instance_id", type=ROW_ID)
@click.argument("assignments", nargs=-1, required=True)
@user_option
@json_option
@pass_context
def set_var(
    ctx: Context, instance_id: int, assignments: tuple[str, ...], user: str | None, as_json: bool
) -> None:
    """Fix case variables (name=value, or name:type=value with string, boolean, long, double,
    date, json), e.g. before retrying an incident that read them."""
    raw, typed = split_typed(assignments)
    values = {**raw, **typed}
    actor, name = ctx.who(user)
    ctx.orchestrator.set_variables(instance_id, values, actor=actor, user=name)
    emit(
        as_json,
        {"instance_id": instance_id, "set": sorted(values)},
        lambda d: f"case {d['instance_id']}: set {', '.join(d['set'])}",
    )


@cli.command()
@click.argument("incident_id", type=ROW_ID)
@user_option
@json_option
@pass_context
def retry(ctx: Context, incident_id: int, user: str | None, as_json: bool) -> None:
    """Give a failed job its tries back."""
    actor, name = ctx.who(user)
    ctx.orchestrator.retry(incident_id, actor=actor, user=name)
    emit(
        as_json,
        {"incident": incident_id, "status": "retrying"},
        lambda d: f"incident {incident_id}: retrying",
    )


@cli.command()
@click.argument("task_id")
@click.argument("assignee", required=False)
@user_option
@json_option
@pass_context
def assign(ctx: Context, task_id: str, assignee: str | None, user: str | None, as_json: bool) -> None:
    """Give a ready task to ASSIGNEE (without one: back to its groups); both are told."""
    actor, name = ctx.who(user)
    ctx.orchestrator.assign(task_id, assignee, actor=actor, user=name)
    emit(
        as_json,
        {"task": task_id, "assignee": assignee},
        lambda d: f"task {task_id}: {'assigned to ' + assignee if assignee else 'back to its groups'}",
    )


@cli.group(invoke_without_command=True)
@click.option("--limit", default=100, show_default=True, help="At most this many rows.")
@json_option
@click.pass_context
def outbox(click_ctx: click.Context, limit: int, as_json: bool) -> None:
    """Notifications that failed: e-mails given up on, messages that reached nobody; and what waits."""
    if click_ctx.invoked_subcommand is not None:
        return
    from .delivery import failures, pending_count

    ctx = click_ctx.ensure_object(Context)
    with ctx.orchestrator.session() as s:
        rows = [f.__dict__ for f in failures(s, limit)]
        waiting = pending_count(s)

    def text(d: dict[str, Any]) -> str:
        lines = [f"waiting: {d['waiting']['outbox']} messages, {d['waiting']['email']} e-mails"]
        if not d["failures"]:
            lines.append("no failures")
        for f in d["failures"]:
            what = f"email #{f['id']}" if f["kind"] == "email" else f"message #{f['id']} reached nobody"
            lines.append(f"{f['at']:%Y-%m-%d %H:%M}  {what}  {f['recipient']}  {f['subject']}")
            lines.append(f"    {f['error']} (attempts {f['attempts']}) {f['link']}")
        return "\n".join(lines)

    emit(as_json, {"waiting": waiting, "failures": rows}, text)


@outbox.command("retry")
@click.argument("email_id", type=ROW_ID)
@user_option
@json_option
@pass_context
def outbox_retry(ctx: Context, email_id: int, user: str | None, as_json: bool) -> None:
    """Send a failed e-mail again (to the user's current address)."""
    from .delivery import retry_email

    actor, name = ctx.who(user)
    retry_email(ctx.orchestrator, email_id, actor=actor, user=name)
    emit(as_json, {"email": email_id, "status": "pending"}, lambda d: f"email {email_id}: queued again")


@cli.command()
@click.argument("instance_id", type=ROW_ID)
@user_option
@json_option
@pass_context
def cancel(ctx: Context, instance_id: int, user: str | None, as_json: bool) -> None:
    """Cancel a running case."""
    actor, name = ctx.who(user)
    ctx.orchestrator.cancel(instance_id, actor=actor, user=name)
    emit(as_json, {"id": instance_id, "status": "cancelled"}, lambda d: f"case {instance_id} cancelled")


def _row_text(row: RowResult) -> str:
    head = f"row {row.row} {row.business_key or '-'}: "
    if row.status == "refused":
        # field errors name their fields in the message; other refusals name the field here
        where = ", ".join(part for part in (row.element, None if row.errors else row.field) if part)
        return head + f"refused{' at ' + where if where else ''}: {row.message}"
    if row.status == "skipped":
        return head + f"skipped: {row.message}"
    done = f"created case {row.instance_id}" if row.status == "created" else "would be created"
    text = head + f"{done} at {row.target}, stage {row.stage} ({row.stage_name})"
    if row.next_deadline is not None:
        due = row.next_deadline.due_at.astimezone(ZoneInfo(row.timezone or "UTC"))
        text += (
            f"; next deadline: {row.next_deadline.what}, due {due:%Y-%m-%d %H:%M} "
            f"{zone_label(row.timezone or '')}" + (" (overdue)" if row.next_deadline.overdue else "")
        )
    return text


def _import_text(report: ImportReport) -> str:
    counts = ", ".join(
        f"{report.count(status)} {status}" for status in ("created", "valid", "skipped", "refused")
    )
    summary = f"{report.filename}: {counts}" + (" (check only: nothing changed)" if report.check else "")
    return "\n".join([*(_row_text(row) for row in report.rows), summary])


@cli.command("import")
@click.argument("path", required=False)
@click.option(
    "--template",
    "target",
    default=None,
    metavar="TARGET",
    help="Print the header row a file needs to bring cases to TARGET (a user task id; "
    "Task_X@n for its n-th round in a loop).",
)
@click.option("--check", is_flag=True, help="Run every row and report what would happen; change nothing.")
@click.option("--process", "process_key", default=None, help="Process key (default: the only one deployed).")
@user_option
@json_option
@pass_context
def import_command(
    ctx: Context,
    path: str | None,
    target: str | None,
    check: bool,
    process_key: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    """Bring existing cases in from a CSV file, one per row, by replaying each through the diagram
    up to its target task; document paths are relative to the file. Exit status 1 when a row
    was refused."""
    from .imports import DirectoryDocuments

    if target is not None:
        if path is not None:
            raise click.UsageError("give FILE.csv or --template TARGET, not both")
        columns = ctx.orchestrator.import_template(target, process_key)
        if as_json:
            emit(True, columns, str)
        else:
            csv.writer(sys.stdout, lineterminator="\n").writerow(columns)
        return
    if path is None:
        raise click.UsageError("give FILE.csv (or --template TARGET)")
    file = Path(path)
    if not file.is_file():
        raise EngineError(f"{path}: no such file")
    actor, name = ctx.who(user)
    report = ctx.orchestrator.import_csv(
        file.read_bytes(),
        file.name,
        DirectoryDocuments(file.parent),
        process_key=process_key,
        check=check,
        actor=actor,
        user=name,
    )
    emit(as_json, report.as_dict(), lambda _: _import_text(report))
    if report.refused:
        sys.exit(1)


@cli.group()
def region() -> None:
    """Regions (at the levels the handler package names) and their time zones."""


@region.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--level", required=True, help="One of the levels the handler package names.")
@click.option("--timezone", "zone", type=click.Choice(sorted(TIMEZONES)), default="WIB", show_default=True)
@click.option("--province", "province_code", default=None, help="Code of the region this one lies in.")
@json_option
@pass_context
def region_add(
    ctx: Context, code: str, name: str, level: str, zone: str, province_code: str | None, as_json: bool
) -> None:
    from .models import Region

    levels = ctx.orchestrator.registry.access.region_levels
    if levels and level not in levels:
        raise click.BadParameter(f"'{level}' is not one of {', '.join(levels)}", param_hint="--level")
    with ctx.orchestrator.uow() as uow:
        if uow.session.get(Region, code) is not None:
            raise EngineError(f"region {code} already exists")
        uow.session.add(
            Region(
                code=code,
                name=single_line(name),
                level=level,
                timezone=TIMEZONES[zone],
                province_code=province_code,
            )
        )
        uow.commit()
    emit(as_json, {"code": code}, lambda d: f"region {code} added")


@region.command("list")
@json_option
@pass_context
def region_list(ctx: Context, as_json: bool) -> None:
    from sqlalchemy import select

    from .tables import regions

    columns = [regions.c.code, regions.c.name, regions.c.level, regions.c.timezone]
    with ctx.connection() as conn:
        rows = [dict(row) for row in conn.execute(select(*columns).order_by(regions.c.code)).mappings()]
    emit(
        as_json,
        rows,
        lambda rs: (
            "\n".join(f"{r['code']:<8} {r['level']:<9} {r['timezone']:<15} {r['name']}" for r in rs)
            or "no regions"
        ),
    )


@cli.group("calendar")
def calendar_group() -> None:
    """Operator corrections to the working-day calendar (a decree adds or moves a day off)."""


@calendar_group.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--holiday/--working-day", required=True)
@click.option("--region", "region_code", default=None, help="Only for this region (default: national).")
@click.option("--description", default="")
@user_option
@json_option
@pass_context
def calendar_set(
    ctx: Context,
    day,
    holiday: bool,
    region_code: str | None,
    description: str,
    user: str | None,
    as_json: bool,
) -> None:
    """Make DAY a day off (--holiday) or a working day (--working-day); the worker then moves the
    waiting deadlines of every running case it affects (see `calendar status`)."""
    actor, name = ctx.who(user)
    queued = ctx.orchestrator.set_calendar_override(
        day.date(), holiday, region_code, single_line(description), user=name, actor=actor
    )
    emit(
        as_json,
        {
            "day": day.date(),
            "holiday": holiday,
            "region": region_code,
            "decree": queued.decree_id,
            "cases_queued": queued.cases,
        },
        lambda d: (
            f"{day.date()}: {'hari libur' if holiday else 'hari kerja'} ({region_code or 'nasional'}); "
            f"decree {queued.decree_id}: {queued.cases} cases queued for re-evaluation by the worker"
        ),
    )


def _status_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        lines.append(
            f"decree {r['decree']}: {r['day']} {'libur' if r['holiday'] else 'kerja'} "
            f"{r['region'] or 'nasional'} ({r['by'] or '-'}): {r['cases']} cases, {r['done']} done, "
            f"{r['skipped']} skipped (ended), {r['pending']} pending, {r['failed']} failed"
        )
        lines += [f"  case {f['instance']}: {f['error']}" for f in r["failures"]]
    return "\n".join(lines) or "no decrees"


@calendar_group.command("status")
@click.option("--limit", type=int, default=20, show_default=True, help="Newest decrees to show.")
@json_option
@pass_context
def calendar_status(ctx: Context, limit: int, as_json: bool) -> None:
    """Progress of each decree: running cases re-evaluated, pending, failed."""
    emit(as_json, ctx.orchestrator.calendar_status(limit), _status_text)


@calendar_group.command("retry")
@click.argument("decree_id", type=ROW_ID)
@user_option
@json_option
@pass_context
def calendar_retry(ctx: Context, decree_id: int, user: str | None, as_json: bool) -> None:
    """Queue a decree's failed re-evaluations again."""
    actor, name = ctx.who(user)
    retried = ctx.orchestrator.retry_decree(decree_id, actor=actor, user=name)
    emit(
        as_json,
        {"decree": decree_id, "cases_queued": retried},
        lambda d: f"decree {decree_id}: {retried} cases queued again",
    )


@calendar_group.command("list")
@json_option
@pass_context
def calendar_list(ctx: Context, as_json: bool) -> None:
    from sqlalchemy import select

    from .models import CalendarOverride

    with ctx.session() as s:
        rows = [
            {"day": r.day, "region": r.region_code, "holiday": r.is_holiday, "description": r.description}
            for r in s.scalars(select(CalendarOverride).order_by(CalendarOverride.day))
        ]
    emit(
        as_json,
        rows,
        lambda rs: (
            "\n".join(
                f"{r['day']} {'libur' if r['holiday'] else 'kerja'} "
                f"{r['region'] or 'nasional'} {r['description']}"
                for r in rs
            )
            or "no overrides"
        ),
    )


@cli.group()
def lookup() -> None:
    """Operator-edited lists that handlers read (e.g. countries without diplomatic relations)."""


@lookup.command("add")
@click.argument("list_name")
@click.argument("code")
@click.argument("label", default="")
@json_option
@pass_context
def lookup_add(ctx: Context, list_name: str, code: str, label: str, as_json: bool) -> None:
    from .models import LookupValue

    with ctx.orchestrator.uow() as uow:
        uow.session.merge(LookupValue(list_name=list_name, code=code, label=single_line(label)))
        uow.commit()
    emit(as_json, {"list": list_name, "code": code, "label": label}, lambda d: f"{list_name}: {code} added")


@lookup.command("remove")
@click.argument("list_name")
@click.argument("code")
@json_option
@pass_context
def lookup_remove(ctx: Context, list_name: str, code: str, as_json: bool) -> None:
    from .models import LookupValue

    with ctx.orchestrator.uow() as uow:
        row = uow.session.get(LookupValue, (list_name, code))
        if row is None:
            raise EngineError(f"{list_name}: {code} not found")
        uow.session.delete(row)
        uow.commit()
    emit(
        as_json, {"list": list_name, "code": code, "removed": True}, lambda d: f"{list_name}: {code} removed"
    )


@lookup.command("list")
@click.argument("list_name")
@json_option
@pass_context
def lookup_list(ctx: Context, list_name: str, as_json: bool) -> None:
    from sqlalchemy import select

    from .models import LookupValue

    with ctx.session() as s:
        rows = [
            {"code": r.code, "label": r.label}
            for r in s.scalars(
                select(LookupValue).where(LookupValue.list_name == list_name).order_by(LookupValue.code)
            )
        ]
    emit(as_json, rows, lambda rs: "\n".join(f"{r['code']:<6} {r['label']}" for r in rs) or "empty")


@cli.command("letter-templates")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@json_option
@pass_context
def letter_templates(ctx: Context, directory: Path, as_json: bool) -> None:
    """Copy the default letter templates (.docx) into DIRECTORY, to edit and use with
    KSDPL_LETTER_TEMPLATES=DIRECTORY; files already there are kept."""
    import shutil

    source = ctx.orchestrator.registry.letter_templates
    if source is None:
        raise EngineError("the handlers ship no letter templates")
    directory.mkdir(parents=True, exist_ok=True)
    copied = []
    for letter in ctx.orchestrator.registry.letters:
        target = directory / letter.template
        if not target.exists():
            shutil.copyfile(Path(source) / letter.template, target)
            copied.append(letter.template)
    emit(
        as_json,
        {"directory": str(directory), "copied": copied},
        lambda d: "\n".join(
            [f"{directory}/{name}" for name in copied] or ["nothing copied: the templates are there already"]
        ),
    )


@cli.command("element-templates")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write <registry name>.json into [default: processes/.camunda/element-templates].",
)
@json_option
@pass_context
def element_templates_command(ctx: Context, output: Path | None, as_json: bool) -> None:
    """Write Camunda Modeler element templates for every registered handler."""
    from . import element_templates

    path = element_templates.write(ctx.orchestrator.registry, output or element_templates.DEFAULT_DIRECTORY)
    count = len(element_templates.element_templates(ctx.orchestrator.registry))
    emit(as_json, {"path": str(path), "templates": count}, lambda d: f"{path}: {count} templates")


if __name__ == "__main__":
    cli()
