"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the delivery tests.

It can answer a mail with a temporary (4xx) or permanent (5xx) refusal, and it can kill the
process that is sending (after it has the whole mail, before it answers), which is how a worker
dies between the server's acceptance and its own "sent" mark.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()  # folded right after "Subject:" when long

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def body(self) -> str:
        return self.message.get_content()


class SmtpSink:
    """Collects mail; `refuse` = "451 ..." or "550 ..." answers DATA with that; `kill_pid` dies."""

    def __init__(self) -> None:
        self.received: list[Received] = []  # accepted mail
        self.refused: list[Received] = []  # mail answered with `refuse`
        self.refuse: str | None = None
        self.kill_pid: int | None = None
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server, session, envelope) -> str:
        mail = Received(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            message_from_bytes(envelope.original_content, policy=policy.default),
        )
        with self._lock:
            if self.kill_pid is not None:
                self.received.append(mail)  # the server has it; the sender never hears so
                pid, self.kill_pid = self.kill_pid, None
                os.kill(pid, signal.SIGKILL)
                return "250 OK"
            if self.refuse:
                self.refused.append(mail)
                return self.refuse
            self.received.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.rcpt_tos]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.refused.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
