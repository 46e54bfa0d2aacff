"""Handlers for the worker-process tests: each run of a job is appended to a shared log file."""

import os
import time

from engine.registry import HandlerRegistry

registry = HandlerRegistry()


@registry.service("test.score")
def score(ctx):
    with open(os.environ["KSDPL_TEST_JOB_LOG"], "a") as log:
        log.write(f"{ctx.task_id} {os.getpid()}\n")
    if os.environ.get("KSDPL_TEST_DIE"):
        os._exit(9)  # the worker dies in the middle of its batch, as under kill -9
    time.sleep(0.05)  # long enough for the two workers to overlap
    return {"skor": 1}


@registry.user_task("test.review")
def review(ctx):
    return {}
