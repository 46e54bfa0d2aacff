"""A step's writes after its state (`engine.writes`): on PostgreSQL one statement, on SQLite one
each, with the same rows either way."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from engine.models import AuditEvent, OutboxMessage
from engine.notices import OUTBOX, message
from engine.service import AUDIT
from engine.store import make_engine
from engine.writes import Writes
from tests.statements import statements_sent

AT = datetime(2027, 1, 4, 2, tzinfo=UTC)


def _audit(action: str) -> dict:
    return {
        "instance_id": None,
        "at": AT,
        "actor": "budi",
        "action": action,
        "task_id": None,
        "bpmn_id": None,
    }


def test_rows_keep_their_order_and_defaults_in_one_round_trip(db_url):
    engine = make_engine(db_url)
    with statements_sent(engine) as sent, engine.begin() as conn:
        writes = Writes(conn)
        writes.execute(AUDIT, {**_audit("complete"), "detail": "{}"})
        writes.execute(OUTBOX, [message(f"k{n}", "tugas", f"Tugas {n}") for n in range(3)])
        writes.execute(AUDIT, {**_audit("completed"), "detail": "{}"})
        writes.flush()
        writes.flush()  # nothing left: nothing sent
        together = len(sent)
        writes.execute(AUDIT, {**_audit("first"), "detail": "{}"})
        # the same statement, a parameter left to its column's default: sent after the first
        writes.execute(AUDIT, _audit("second"))
        writes.flush()
    postgres = engine.dialect.name == "postgresql"
    assert (together, len(sent)) == ((1, 3) if postgres else (3, 5))  # SQLite: outbox as executemany
    with engine.connect() as conn:
        audit = conn.execute(select(AuditEvent.action, AuditEvent.detail).order_by(AuditEvent.id)).all()
        keys = conn.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)).all()
    actions = ["complete", "completed", "first", "second"]
    assert [tuple(row) for row in audit] == [(action, "{}") for action in actions]
    assert keys == ["k0", "k1", "k2"]
    engine.dispose()
