"""Handlers for the kill -9 test: every run of the job is logged (with its idempotency key)
before it returns, and lasts a random while so kills land inside steps as well as between."""

import os
import random
import time

from engine.registry import HandlerRegistry
from tests.engine.conftest import ACCESS

registry = HandlerRegistry("uji")
registry.access = ACCESS


@registry.service("test.score")
def score(ctx):
    with open(os.environ["KSDPL_TEST_JOB_LOG"], "a") as log:
        log.write(f"{ctx.task_id} {ctx.idempotency_key} {os.getpid()}\n")
    time.sleep(random.uniform(0, 0.05))
    ctx.notify("pemda", f"Skor dihitung untuk {ctx.task_id}")
    return {"skor": len(ctx.variables.get("isi", ""))}


@registry.user_task("test.review")
def review(ctx):
    return {}
