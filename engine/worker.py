"""The worker: runs due jobs and fires due timers, waking at the next due time and on an interval.

APScheduler holds two jobs: a steady `tick` every `interval` seconds (catches work written by
other processes) and a one-off `wake` at the earliest due time it knows of. A timer missed
while no worker ran is simply due when one starts, so it fires on the first tick.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .clock import clock
from .delivery import Delivery
from .jobs import RunReport
from .service import Orchestrator

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        orchestrator: Orchestrator,
        worker_id: str | None = None,
        interval: float = 30.0,
        delivery: Delivery | None = None,
    ) -> None:
        self.orchestrator = orchestrator
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.interval = interval
        self.delivery = delivery or Delivery(orchestrator, worker_id=self.worker_id)
        self._lock = threading.Lock()
        self.scheduler: BaseScheduler | None = None

    def run_once(self) -> RunReport:
        """Everything due now, including what became due while running it; then the outbox
        (reminders, notifications, e-mail)."""
        with self._lock:
            total = RunReport()
            while True:
                report = self.orchestrator.run_due(self.worker_id)
                for name in ("jobs_run", "jobs_failed", "incidents", "timers_fired", "conflicts"):
                    setattr(total, name, getattr(total, name) + getattr(report, name))
                if report.total == 0:
                    break
            delivered = self.delivery.run()
            total.reminders, total.notified = delivered.reminders, delivered.notified
            total.emails_sent, total.emails_failed = delivered.emails_sent, delivered.emails_failed
            return total

    def _tick(self) -> None:
        try:
            report = self.run_once()
            if report.total or report.notified or report.emails_sent or report.emails_failed:
                log.info("worker %s: %s", self.worker_id, report)
        except Exception:  # the scheduler must keep running; the failure is logged with its traceback
            log.exception("worker tick failed")
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        if self.scheduler is None:
            return
        due = self.orchestrator.next_due()
        if due is None:
            return
        now = clock.now()
        if due - now >= timedelta(seconds=self.interval):
            return
        run_at = datetime.now(UTC) + max(due - now, timedelta(0))
        self.scheduler.add_job(self._tick, "date", run_date=run_at, id="wake", replace_existing=True)

    def _build(self, scheduler: BaseScheduler) -> BaseScheduler:
        self.scheduler = scheduler
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id="tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        return scheduler

    def run_forever(self) -> None:
        """Block, running due work until interrupted (`ksdpl worker`)."""
        scheduler = self._build(BlockingScheduler(timezone=UTC))
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()

    def start_background(self) -> BaseScheduler:
        """Run beside a web server in the same process (`ksdpl serve --with-worker`)."""
        scheduler = self._build(BackgroundScheduler(timezone=UTC))
        scheduler.start()
        return scheduler
