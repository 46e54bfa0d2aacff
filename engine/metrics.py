"""Step latency, observed in the process that runs the step (web, worker or both with
`serve --with-worker`) and exposed at `/metrics` with the database counts (web/ops.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

STEP_SECONDS = Histogram(
    "ksdpl_step_seconds",
    "Time of one engine step (load, apply, engine, save) by action, before its commit",
    ["action"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

STEP_LOADS = Counter(
    "ksdpl_step_loads",
    "How steps got their case: a workflow this process kept from its own last save, or restored "
    "from the stored state (engine.warm)",
    ["source"],
)
