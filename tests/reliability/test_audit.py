"""Audit integrity (proof 6): the history is append-only, and every state change writes exactly
one event with its actor and time.

Append-only three ways: the database refuses UPDATE and DELETE (triggers of migration 0008,
SQLite and PostgreSQL); no code path issues one (a scan of the sources); no CLI command can
(the CLI's commands are listed and none touches the history)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update

from engine.errors import ValidationFailed
from engine.models import AuditEvent, Instance
from engine.service import Orchestrator
from tests.conftest import ROOT
from tests.web.conftest import PENJAJAKAN, actor, add_pdf, make_registry, ready_task, seeded, start_case
from web.cli import build_cli


@pytest.fixture
def site(db_url):
    orchestrator = seeded(Orchestrator(db_url, make_registry()))
    yield orchestrator
    orchestrator.close()


def _events(orch) -> list[AuditEvent]:
    with orch.session() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.execute(update(AuditEvent).values(actor="penyusup")),
        lambda s: s.execute(delete(AuditEvent)),
        lambda s: s.execute(text("UPDATE audit_events SET action = 'x'")),
        lambda s: s.execute(text("DELETE FROM audit_events")),
    ],
    ids=["orm-update", "orm-delete", "sql-update", "sql-delete"],
)
def test_the_database_refuses_to_change_history(site, change):
    start_case(site)
    before = [(e.id, e.actor, e.action) for e in _events(site)]
    with site.uow() as uow, pytest.raises(Exception, match="append-only"):
        change(uow.session)
        uow.session.flush()
        uow.commit()
    assert [(e.id, e.actor, e.action) for e in _events(site)] == before


def test_the_orm_object_cannot_be_edited_either(site):
    start_case(site)
    with site.uow() as uow, pytest.raises(Exception, match="append-only"):
        event = uow.session.scalars(select(AuditEvent)).first()
        event.actor = "penyusup"
        uow.commit()
    with site.uow() as uow, pytest.raises(Exception, match="append-only"):
        uow.session.delete(uow.session.scalars(select(AuditEvent)).first())
        uow.commit()


def test_no_code_path_updates_or_deletes_history():
    pattern = re.compile(
        r"(update|delete)\(\s*AuditEvent|audit_events.*(UPDATE|DELETE)|AuditEvent\.__table__\.(update|delete)"
    )
    hits = []
    for package in ("engine", "web", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            hits += [f"{path.name}: {line}" for line in path.read_text().splitlines() if pattern.search(line)]
    assert hits == []


def test_no_cli_command_touches_history():
    """Every command of `ksdpl`, listed: a new one is reviewed here, and none edits the history."""
    cli = build_cli()

    def walk(group, prefix=""):
        for name, command in group.commands.items():
            yield prefix + name
            if hasattr(command, "commands"):
                yield from walk(command, prefix + name + " ")

    names = set(walk(cli))
    assert not [n for n in names if re.search(r"audit|history|riwayat|purge|delete", n)]
    result = CliRunner().invoke(cli, ["--help"])
    assert "audit" not in result.output.lower()


def test_every_state_change_has_exactly_one_event_with_actor_and_time(site):
    """Each command below changes one thing; the history grows by exactly its event(s), each
    with an actor and a time; a refused command adds nothing."""
    steps = []

    def did(label, expected, run):
        before = len(_events(site))
        result = run()
        new = _events(site)[before:]
        steps.append((label, [e.action for e in new]))
        assert [e.action for e in new] == expected, label
        assert all(e.actor and e.at for e in new if e.action != "completed"), label
        return result

    instance_id = did("start", ["start"], lambda: start_case(site))
    task_id = ready_task(site, instance_id, "Penjajakan")
    did("claim", ["claim"], lambda: site.claim(task_id, actor("pemda_a")))
    did("unclaim", ["unclaim"], lambda: site.unclaim(task_id, actor("pemda_a")))
    document_id = did("upload", ["document"], lambda: add_pdf(site, instance_id, task_id))
    did("comment", ["comment"], lambda: site.add_comment(instance_id, "Catatan", actor("pemda_a")))
    before_refusal = len(_events(site))
    with pytest.raises(ValidationFailed):  # refused: nothing written
        site.complete_task(task_id, {}, actor("pemda_a"))
    assert len(_events(site)) == before_refusal
    with site.session() as s:
        version = s.scalar(select(Instance.lock_version).where(Instance.id == instance_id))
    did(
        "complete",
        ["complete"],
        lambda: site.complete_task(task_id, {**PENJAJAKAN, "kajian": str(document_id)}, actor("pemda_a")),
    )
    did("cancel", ["cancel"], lambda: site.cancel(instance_id, actor("operator")))
    with site.session() as s:
        # every step that moved the case (lock_version) left exactly one step event
        steps_done = s.scalar(select(Instance.lock_version).where(Instance.id == instance_id))
    assert steps_done - version == 2
