"""The KSDPL events that tell people, delivered by the worker to a real SMTP server on loopback.

Kota Surabaya (3578, WIB) has four Pemda staff: rina and budi want each message by mail, sari a
daily digest, tono has no address. Kabupaten Badung's staff (5103) must never hear of Surabaya's
cases. Each event is checked for who gets mail, who sees it in the app, and that a second worker
run sends nothing again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.delivery import Delivery, DeliverySettings
from engine.models import EmailDelivery, Notification, OutboxMessage, User
from engine.worker import Worker
from handlers import registry as ksdpl_handlers
from tests.ksdpl import paths
from tests.ksdpl.conftest import StartCase

Actor = ksdpl_handlers.access.actor  # actors as the deployment's access policy builds them

BASE = "https://ksdpl.contoh.go.id"

# username: (groups, region, e-mail, preference)
PEOPLE = {
    "rina": ("pemda", "3578", "rina@surabaya.contoh.go.id", "each"),
    "budi": ("pemda", "3578", "budi@surabaya.contoh.go.id", "each"),
    "sari": ("pemda", "3578", "sari@surabaya.contoh.go.id", "digest"),
    "tono": ("pemda", "3578", None, "each"),
    "walikota": ("kepala_daerah", "3578", "walikota@surabaya.contoh.go.id", "each"),
    "dprd.sby": ("dprd", "3578", "dprd@surabaya.contoh.go.id", "each"),
    "pemda.badung": ("pemda", "5103", "pemda@badung.contoh.go.id", "each"),
    "dprd.badung": ("dprd", "5103", "dprd@badung.contoh.go.id", "each"),
    "dewi": ("kemendagri", None, "dewi@kemendagri.contoh.go.id", "each"),
    "fajar": ("operator", None, "fajar@kemendagri.contoh.go.id", "each"),
}


@pytest.fixture
def people(orch) -> None:
    with orch.uow() as uow:
        for username, (groups, region, email, mode) in PEOPLE.items():
            uow.session.add(
                User(
                    username=username,
                    name=username.title(),
                    password_hash="-",
                    groups=groups,
                    region_code=region,
                    active=True,
                    created_at=clock.now(),
                    email=email,
                    notify_mode=mode,
                )
            )
        uow.commit()


@pytest.fixture
def worker(orch, people, smtp_sink) -> Worker:
    settings = DeliverySettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        sender="KSDPL <ksdpl@contoh.go.id>",
        base_url=BASE,
    )
    return Worker(orch, worker_id="uji", delivery=Delivery(orch, settings, "uji"))


def mail(sink, username: str) -> list[str]:
    """The subjects mailed to one person, in order."""
    return [m.subject for m in sink.to(PEOPLE[username][2] or "-")]


def in_app(orch, username: str) -> list[str]:
    with orch.session() as s:
        return list(
            s.scalars(
                select(OutboxMessage.subject)
                .join(Notification, Notification.outbox_id == OutboxMessage.id)
                .join(User, User.id == Notification.user_id)
                .where(User.username == username)
                .order_by(Notification.id)
            )
        )


def everyone(sink) -> dict[str, list[str]]:
    by_person: dict[str, list[str]] = defaultdict(list)
    for m in sink.received:
        owner = next(u for u, p in PEOPLE.items() if p[2] == m.to)
        by_person[owner].append(m.subject)
    return dict(by_person)


def test_a_ready_task_reaches_its_group_in_the_region_once(start_case: StartCase, worker, smtp_sink, orch):
    case = start_case(on=date(2027, 1, 4))
    [task] = case.ready()
    report = worker.run_once()
    assert report.emails_sent == 2 and report.emails_failed == 0

    subject = "[KSDPL] Tugas baru: Lakukan penjajakan"
    assert everyone(smtp_sink) == {"rina": [subject], "budi": [subject]}  # not sari (digest), not Badung
    for username in ("rina", "budi", "sari", "tono"):
        assert in_app(orch, username) == ["Tugas baru: Lakukan penjajakan"]
    assert in_app(orch, "pemda.badung") == [] and in_app(orch, "dprd.sby") == []

    [to_rina] = smtp_sink.to("rina@surabaya.contoh.go.id")
    assert to_rina.message["From"] == "KSDPL <ksdpl@contoh.go.id>"
    assert to_rina.message["Auto-Submitted"] == "auto-generated"
    assert to_rina.message_id.startswith("<ksdpl.") and to_rina.message_id.endswith("@contoh.go.id>")
    assert to_rina.message_id != smtp_sink.to("budi@surabaya.contoh.go.id")[0].message_id
    body = to_rina.body
    assert body.startswith("Yth. Rina,")
    assert "Kasus: Kerja sama kota kembar bidang pengelolaan sampah" in body
    assert "Wilayah: Kota Surabaya" in body
    assert f"Buka: {BASE}/tugas/{task.id}" in body

    again = worker.run_once()
    assert (again.emails_sent, again.notified) == (0, 0)
    assert len(smtp_sink.received) == 2


def test_claim_and_reassignment_tell_the_people_concerned(start_case: StartCase, worker, smtp_sink, orch):
    case = start_case(on=date(2027, 1, 4))
    [task] = case.ready()
    worker.run_once()
    smtp_sink.clear()

    orch.claim(task.id, Actor("rina", frozenset({"pemda"}), "3578"))
    worker.run_once()
    claimed = "[KSDPL] Tugas diambil: Lakukan penjajakan"
    assert everyone(smtp_sink) == {"budi": [claimed]}  # rina claimed it herself; sari gets a digest
    assert "Rina mengambil tugas ini" in smtp_sink.received[0].body
    assert in_app(orch, "sari")[-1] == "Tugas diambil: Lakukan penjajakan"
    assert in_app(orch, "rina") == ["Tugas baru: Lakukan penjajakan"]

    smtp_sink.clear()
    orch.assign(task.id, "budi", Actor("fajar", frozenset({"operator"})))
    worker.run_once()
    assert everyone(smtp_sink) == {
        "rina": ["[KSDPL] Tugas dialihkan: Lakukan penjajakan"],
        "budi": ["[KSDPL] Tugas dialihkan kepada Anda: Lakukan penjajakan"],
    }
    assert "sekarang dikerjakan oleh Budi" in smtp_sink.to("rina@surabaya.contoh.go.id")[0].body
    assert worker.run_once().emails_sent == 0


def walk(case, worker, sink, first: date, last: date, who: str = "") -> dict[date, list[str]]:
    """Run the worker at 07:00 local time on every day from `first` to `last`; what it mailed when
    (to the addresses starting with `who`)."""
    sent: dict[date, list[str]] = {}
    day = first
    while day <= last:
        case.on(day, hour=7)
        before = len(sink.received)
        worker.run_once()
        if new := [m for m in sink.received[before:] if m.to.startswith(who)]:
            sent[day] = [f"{m.to.split('@')[0]}: {m.subject}" for m in new]
        day += timedelta(days=1)
    return sent


def test_dprd_deadline_reminders_10_5_1_working_days_then_deemed_approval(
    start_case: StartCase, worker, smtp_sink, orch
):
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)  # received Mon 4 Jan 2027: the 45th working day is Thu 18 Mar 2027
    worker.run_once()
    smtp_sink.clear()

    sent = walk(case, worker, smtp_sink, date(2027, 2, 15), date(2027, 3, 18), who="dprd")
    reminder = "dprd: [KSDPL] Pengingat: Putuskan persetujuan DPRD, batas {} hari kerja lagi"
    # Counted back on the working-day calendar: Idul Fitri 8-12 Mar and cuti bersama 15 Mar are off
    assert sent == {
        date(2027, 2, 24): [reminder.format(10)],
        date(2027, 3, 3): [reminder.format(5)],
        date(2027, 3, 17): [reminder.format(1)],
    }
    assert (
        "Batas waktu tugas ini 18 Maret 2027: tinggal 5 hari kerja lagi."
        in smtp_sink.to("dprd@surabaya.contoh.go.id")[1].body
    )
    assert smtp_sink.to("dprd@badung.contoh.go.id") == []

    # 00:00 WIB after the 18th: deemed approved; the Kepala Daerah, Pemda and DPRD are told
    smtp_sink.clear()
    case.at(datetime(2027, 3, 18, 17, tzinfo=UTC))
    worker.run_once()
    deemed = "[KSDPL] Rencana kerja sama dianggap disetujui DPRD"
    people = everyone(smtp_sink)
    assert {
        who: [s for s in subjects if s == deemed] for who, subjects in people.items() if deemed in subjects
    } == {
        "walikota": [deemed],
        "rina": [deemed],
        "budi": [deemed],
        "dprd.sby": [deemed],
    }
    assert "sampai 18 Maret 2027" in smtp_sink.to("walikota@surabaya.contoh.go.id")[0].body
    assert all("Terlambat" not in s for subjects in people.values() for s in subjects)  # the timer decides


def test_reminders_follow_a_deadline_a_decree_moved(start_case: StartCase, worker, smtp_sink, orch):
    case = start_case(on=date(2027, 1, 4))
    paths.eligible_to_dprd(case)
    worker.run_once()
    smtp_sink.clear()
    assert walk(case, worker, smtp_sink, date(2027, 2, 22), date(2027, 2, 24), who="dprd") == {
        date(2027, 2, 24): ["dprd: [KSDPL] Pengingat: Putuskan persetujuan DPRD, batas 10 hari kerja lagi"]
    }

    # A decree makes Tue 2 Mar 2027 a day off: the deadline moves to Fri 19 Mar
    case.on(date(2027, 2, 25), hour=9)
    assert orch.set_calendar_override(date(2027, 3, 2), True, description="Cuti bersama (SKB)").cases == 1
    sent = walk(case, worker, smtp_sink, date(2027, 2, 25), date(2027, 3, 19), who="dprd")
    reminder = "dprd: [KSDPL] Pengingat: Putuskan persetujuan DPRD, batas {} hari kerja lagi"
    assert sent == {
        date(2027, 2, 26): ["dprd: [KSDPL] Batas waktu persetujuan DPRD berubah"],  # the decree's own notice
        date(2027, 3, 4): [reminder.format(5)],
        date(2027, 3, 18): [reminder.format(1)],
    }
    assert "19 Maret 2027" in smtp_sink.to("dprd@surabaya.contoh.go.id")[-1].body

    smtp_sink.clear()
    case.at(datetime(2027, 3, 19, 17, tzinfo=UTC))  # 00:00 WIB after the moved 45th working day
    worker.run_once()
    [deemed, follow_up] = smtp_sink.to("walikota@surabaya.contoh.go.id")
    assert deemed.subject == "[KSDPL] Rencana kerja sama dianggap disetujui DPRD"
    assert "sampai 19 Maret 2027" in deemed.body
    assert follow_up.subject == "[KSDPL] Tugas baru: Kirim surat tindak lanjut kepada Mendagri"


def test_loi_lapsing_in_30_days(start_case: StartCase, worker, smtp_sink):
    case = start_case(on=date(2027, 1, 4))
    paths.explore(case)
    paths.check_prerequisites(case)
    case.on(date(2027, 1, 11))
    paths.sign_loi(case)
    worker.run_once()
    smtp_sink.clear()

    case.at(datetime(2027, 12, 11, 17, tzinfo=UTC))  # 00:00 WIB 12 Dec 2027, 30 days before 11 Jan 2028
    worker.run_once()
    warning = "[KSDPL] Masa berlaku LoI segera berakhir"
    assert {who: s for who, s in everyone(smtp_sink).items() if warning in s} == {
        "rina": [warning],
        "budi": [warning],
        "walikota": [warning],
    }
    assert "berakhir pada 11 Januari 2028" in smtp_sink.to("walikota@surabaya.contoh.go.id")[0].body
    assert worker.run_once().emails_sent == 0


def test_annual_plan_and_report_due_and_overdue(start_case: StartCase, worker, smtp_sink):
    case = start_case(on=date(2027, 1, 4))
    paths.to_implementation(case, date(2027, 7, 1), date(2029, 6, 30))
    # year 1 runs 1 Jul 2027 - 30 Jun 2028; the activity plan is due 31 Jul 2027
    worker.run_once()
    assert "rina: [KSDPL] Rencana kegiatan tahunan ke-1" in [
        f"rina: {m.subject}" for m in smtp_sink.to("rina@surabaya.contoh.go.id")
    ]
    smtp_sink.clear()

    sent = walk(case, worker, smtp_sink, date(2027, 7, 1), date(2027, 8, 2))
    plan = "Susun rencana kegiatan tahunan"
    reminders = {day: subjects for day, subjects in sent.items() if any("rina:" in s for s in subjects)}
    # Sat 31 Jul is the last day: 10, 5 and 1 working days left (to Fri 30 Jul) as the inbox counts them
    assert reminders == {
        date(2027, 7, 16): [
            f"budi: [KSDPL] Pengingat: {plan}, batas 10 hari kerja lagi",
            f"rina: [KSDPL] Pengingat: {plan}, batas 10 hari kerja lagi",
        ],
        date(2027, 7, 23): [
            f"budi: [KSDPL] Pengingat: {plan}, batas 5 hari kerja lagi",
            f"rina: [KSDPL] Pengingat: {plan}, batas 5 hari kerja lagi",
        ],
        date(2027, 7, 29): [
            f"budi: [KSDPL] Pengingat: {plan}, batas 1 hari kerja lagi",
            f"rina: [KSDPL] Pengingat: {plan}, batas 1 hari kerja lagi",
        ],
        date(2027, 8, 1): [f"budi: [KSDPL] Terlambat: {plan}", f"rina: [KSDPL] Terlambat: {plan}"],
    }

    # The report: reminders before 30 Jun 2028, then the diagram's own overdue notice (not a second one)
    case.on(date(2027, 8, 2))
    case.complete("Task_RencanaKegiatanTahunan")
    case.wait_until(datetime(2028, 5, 30, 17, tzinfo=UTC))  # the report window opens
    worker.run_once()
    smtp_sink.clear()
    sent = walk(case, worker, smtp_sink, date(2028, 6, 1), date(2028, 7, 2))
    report = "Sampaikan laporan tahunan"
    rina = {day: [s for s in subjects if s.startswith("rina:")] for day, subjects in sent.items()}
    assert {day: s for day, s in rina.items() if s} == {
        date(2028, 6, 16): [f"rina: [KSDPL] Pengingat: {report}, batas 10 hari kerja lagi"],
        date(2028, 6, 23): [f"rina: [KSDPL] Pengingat: {report}, batas 5 hari kerja lagi"],
        date(2028, 6, 29): [f"rina: [KSDPL] Pengingat: {report}, batas 1 hari kerja lagi"],
        date(2028, 7, 1): ["rina: [KSDPL] Laporan tahunan terlambat"],
    }
    assert [s for s in sent[date(2028, 7, 1)] if "dewi" in s] == ["dewi: [KSDPL] Laporan tahunan terlambat"]


def test_digest_collects_a_day_of_messages_in_one_mail(start_case: StartCase, worker, smtp_sink, orch):
    case = start_case(on=date(2027, 1, 4))
    worker.run_once()
    [task] = case.ready()
    orch.claim(task.id, Actor("rina", frozenset({"pemda"}), "3578"))
    worker.run_once()
    assert smtp_sink.to("sari@surabaya.contoh.go.id") == []  # nothing by itself

    case.on(date(2027, 1, 5), hour=6)  # before 07:00 WIB: not yet
    worker.run_once()
    assert smtp_sink.to("sari@surabaya.contoh.go.id") == []
    case.on(date(2027, 1, 5), hour=7)
    worker.run_once()
    [digest] = smtp_sink.to("sari@surabaya.contoh.go.id")
    assert digest.subject == "[KSDPL] Ringkasan pemberitahuan 5 Januari 2027 (2)"
    assert "1. Tugas baru: Lakukan penjajakan" in digest.body
    assert "2. Tugas diambil: Lakukan penjajakan" in digest.body
    assert f"{BASE}/tugas/{task.id}" in digest.body
    assert digest.message_id.startswith("<ksdpl.ringkasan.")

    case.on(date(2027, 1, 5), hour=15)
    worker.run_once()
    assert len(smtp_sink.to("sari@surabaya.contoh.go.id")) == 1  # one digest a day


def test_without_an_smtp_host_notifications_stay_in_the_app(start_case: StartCase, orch, people, smtp_sink):
    worker = Worker(orch, delivery=Delivery(orch, DeliverySettings(base_url=BASE)))
    start_case(on=date(2027, 1, 4))
    report = worker.run_once()
    assert (report.notified, report.emails_sent) == (4, 0)
    assert in_app(orch, "rina") == ["Tugas baru: Lakukan penjajakan"]
    with orch.session() as s:
        assert s.scalars(select(EmailDelivery)).all() == []
    assert smtp_sink.received == []
