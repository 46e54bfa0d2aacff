"""Walks a KSDPL case through the JSON API as another system would: for each task it reads the
form (GET /api/v1/tasks/{id}), fills it (fields the case already knows are sent again, decisions
never), claims the task as a user of its candidate group, and completes it with the required
files as multipart parts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from engine.calendar import local_today
from engine.clock import clock
from tests.api.conftest import PDF, Api
from tests.ksdpl.driver import DECISIONS, placeholder

# the user of each candidate group who does its tasks (Kota Surabaya)
DOER = {
    "pemda": "pemda.sby",
    "kepala_daerah": "kada.sby",
    "dprd": "dprd.sby",
    "kemendagri": "kemendagri",
    "kemenlu": "kemenlu",
}


class HttpCase:
    def __init__(self, api: dict[str, Api], instance_id: int, timezone: str = "Asia/Jakarta") -> None:
        self.api = api
        self.id = instance_id
        self.timezone = timezone

    @property
    def today(self) -> date:
        return local_today(clock.now(), self.timezone)

    def detail(self, user: str = "kemendagri") -> dict[str, Any]:
        return self.api[user].ok("get", f"/api/v1/instances/{self.id}")

    def ready(self) -> list[str]:
        return sorted(t["element"] for t in self.detail()["tasks"])

    def _task(self, element: str) -> dict[str, Any]:
        matching = [t for t in self.detail()["tasks"] if t["element"] == element]
        assert len(matching) == 1, f"ready: {self.ready()}, not {element}"
        return matching[0]

    def form(self, element: str, given: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The doer, the JSON variables and the file parts for a task, as a client would build them."""
        summary = self._task(element)
        doer = DOER[summary["candidate_groups"][0]]
        task = self.api[doer].ok("get", f"/api/v1/tasks/{summary['id']}")
        assert task["may_do"], f"{doer} may not do {element}"
        known = self.detail(doer)["variables"]
        values: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for field in task["form"]:
            field_id, kind = field["id"], field["type"]
            if field["readonly"]:
                continue
            if field_id in given:
                value = given[field_id]
                if kind == "file" and isinstance(value, bytes):
                    files[field_id] = (f"{field_id}.pdf", value, "application/pdf")
                    continue
            elif kind == "file":
                if field["required"]:
                    files[field_id] = (f"{field_id}.pdf", PDF, "application/pdf")
                continue
            elif known.get(field_id) is not None and field_id not in DECISIONS:
                value = known[field_id]
            elif kind == "boolean" or not field["required"]:
                continue
            elif kind == "date":
                value = self.today
            elif kind in ("string", "textarea"):
                value = placeholder(field)
            else:
                raise AssertionError(f"{element}: the test must choose {field_id} ({kind})")
            values[field_id] = value.isoformat() if isinstance(value, date) else value
        unknown = set(given) - {f["id"] for f in task["form"]}
        assert not unknown, f"{element} has no fields {sorted(unknown)}"
        return doer, {"id": task["id"], "variables": values}, files

    def complete(self, element: str, **given: Any) -> dict[str, Any]:
        doer, body, files = self.form(element, given)
        client = self.api[doer]
        client.ok("post", f"/api/v1/tasks/{body['id']}/claim")
        if files:
            return client.ok(
                "post",
                f"/api/v1/tasks/{body['id']}/complete",
                data={"variables": json.dumps(body["variables"])},
                files=files,
            )
        return client.ok(
            "post", f"/api/v1/tasks/{body['id']}/complete", json={"variables": body["variables"]}
        )
