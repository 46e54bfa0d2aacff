"""Delivery of the outbox: in the app for everyone it reaches, and by e-mail as each person asks.

The worker runs `Delivery.run()` after the due jobs and timers:

1. **reminders**: deadlines coming up or passed become outbox messages (`engine.reminders`);
2. **fan-out**: each new outbox message becomes one in-app notification per recipient (the
   members of its groups, regional groups in the case's region only, and its named users), and
   one queued e-mail for each recipient whose preference is "each" (`EmailDelivery`);
   recipients who chose the daily digest get it marked for that;
3. **digests**: at 07:00 in a person's region, their marked notifications go out as one mail;
4. **sending**: queued e-mails are sent over SMTP, at least once. A mail is leased before it is
   sent and marked sent after the server accepted it; a worker that dies in between leaves the
   lease to run out, and the next worker sends the same mail (same Message-ID) again. A
   temporary failure (4xx, no connection) is retried with backoff; a permanent one (5xx) or the
   last try marks it failed, which operators see (the `outbox` command, the web's failures page).

Without `KSDPL_SMTP_HOST` no e-mail is queued: notifications stay in the app.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.orm import Session

from .calendar import deadline_day, local_today, start_of_day, zone_label
from .clock import clock
from .errors import Conflict, Forbidden, NotFound
from .forms import format_day
from .models import EmailDelivery, Instance, Notification, OutboxMessage, Region, Task, User
from .notices import group_rules, split
from .preferences import NOTIFY_MODES as NOTIFY_MODES  # where web/ reads it
from .reminders import REMINDER_WORKING_DAYS

if TYPE_CHECKING:
    from .access import Actor
    from .service import Orchestrator

log = logging.getLogger(__name__)

DIGEST_TIME = timedelta(hours=7)  # after local midnight, with the day's first coffee
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)  # after the 1st, 2nd, 3rd and 4th failure; the 5th try is the last
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
LEASE = timedelta(minutes=15)  # longer than a batch takes to send; then another worker may send it
BATCH = 20


def task_path(task_id: str) -> str:
    return f"/tugas/{task_id}"


def case_path(instance_id: int) -> str:
    return f"/kasus/{instance_id}"


def link_path(task_id: str | None, instance_id: int | None) -> str:
    """Where a message leads: its task, else its case, else the inbox."""
    if task_id:
        return task_path(task_id)
    if instance_id:
        return case_path(instance_id)
    return "/"


@dataclass(frozen=True)
class DeliverySettings:
    """`KSDPL_SMTP_HOST` (none: no e-mail), `KSDPL_SMTP_PORT` (25), `KSDPL_SMTP_FROM`,
    `KSDPL_SMTP_USER`, `KSDPL_SMTP_PASSWORD`, `KSDPL_SMTP_STARTTLS` (1/0), `KSDPL_BASE_URL` for the
    links in mails, `KSDPL_REMINDER_WORKING_DAYS` (10,5,1)."""

    smtp_host: str | None = None
    smtp_port: int = 25
    sender: str | None = None  # default: the handler package's title, noreply@<its name>.localhost
    smtp_user: str | None = None
    smtp_password: str | None = None
    starttls: bool = False
    base_url: str = "http://127.0.0.1:8000"
    reminder_days: tuple[int, ...] = REMINDER_WORKING_DAYS
    timeout: float = 30.0

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)

    @classmethod
    def from_env(cls) -> DeliverySettings:
        env = os.environ
        days = tuple(int(d) for d in env.get("KSDPL_REMINDER_WORKING_DAYS", "10,5,1").split(",") if d.strip())
        return cls(
            smtp_host=env.get("KSDPL_SMTP_HOST") or None,
            smtp_port=int(env.get("KSDPL_SMTP_PORT") or 25),
            sender=env.get("KSDPL_SMTP_FROM") or None,
            smtp_user=env.get("KSDPL_SMTP_USER") or None,
            smtp_password=env.get("KSDPL_SMTP_PASSWORD") or None,
            starttls=(env.get("KSDPL_SMTP_STARTTLS") or "0").lower() in ("1", "true", "yes", "ya"),
            base_url=(env.get("KSDPL_BASE_URL") or cls.base_url).rstrip("/"),
            reminder_days=days,
        )


@dataclass
class DeliveryReport:
    reminders: int = 0
    fanned_out: int = 0
    notified: int = 0
    digests: int = 0
    emails_sent: int = 0
    emails_failed: int = 0


class Mailer:
    """One SMTP connection for a batch, opened on the first mail and again after a disconnect."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def is_permanent(err: BaseException) -> bool:
    """A 5xx answer about this mail (recipient or content refused): trying again cannot help."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in err.recipients.values())
    if isinstance(err, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return err.smtp_code >= 500
    return False


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:2000]


@dataclass
class _Context:
    """What the text of the messages of one batch mentions: their cases, regions and tasks."""

    instances: dict[int, Any] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict)


class Delivery:
    def __init__(
        self, orchestrator: Orchestrator, settings: DeliverySettings | None = None, worker_id: str = "worker"
    ) -> None:
        self.orch = orchestrator
        self.settings = settings or DeliverySettings.from_env()
        self.worker_id = worker_id
        registry = orchestrator.registry
        # Names in mails come from the handler package: the product's title and its short name.
        self.title, self.prefix, self.footer = registry.title, registry.name, registry.mail_footer
        self.sender = self.settings.sender or f"{self.title} <noreply@{self.prefix}.localhost>"
        address = parseaddr(self.sender)[1]
        # the right-hand side of every Message-ID: the sender's domain
        self.domain = address.rsplit("@", 1)[-1] if "@" in address else f"{self.prefix}.localhost"

    def run(self) -> DeliveryReport:
        report = DeliveryReport()
        report.reminders = self.orch.send_reminders(self.settings.reminder_days)
        while True:
            messages, people = self.fan_out()
            report.fanned_out += messages
            report.notified += people
            if messages == 0:
                break
        if self.settings.mail_enabled:
            report.digests = self.queue_digests()
            sent, failed = self.send_due()
            report.emails_sent, report.emails_failed = sent, failed
        return report

    # --- fan-out ----------------------------------------------------------------------------------
    def fan_out(self, limit: int = 200) -> tuple[int, int]:
        """Turn new outbox messages into notifications and queued e-mails; (messages, recipients)."""
        now = clock.now()
        rules = group_rules(self.orch.registry.access)
        mail = self.settings.mail_enabled
        with self.orch.uow() as uow:
            s = uow.session
            messages = list(
                s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not messages:
                return 0, 0
            context = _load_context(s, messages)
            reached = 0
            for message in messages:
                instance = context.instances.get(message.instance_id or 0)
                region_code = message.region_code or (instance.region_code if instance else None)
                qualified = _recipients(s, message, region_code, rules.regional)
                people = [person for person in qualified if person.username != message.actor]
                for person in people:
                    wants_mail = mail and bool(person.email)
                    s.add(
                        Notification(
                            outbox_id=message.id,
                            user_id=person.id,
                            created_at=now,
                            digest_pending=wants_mail and person.notify_mode == "digest",
                        )
                    )
                    if wants_mail and person.notify_mode == "each":
                        s.add(self._email(message, person, context, now))
                message.sent_at, message.recipients = now, len(qualified)
                reached += len(people)
                if not qualified:
                    log.warning("outbox message %s (%s) reached nobody", message.id, message.key)
            uow.commit()
            return len(messages), reached

    def _email(self, message: OutboxMessage, person: User, context: _Context, now: datetime) -> EmailDelivery:
        return EmailDelivery(
            message_id=f"<{self.prefix}.{message.id}.{person.id}@{self.domain}>",
            kind="each",
            outbox_id=message.id,
            user_id=person.id,
            to_address=person.email,
            subject=f"[{self.title}] {message.subject}"[:300],
            body=self._body(person, [message], context),
            created_at=now,
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )

    def _body(self, person: User, messages: list[OutboxMessage], context: _Context, intro: str = "") -> str:
        base = self.settings.base_url
        parts = [f"Yth. {person.name},", ""]
        if intro:
            parts += [intro, ""]
        for n, message in enumerate(messages, 1):
            prefix = f"{n}. " if len(messages) > 1 else ""
            if len(messages) > 1 or not intro:
                parts.append(f"{prefix}{message.subject}")
            if message.body:
                parts.append(message.body)
            parts += _facts(message, context)
            parts += [f"Buka: {base}{link_path(message.task_id, message.instance_id)}", ""]
        parts += [
            "--",
            self.footer,
            f"Atur pemberitahuan e-mail Anda: {base}/pemberitahuan/pengaturan",
        ]
        return "\n".join(parts)

    # --- digests ----------------------------------------------------------------------------------
    def queue_digests(self) -> int:
        """Each person who asked for a daily digest gets one mail of what came since the last, at
        07:00 in their region; one digest per person and day (its Message-ID says which day)."""
        now = clock.now()
        queued = 0
        with self.orch.session() as s:
            waiting = list(
                s.scalars(select(Notification.user_id).where(Notification.digest_pending).distinct())
            )
        for user_id in waiting:
            with self.orch.uow() as uow:
                s = uow.session
                person = s.get(User, user_id)
                pending = Notification.digest_pending & (Notification.user_id == user_id)
                if person is None or person.notify_mode != "digest" or not person.email:
                    s.execute(update(Notification).where(pending).values(digest_pending=False))
                    uow.commit()
                    continue
                timezone = _timezone(s, person.region_code, self.orch.default_timezone)
                today = local_today(now, timezone)
                cutoff = start_of_day(today, timezone) + DIGEST_TIME  # what came before goes in today's
                if now < cutoff:
                    continue
                message_id = f"<{self.prefix}.ringkasan.{person.id}.{today:%Y%m%d}@{self.domain}>"
                if s.scalar(select(EmailDelivery.id).where(EmailDelivery.message_id == message_id)):
                    continue  # today's digest went out; what came since waits for tomorrow's
                rows = s.execute(
                    select(Notification.id, OutboxMessage)
                    .join(OutboxMessage, OutboxMessage.id == Notification.outbox_id)
                    .where(pending, Notification.created_at < cutoff)
                    .order_by(OutboxMessage.id)
                    .limit(200)
                ).all()
                if not rows:
                    continue
                messages = [row[1] for row in rows]
                digest = EmailDelivery(
                    message_id=message_id,
                    kind="digest",
                    user_id=person.id,
                    to_address=person.email,
                    subject=f"[{self.title}] Ringkasan pemberitahuan {format_day(today)} ({len(messages)})",
                    body=self._body(
                        person,
                        messages,
                        _load_context(s, messages),
                        f"Ringkasan {len(messages)} pemberitahuan {self.title} untuk Anda "
                        "sejak ringkasan terakhir:",
                    ),
                    created_at=now,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
                s.add(digest)
                s.flush()
                s.execute(
                    update(Notification)
                    .where(Notification.id.in_([row[0] for row in rows]))
                    .values(digest_pending=False, digest_id=digest.id)
                )
                uow.commit()
                queued += 1
        return queued

    # --- sending ----------------------------------------------------------------------------------
    def send_due(self) -> tuple[int, int]:
        """Send the queued mails that are due, batch by batch; (sent, failed attempts)."""
        sent = failed = 0
        while True:
            batch = self._lease()
            if not batch:
                return sent, failed
            mailer = Mailer(self.settings)
            try:
                for mail in batch:
                    try:
                        mailer.send(self._mime(mail))
                    except (smtplib.SMTPException, OSError) as err:
                        log.warning("e-mail %s to %s failed: %s", mail.id, mail.to_address, err)
                        self._failed(mail.id, err)
                        failed += 1
                    else:
                        self._sent(mail.id)
                        sent += 1
            finally:
                mailer.close()

    def _lease(self) -> list[EmailDelivery]:
        now = clock.now()
        with self.orch.uow() as uow:
            s = uow.session
            batch = list(
                s.scalars(
                    select(EmailDelivery)
                    .where(
                        EmailDelivery.status == "pending",
                        EmailDelivery.next_attempt_at <= now,
                        or_(EmailDelivery.locked_until.is_(None), EmailDelivery.locked_until <= now),
                    )
                    .order_by(EmailDelivery.next_attempt_at, EmailDelivery.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for mail in batch:
                mail.locked_by, mail.locked_until = self.worker_id, now + LEASE
            uow.commit()
            return batch

    def _mime(self, mail: EmailDelivery) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(mail.created_at)
        message["Message-ID"] = mail.message_id
        message["Auto-Submitted"] = "auto-generated"
        message["Content-Language"] = "id"
        message.set_content(mail.body)
        return message

    def _sent(self, delivery_id: int) -> None:
        with self.orch.uow() as uow:
            uow.session.execute(
                update(EmailDelivery)
                .where(EmailDelivery.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=clock.now(),
                    attempts=EmailDelivery.attempts + 1,
                    locked_by=None,
                    locked_until=None,
                    last_error=None,
                )
            )
            uow.commit()

    def _failed(self, delivery_id: int, err: BaseException) -> None:
        now = clock.now()
        with self.orch.uow() as uow:
            mail = uow.session.get(EmailDelivery, delivery_id)
            if mail is None:
                return
            mail.attempts += 1
            mail.last_error = _error_text(err)
            mail.locked_by = mail.locked_until = None
            if is_permanent(err) or mail.attempts >= MAX_ATTEMPTS:
                mail.status = "failed"
            else:
                mail.next_attempt_at = now + RETRY_DELAYS[mail.attempts - 1]
            uow.commit()


def _timezone(s: Session, region_code: str | None, default: str) -> str:
    if region_code is None:
        return default
    return s.scalar(select(Region.timezone).where(Region.code == region_code)) or default


def _recipients(s: Session, message: OutboxMessage, region_code: str | None, regional: frozenset[str]):
    """Active users the message is for: group members (a regional group's in the region only) and
    the named users (the caller leaves out the person whose action caused it)."""
    clauses = []
    for group in split(message.recipient_group):
        member = (literal(",") + User.groups + literal(",")).contains(f",{group},", autoescape=True)
        if group in regional:
            member = and_(member, User.region_code == region_code) if region_code else None
        if member is not None:
            clauses.append(member)
    named = split(message.recipient_users)
    if named:
        clauses.append(User.username.in_(named))
    if not clauses:
        return []
    return list(s.scalars(select(User).where(User.active, or_(*clauses)).order_by(User.username)))


def _load_context(s: Session, messages: Iterable[OutboxMessage]) -> _Context:
    messages = list(messages)
    instance_ids = {m.instance_id for m in messages if m.instance_id}
    task_ids = {m.task_id for m in messages if m.task_id}
    context = _Context()
    if instance_ids:
        for row in s.execute(
            select(Instance.id, Instance.title, Instance.region_code, Region.name, Region.timezone)
            .outerjoin(Region, Region.code == Instance.region_code)
            .where(Instance.id.in_(instance_ids))
        ):
            context.instances[row.id] = row
    if task_ids:
        for row in s.execute(select(Task.id, Task.name, Task.due_at).where(Task.id.in_(task_ids))):
            context.tasks[row.id] = row
    return context


def _facts(message: OutboxMessage, context: _Context) -> list[str]:
    """The case, region, task and deadline a message is about, one per line."""
    lines = []
    instance = context.instances.get(message.instance_id or 0)
    if instance is not None:
        lines.append(f"Kasus: {instance.title} (#{instance.id})")
        if instance.name:
            lines.append(f"Wilayah: {instance.name}")
    task = context.tasks.get(message.task_id or "")
    if task is not None:
        lines.append(f"Tugas: {task.name}")
        if task.due_at is not None:
            timezone = (instance.timezone if instance is not None else None) or "Asia/Jakarta"
            day = deadline_day(task.due_at, timezone)
            lines.append(f"Batas waktu: {format_day(day)} ({zone_label(timezone)})")
    return lines


# --- what operators see and do ---------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    kind: str  # email | unreached
    id: int
    at: datetime
    subject: str
    recipient: str
    error: str
    attempts: int
    link: str


def failures(s: Session, limit: int = 100) -> list[Failure]:
    """E-mails that failed for good, and messages that reached nobody; newest first."""
    mails = s.execute(
        select(EmailDelivery, User.username, OutboxMessage.task_id, OutboxMessage.instance_id)
        .join(User, User.id == EmailDelivery.user_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == EmailDelivery.outbox_id)
        .where(EmailDelivery.status == "failed")
        .order_by(EmailDelivery.id.desc())
        .limit(limit)
    ).all()
    unreached = s.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipients == 0)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    rows = [
        Failure(
            "email",
            mail.id,
            mail.created_at,
            mail.subject,
            f"{username} <{mail.to_address}>",
            mail.last_error or "",
            mail.attempts,
            link_path(task_id, instance_id),
        )
        for mail, username, task_id, instance_id in mails
    ]
    rows += [
        Failure(
            "unreached",
            m.id,
            m.created_at,
            m.subject,
            " ".join(filter(None, [m.recipient_group, m.recipient_users, m.region_code])) or "-",
            "Tidak ada pengguna aktif di grup/wilayah ini",
            0,
            link_path(m.task_id, m.instance_id),
        )
        for m in unreached
    ]
    rows.sort(key=lambda f: f.at, reverse=True)
    return rows[:limit]


def pending_count(s: Session) -> dict[str, int]:
    """How much waits: messages not fanned out yet, e-mails not sent yet."""
    return {
        "outbox": s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None))) or 0,
        "email": s.scalar(select(func.count(EmailDelivery.id)).where(EmailDelivery.status == "pending")) or 0,
    }


def retry_email(
    orch: Orchestrator, delivery_id: int, actor: Actor | None = None, user: str | None = None
) -> None:
    """An operator sends a failed e-mail again (after fixing the address or the server)."""
    user = actor.username if actor else user
    if actor is not None and not actor.is_operator:
        raise Forbidden("Hanya operator yang dapat mengirim ulang e-mail")
    with orch.uow() as uow:
        s = uow.session
        mail = s.get(EmailDelivery, delivery_id)
        if mail is None:
            raise NotFound(f"E-mail {delivery_id} tidak ditemukan")
        if mail.status != "failed":
            raise Conflict(f"E-mail {delivery_id} tidak gagal (status {mail.status})")
        address = s.scalar(select(User.email).where(User.id == mail.user_id))
        if address:
            mail.to_address = address  # the operator may have corrected it meanwhile
        mail.status, mail.attempts, mail.next_attempt_at, mail.last_error = "pending", 0, clock.now(), None
        orch._audit(
            s,
            None,
            user,
            "email-retry",
            detail={"email": delivery_id, "to": mail.to_address},
        )
        uow.commit()
