"""Engine events that tell people something, written to the outbox in the step that caused them.

A task becomes ready for a group, a task is claimed or reassigned, an incident stops a path.
Handlers add their own messages (`HandlerContext.notify`); reminders before deadlines come from
`engine.reminders`. The worker delivers all of them (`engine.delivery`).

A message is addressed to groups and/or named users. A regional group means its members in the
case's region; which groups are regional, and which are the operators, is read through
`group_rules(policy)` only. The person whose action caused a message (`actor`) never receives it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from .access import AccessPolicy
from .clock import clock
from .models import OutboxMessage, Task, User

# What a message is about; the notifications page shows it, operators filter by it.
KIND_LABELS = {
    "pesan": "Pemberitahuan",
    "tugas": "Tugas baru",
    "klaim": "Tugas diambil",
    "alih": "Tugas dialihkan",
    "pengingat": "Pengingat batas waktu",
    "terlambat": "Terlambat",
    "insiden": "Gangguan proses",
    "lepas": "Permintaan melepas tugas",
}

OUTBOX = insert(OutboxMessage)


@dataclass(frozen=True)
class GroupRules:
    regional: frozenset[str]  # members belong to one region: they hear only of that region's cases
    operators: frozenset[str]  # told of incidents


def group_rules(policy: AccessPolicy) -> GroupRules:
    """The one place delivery reads which groups are regional and which are the operators: the
    handler package's access policy (`registry.access`)."""
    return GroupRules(regional=policy.regional_groups, operators=policy.operator_groups)


def split(names: str | None) -> list[str]:
    """'a, b' -> ['a', 'b']."""
    return [name.strip() for name in (names or "").split(",") if name.strip()]


def message(
    key: str,
    kind: str,
    subject: str,
    *,
    body: str = "",
    instance_id: int | None = None,
    task_id: str | None = None,
    groups: Iterable[str] = (),
    users: Iterable[str] = (),
    region_code: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One outbox row, as a dict for a Core insert."""
    return {
        "key": key[:200],
        "kind": kind,
        "subject": subject[:300],
        "body": body,
        "instance_id": instance_id,
        "task_id": task_id,
        "recipient_group": ",".join(dict.fromkeys(groups))[:300],
        "recipient_users": ",".join(dict.fromkeys(u for u in users if u))[:500],
        "region_code": region_code,
        "actor": actor,
        "created_at": now or clock.now(),
    }


def task_recipients(candidate_groups: str, candidate_users: str, assignee: str | None) -> dict[str, list]:
    """Who a task concerns: its assignee when it has one, else its candidate groups and users."""
    if assignee:
        return {"groups": [], "users": [assignee]}
    return {"groups": split(candidate_groups), "users": split(candidate_users)}


def task_ready(row: dict[str, Any], actor: str | None) -> dict[str, Any]:
    """A new ready task (a projection row as `engine.projections` inserts it)."""
    return message(
        f"tugas:{row['id']}",
        "tugas",
        f"Tugas baru: {row['name']}",
        instance_id=row["instance_id"],
        task_id=row["id"],
        actor=actor,
        now=row["created_at"],
        **task_recipients(row["candidate_groups"], row["candidate_users"], row["assignee"]),
    )


def _name(conn: Connection, username: str | None) -> str:
    if not username:
        return "Sistem"
    return conn.scalar(select(User.name).where(User.username == username)) or username


def assignment(
    conn: Connection, task, previous: str | None, assignee: str | None, actor: str, action: str
) -> None:
    """A task claimed, released or reassigned: tell the people it changes things for.

    Claiming an open task tells the other candidates someone is on it; whoever loses a task to
    someone else's action, and whoever is given one, hears of it."""
    if previous == assignee:
        return
    candidates = conn.execute(
        select(Task.candidate_groups, Task.candidate_users).where(Task.id == task.id)
    ).one()
    rows = []

    def add(kind: str, subject: str, body: str, **recipients) -> None:
        rows.append(
            message(
                f"{kind}:{task.id}:{uuid.uuid4().hex}",
                kind,
                subject,
                body=body,
                instance_id=task.instance_id,
                task_id=task.id,
                actor=actor,
                **recipients,
            )
        )

    if action == "claim" and assignee == actor and previous is None:
        add(
            "klaim",
            f"Tugas diambil: {task.name}",
            f"{_name(conn, actor)} mengambil tugas ini dan sedang mengerjakannya.",
            **task_recipients(candidates.candidate_groups, candidates.candidate_users, None),
        )
    if assignee and assignee != actor:
        add(
            "alih",
            f"Tugas dialihkan kepada Anda: {task.name}",
            f"{_name(conn, actor)} mengalihkan tugas ini kepada Anda.",
            users=[assignee],
        )
    if previous and previous != actor:
        now_with = f"sekarang dikerjakan oleh {_name(conn, assignee)}" if assignee else "kembali ke grup"
        add(
            "alih",
            f"Tugas dialihkan: {task.name}",
            f"{_name(conn, actor)} memindahkan tugas ini dari Anda; tugas {now_with}.",
            users=[previous],
        )
    if rows:
        conn.execute(OUTBOX, rows)


def incident(
    conn: Connection, incident_id: int, instance_id: int, element: str, text: str, operators: Iterable[str]
) -> None:
    """An incident stopped a path of a case: the operators must look."""
    conn.execute(
        OUTBOX,
        message(
            f"insiden:{incident_id}",
            "insiden",
            f"Gangguan proses pada kasus #{instance_id} ({element})",
            body=f"{text.splitlines()[0][:500] if text else ''}\n"
            "Jalur kasus ini berhenti sampai operator mengulangnya (perintah retry).",
            instance_id=instance_id,
            groups=sorted(operators),
        ),
    )


def release_requested(
    conn: Connection, task: Any, requester: str, reason: str, operators: Iterable[str]
) -> None:
    """A colleague asks the operators to free a task someone holds: they reassign or release it."""
    now = clock.now()
    conn.execute(
        OUTBOX,
        message(
            f"lepas:{task.id}:{requester}:{now.isoformat()}",
            "lepas",
            f"Minta lepas tugas: {task.name} (kasus #{task.instance_id})",
            body=f"{_name(conn, requester)} meminta tugas ini dilepas dari {_name(conn, task.assignee)}."
            + (f"\nAlasan: {reason}" if reason else ""),
            instance_id=task.instance_id,
            task_id=task.id,
            groups=sorted(operators),
            actor=requester,
            now=now,
        ),
    )
