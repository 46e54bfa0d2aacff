"""`/healthz` for load balancers and `/metrics` for Prometheus.

`/healthz` is public: 200 when the database answers and a worker finished a loop within
`KSDPL_HEARTBEAT_MAX_AGE` seconds (default 120: four of the worker's 30-second ticks), 503
otherwise, with what failed. `/metrics` needs an operator's bearer token (Prometheus:
`authorization: {credentials_file: ...}`); its counts are read from the projections on each scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from flask import Blueprint, Response, current_app, g, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden, Unauthorized

from engine.clock import clock
from engine.errors import Unavailable
from engine.models import CaseCount, Incident, Job, Task, Timer, WorkerHeartbeat

from .db import orchestrator

bp = Blueprint("ops", __name__)

DEFAULT_HEARTBEAT_MAX_AGE = 120.0


def _age(moment: datetime | None, now: datetime) -> float | None:
    return max((now - moment).total_seconds(), 0.0) if moment is not None else None


@bp.get("/healthz")
def healthz() -> Response:
    max_age = float(current_app.config.get("KSDPL_HEARTBEAT_MAX_AGE") or DEFAULT_HEARTBEAT_MAX_AGE)
    now = clock.now()
    body: dict[str, object] = {"database": "ok", "worker_heartbeat_age_seconds": None, "worker": "ok"}
    healthy = True
    try:
        with orchestrator().session() as s:
            s.execute(text("SELECT 1"))
            last = s.scalar(select(func.max(WorkerHeartbeat.beat_at)))
    except Unavailable as err:
        body["database"] = f"tidak dapat dihubungi: {err.detail}"
        body["worker"] = "tidak diketahui"
        healthy = False
    else:
        age = _age(last, now)
        body["worker_heartbeat_age_seconds"] = round(age, 1) if age is not None else None
        if age is None:
            body["worker"] = "belum pernah berjalan"
            healthy = False
        elif age > max_age:
            body["worker"] = f"terakhir berjalan {age:.0f} detik lalu (batas {max_age:.0f})"
            healthy = False
    body["status"] = "ok" if healthy else "gagal"
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


class DatabaseCollector(Collector):
    """The counts of one scrape, read in one session."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s, now = self.session, self.now
        cases = GaugeMetricFamily("ksdpl_cases", "Cases by status and stage", labels=["status", "stage"])
        for status, stage, count in s.execute(  # the triggers' counts (engine/case_counts.py)
            select(CaseCount.status, CaseCount.stage, func.sum(CaseCount.n))
            .group_by(CaseCount.status, CaseCount.stage)
            .having(func.sum(CaseCount.n) != 0)
        ):
            cases.add_metric([status, str(stage) if stage is not None else ""], count)
        yield cases
        ready = s.scalar(select(func.count()).select_from(Task).where(Task.status == "ready")) or 0
        overdue = (
            s.scalar(select(func.count()).select_from(Task).where(Task.status == "ready", Task.due_at < now))
            or 0
        )
        yield GaugeMetricFamily("ksdpl_ready_tasks", "User tasks waiting for someone", value=ready)
        yield GaugeMetricFamily("ksdpl_overdue_tasks", "Ready user tasks past their due time", value=overdue)
        oldest_job = s.scalar(
            select(func.min(Job.next_run_at)).where(Job.status == "ready", Job.next_run_at <= now)
        )
        oldest_timer = s.scalar(select(func.min(Timer.due_at)).where(Timer.due_at <= now))
        yield GaugeMetricFamily(
            "ksdpl_job_lag_seconds",
            "Age of the oldest due job not yet run",
            value=_age(oldest_job, now) or 0.0,
        )
        yield GaugeMetricFamily(
            "ksdpl_timer_lag_seconds",
            "Age of the oldest due timer not yet fired",
            value=_age(oldest_timer, now) or 0.0,
        )
        failed = s.scalar(select(func.count()).select_from(Job).where(Job.status == "failed")) or 0
        yield GaugeMetricFamily("ksdpl_failed_jobs", "Jobs stopped by an incident", value=failed)
        incidents = (
            s.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))) or 0
        )
        yield GaugeMetricFamily("ksdpl_open_incidents", "Incidents not yet retried", value=incidents)
        beat = s.scalar(select(func.max(WorkerHeartbeat.beat_at)))
        heartbeat = GaugeMetricFamily(
            "ksdpl_worker_heartbeat_age_seconds", "Seconds since a worker last finished a loop (-1: never)"
        )
        heartbeat.add_metric([], _age(beat, now) if beat is not None else -1.0)
        yield heartbeat


def _process_metrics() -> CollectorRegistry:
    """Step latency (and the process's own figures): this process's, or with several gunicorn
    workers and PROMETHEUS_MULTIPROC_DIR set, every worker's summed (prometheus_client's
    multiprocess mode)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    if not g.get("api_token"):
        raise Unauthorized()
    if not g.actor.is_operator:
        raise Forbidden()
    registry = CollectorRegistry(auto_describe=False)
    with orchestrator().session() as s:
        registry.register(DatabaseCollector(s, clock.now()))
        output = generate_latest(registry) + generate_latest(_process_metrics())
    return Response(output, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def init_app(app) -> None:
    app.extensions["csrf"].exempt(bp)
    app.register_blueprint(bp)
