"""Delivery of the outbox over real SMTP (aiosmtpd on loopback): incidents reach the operators, a
worker killed between the server's acceptance and its "sent" mark causes at most one duplicate
with the same Message-ID, and a failing server is retried with backoff, then shown to operators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.delivery import LEASE, MAX_ATTEMPTS, RETRY_DELAYS, Delivery, DeliverySettings, failures
from engine.errors import Forbidden
from engine.models import EmailDelivery, Notification, User
from engine.notices import OUTBOX, message
from engine.worker import Worker
from handlers import registry as ksdpl_handlers
from tests.conftest import ROOT
from tests.smtp import free_port

Actor = ksdpl_handlers.access.actor  # actors as the deployment's access policy builds them

NOW = datetime(2027, 5, 3, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB

PEOPLE = {
    "ani": ("pemda", "3171", "ani@kota-a.contoh.go.id"),
    "eko": ("pemda", "9171", "eko@kota-b.contoh.go.id"),
    "fajar": ("operator", None, "fajar@kemendagri.contoh.go.id"),
    "gita": ("admin", None, "gita@kemendagri.contoh.go.id"),
}


@pytest.fixture
def people(orch) -> None:
    with orch.uow() as uow:
        for username, (groups, region, email) in PEOPLE.items():
            uow.session.add(
                User(
                    username=username,
                    name=username.title(),
                    password_hash="-",
                    groups=groups,
                    region_code=region,
                    active=True,
                    created_at=NOW,
                    email=email,
                    notify_mode="each",
                )
            )
        uow.commit()


def settings_for(sink) -> DeliverySettings:
    return DeliverySettings(
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        sender="KSDPL <ksdpl@contoh.go.id>",
        base_url="https://k.id",
    )


def queue(orch, key: str = "uji:1", users=("ani",), groups=(), region=None, actor=None) -> None:
    with orch.uow() as uow:
        uow.session.connection().execute(
            OUTBOX,
            message(
                key,
                "pesan",
                "Surat pertimbangan terbit",
                body="Isi pesan",
                users=users,
                groups=groups,
                region_code=region,
                actor=actor,
            ),
        )
        uow.commit()


def emails(orch) -> list[EmailDelivery]:
    with orch.session() as s:
        return list(s.scalars(select(EmailDelivery).order_by(EmailDelivery.id)))


def test_an_incident_tells_the_operators(deployed, calls, people, smtp_sink):
    clock.set(NOW)
    worker = Worker(deployed, delivery=Delivery(deployed, settings_for(smtp_sink)))
    instance_id = deployed.start("review", "3171", {"judul": "Uji"}, user="ani")
    with deployed.session() as s:
        from engine.models import Task

        draft = s.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.status == "ready"))
    worker.run_once()
    smtp_sink.clear()
    deployed.complete_task(draft, {"isi": "draf", "jumlah": "3"}, user="ani")
    calls.fail_times = 5  # the score service stays down: R2/PT1M gives two tries
    assert worker.run_once().jobs_failed == 1
    assert smtp_sink.received == []  # a retry ahead is not an incident yet
    clock.advance(timedelta(minutes=1))
    report = worker.run_once()
    assert (report.incidents, report.emails_sent) == (1, 2)
    assert sorted(m.to for m in smtp_sink.received) == [
        "fajar@kemendagri.contoh.go.id",
        "gita@kemendagri.contoh.go.id",
    ]
    mail = smtp_sink.received[0]
    assert mail.subject == f"[uji] Gangguan proses pada kasus #{instance_id} (Score)"
    assert "Hitung skor: RuntimeError: layanan skor tidak menjawab" in mail.body
    assert f"Buka: https://k.id/kasus/{instance_id}" in mail.body
    assert worker.run_once().emails_sent == 0


def test_a_worker_killed_between_send_and_mark_sends_one_duplicate_with_the_same_message_id(
    orch, db_url, people, smtp_sink
):
    queue(orch)
    env = {
        **os.environ,
        "KSDPL_DATABASE_URL": db_url,
        "KSDPL_HANDLERS": "tests.engine.cli_handlers",
        "KSDPL_SMTP_HOST": "127.0.0.1",
        "KSDPL_SMTP_PORT": str(smtp_sink.port),
        "KSDPL_SMTP_FROM": "KSDPL <ksdpl@contoh.go.id>",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "worker", "--once"], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    smtp_sink.kill_pid = worker.pid  # the server takes the mail, then the worker dies before it hears "250"
    _, stderr = worker.communicate(timeout=120)
    assert worker.returncode == -9, stderr.decode()
    [first] = smtp_sink.received
    [mail] = emails(orch)
    assert (mail.status, mail.attempts, mail.sent_at) == ("pending", 0, None)  # never marked sent

    delivery = Delivery(orch, settings_for(smtp_sink))
    assert delivery.run().emails_sent == 0  # the dead worker's lease still holds
    clock.set(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert delivery.run().emails_sent == 1
    first_copy, duplicate = smtp_sink.received
    assert duplicate.message_id == first_copy.message_id == mail.message_id
    assert duplicate.body == first_copy.body and duplicate.subject == first_copy.subject
    [mail] = emails(orch)
    assert (mail.status, mail.attempts) == ("sent", 1)
    clock.advance(LEASE * 2)
    assert delivery.run().emails_sent == 0
    assert len(smtp_sink.received) == 2


def test_a_failing_server_is_retried_with_backoff_then_shown_to_operators(orch, db_url, people, smtp_sink):
    clock.set(NOW)
    queue(orch)
    delivery = Delivery(orch, settings_for(smtp_sink))
    smtp_sink.refuse = "451 4.3.0 Kotak surat sementara tidak tersedia"
    attempts_at = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = delivery.run()
        assert (report.emails_sent, report.emails_failed) == (0, 1)
        attempts_at.append(clock.now())
        [mail] = emails(orch)
        assert mail.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert (mail.status, mail.next_attempt_at) == ("pending", clock.now() + RETRY_DELAYS[attempt - 1])
            clock.advance(RETRY_DELAYS[attempt - 1] - timedelta(seconds=1))
            assert delivery.run().emails_failed == 0  # not before its time
            clock.advance(timedelta(seconds=1))
    assert (mail.status, mail.last_error) == (
        "failed",
        "SMTPDataError: (451, b'4.3.0 Kotak surat sementara tidak tersedia')",
    )
    assert len(smtp_sink.refused) == MAX_ATTEMPTS and len({m.message_id for m in smtp_sink.refused}) == 1
    clock.advance(timedelta(days=1))
    assert delivery.run().emails_failed == 0  # given up: no loop without an exit

    with orch.session() as s:
        [failure] = failures(s)
    assert (failure.kind, failure.recipient, failure.attempts) == (
        "email",
        "ani <ani@kota-a.contoh.go.id>",
        5,
    )

    env = {**os.environ, "KSDPL_DATABASE_URL": db_url, "KSDPL_HANDLERS": "tests.engine.cli_handlers"}
    cli = [sys.executable, "-m", "engine.cli", "outbox"]
    listed = subprocess.run([*cli, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    [row] = json.loads(listed.stdout)["failures"]
    assert (row["kind"], row["id"], row["subject"]) == ("email", mail.id, "[uji] Surat pertimbangan terbit")
    text = subprocess.run(cli, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert f"email #{mail.id}" in text and "Kotak surat sementara tidak tersedia" in text

    # The operator fixes the server and sends it again
    with pytest.raises(Forbidden):
        from engine.delivery import retry_email

        retry_email(orch, mail.id, Actor("ani", frozenset({"pemda"}), "3171"))
    subprocess.run(
        [*cli, "retry", str(mail.id), "--user", "fajar"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    smtp_sink.refuse = None
    assert delivery.run().emails_sent == 1
    assert smtp_sink.received[0].message_id == mail.message_id
    with orch.session() as s:
        assert failures(s) == []


def test_a_permanent_refusal_is_not_retried(orch, people, smtp_sink):
    clock.set(NOW)
    queue(orch)
    smtp_sink.refuse = "550 5.1.1 Alamat tidak dikenal"
    delivery = Delivery(orch, settings_for(smtp_sink))
    assert delivery.run().emails_failed == 1
    [mail] = emails(orch)
    assert (mail.status, mail.attempts) == ("failed", 1)


def test_no_server_listening_is_a_temporary_failure(orch, people):
    clock.set(NOW)
    queue(orch)
    nobody = DeliverySettings(smtp_host="127.0.0.1", smtp_port=free_port())
    assert Delivery(orch, nobody).run().emails_failed == 1
    [mail] = emails(orch)
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in mail.last_error


def test_regional_groups_reach_only_their_region_and_an_unreached_message_is_shown(orch, people, smtp_sink):
    clock.set(NOW)
    queue(orch, "uji:a", users=(), groups=("pemda", "operator"), region="3171")
    queue(orch, "uji:b", users=(), groups=("dprd",), region="3171")  # no DPRD account in Kota A
    queue(orch, "uji:c", users=(), groups=("pemda",), region="3171", actor="ani")  # her own step: not told
    Delivery(orch, settings_for(smtp_sink)).run()
    assert sorted(m.to for m in smtp_sink.received) == [
        "ani@kota-a.contoh.go.id",
        "fajar@kemendagri.contoh.go.id",
    ]
    with orch.session() as s:
        assert s.scalar(select(Notification.id).join(User).where(User.username == "eko")) is None
        [failure] = failures(s)
    assert (failure.kind, failure.recipient) == ("unreached", "dprd 3171")
