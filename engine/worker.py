"""The worker: runs due jobs and fires due timers, waking at the next due time and on an interval.

APScheduler holds three jobs: a steady `tick` every `interval` seconds (catches work written by
other processes), a one-off `wake` at the earliest due time it knows of, and a cheap `poll`
every `poll_interval` seconds (one statement, two indexed reads) that runs a service-task job a
step of any process has just created within a second, so people do not wait on a system step
(SQLite has no NOTIFY; on PostgreSQL the listener below is usually first). A timer missed while
no worker ran is simply due when one starts, so it fires on the first tick. A fourth job folds
the case counts every minute; on SQLite a fifth refreshes the planner's statistics hourly.

On PostgreSQL it also listens (`LISTEN ksdpl_work`): a step that creates a job or a timer
notifies the channel when it commits, and the worker runs at once (a service task after a user
task starts within a second, not on the next poll) and wakes again at the new earliest due time.

When the database cannot be reached the worker says so in the log, drops its connections and
tries again after 1, 2, 4 ... seconds (at most `interval`), then logs when it is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from . import case_counts
from .clock import clock
from .delivery import Delivery
from .errors import Unavailable
from .jobs import RunReport
from .projections import WORK_CHANNEL
from .service import Orchestrator
from .store import refresh_statistics

log = logging.getLogger(__name__)

STATISTICS_INTERVAL = 3600.0  # seconds between two refreshes of SQLite's planner statistics
COUNTS_INTERVAL = 60.0  # seconds between two foldings of the case counts (engine/case_counts.py)


class Worker:
    def __init__(
        self,
        orchestrator: Orchestrator,
        worker_id: str | None = None,
        interval: float = 30.0,
        delivery: Delivery | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.orchestrator = orchestrator
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.interval = interval
        self.poll_interval = poll_interval
        self.delivery = delivery or Delivery(orchestrator, worker_id=self.worker_id)
        self._lock = threading.Lock()
        self.scheduler: BaseScheduler | None = None
        self.outage_attempts = 0  # failed ticks in a row because the database was unavailable
        self.ticks = 0  # finished runs, however they were started
        self.listening = threading.Event()  # set while subscribed to PostgreSQL's notifications
        self._stopped = threading.Event()

    def run_once(self) -> RunReport:
        """Everything due now, including what became due while running it (one `run_due`: a step
        that lost a race is tried again on the next run, not in this one); then the outbox
        (reminders, notifications, e-mail)."""
        with self._lock:
            total = self.orchestrator.run_due(self.worker_id, limit=None)
            delivered = self.delivery.run()
            total.reminders, total.notified = delivered.reminders, delivered.notified
            total.emails_sent, total.emails_failed = delivered.emails_sent, delivered.emails_failed
            self.orchestrator.heartbeat(self.worker_id)
            return total

    def _tick(self) -> None:
        try:
            if self.outage_attempts:  # what the run the outage cut short left leased
                self.orchestrator.release_leases(self.worker_id)
            report = self.run_once()
            if (
                report.total
                or report.conflicts
                or report.notified
                or report.emails_sent
                or report.emails_failed
            ):
                log.info("worker %s: %s", self.worker_id, report)
            self._recovered()
            self._schedule_wake()
            self.ticks += 1
        except Unavailable as err:
            self._outage(err)
        except Exception:  # the scheduler must keep running; the failure is logged with its traceback
            log.exception("worker tick failed")

    def _poll(self) -> None:
        """A job became due (a step just created it): run it now rather than at the next tick."""
        if self._lock.locked() or self.outage_attempts:
            return  # a tick is running, or the outage back-off decides when to try again
        try:
            due = self.orchestrator.next_job_due()
        except Unavailable:
            return  # the next tick reports the outage and backs off
        if due is not None and due <= clock.now():
            self._tick()

    def retry_delay(self) -> float:
        """Seconds to wait before the next try while the database is unavailable."""
        return min(2.0 ** max(self.outage_attempts - 1, 0), max(self.interval, 1.0))

    def _outage(self, err: Unavailable) -> None:
        self.outage_attempts += 1
        self.orchestrator.db.dispose()  # reconnect from scratch: pooled connections may be dead
        delay = self.retry_delay()
        level = logging.ERROR if self.outage_attempts == 1 else logging.WARNING
        log.log(
            level,
            "worker %s: database unavailable (%s); attempt %d, retrying in %.0f s",
            self.worker_id,
            err.detail or err,
            self.outage_attempts,
            delay,
        )
        if self.scheduler is not None:
            run_at = datetime.now(UTC) + timedelta(seconds=delay)
            self.scheduler.add_job(self._tick, "date", run_date=run_at, id="wake", replace_existing=True)

    def _recovered(self) -> None:
        if self.outage_attempts:
            log.warning(
                "worker %s: database reachable again after %d failed attempts",
                self.worker_id,
                self.outage_attempts,
            )
            self.outage_attempts = 0

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

    def _wake_now(self) -> None:
        if self.scheduler is not None:
            self.scheduler.add_job(
                self._tick, "date", run_date=datetime.now(UTC), id="wake", replace_existing=True
            )

    def _listen(self) -> None:
        """PostgreSQL: run as soon as a committed step notifies `ksdpl_work`; reconnect after an
        outage (the interval's tick still covers what was notified meanwhile)."""
        import psycopg

        url = self.orchestrator.db.url.set(drivername="postgresql")
        while not self._stopped.is_set():
            try:
                with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
                    conn.execute(f"LISTEN {WORK_CHANNEL}")
                    self.listening.set()
                    while not self._stopped.is_set():
                        if any(True for _ in conn.notifies(timeout=1.0, stop_after=1)):
                            self._wake_now()
            except psycopg.Error as err:
                self.listening.clear()
                log.warning(
                    "worker %s: not listening for new work (%s); polling meanwhile", self.worker_id, err
                )
                self._stopped.wait(self.retry_delay() if self.outage_attempts else self.interval)
        self.listening.clear()

    def _build(self, scheduler: BaseScheduler) -> BaseScheduler:
        self.scheduler = scheduler
        if self.orchestrator.db.dialect.name == "postgresql":
            self._stopped.clear()
            scheduler.add_listener(lambda _event: self._stopped.set(), EVENT_SCHEDULER_SHUTDOWN)
            threading.Thread(target=self._listen, name=f"listen-{self.worker_id}", daemon=True).start()
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id="tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self._poll, "interval", seconds=self.poll_interval, id="poll", max_instances=1, coalesce=True
        )
        scheduler.add_job(
            self.compact_case_counts,
            "interval",
            seconds=COUNTS_INTERVAL,
            id="case_counts",
            max_instances=1,
            coalesce=True,
        )
        if self.orchestrator.db.dialect.name == "sqlite":
            scheduler.add_job(
                self.refresh_statistics,
                "interval",
                seconds=STATISTICS_INTERVAL,
                id="statistics",
                next_run_time=datetime.now(UTC) + timedelta(seconds=self.interval),
                max_instances=1,
                coalesce=True,
            )
        return scheduler

    def refresh_statistics(self) -> None:
        """SQLite's planner statistics, hourly (`store.refresh_statistics`; PostgreSQL keeps its own)."""
        try:
            refresh_statistics(self.orchestrator.db)
        except Exception:  # a locked database or an outage: the next hour tries again
            log.exception("refreshing the planner statistics failed")

    def compact_case_counts(self) -> None:
        """Fold the case counts' rows of +1 and -1 into one per group (`case_counts.compact`), so
        the dashboard adds up a minute's changes at most."""
        try:
            case_counts.compact(self.orchestrator.db)
        except Exception:  # an outage: the next minute tries again, the counts stay right meanwhile
            log.exception("folding the case counts failed")

    def run_forever(self) -> None:
        """Block, running due work until interrupted (the `worker` command)."""
        scheduler = self._build(BlockingScheduler(timezone=UTC))
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()

    def start_background(self) -> BaseScheduler:
        """Run beside a web server in the same process (`serve --with-worker`)."""
        scheduler = self._build(BackgroundScheduler(timezone=UTC))
        scheduler.start()
        return scheduler
