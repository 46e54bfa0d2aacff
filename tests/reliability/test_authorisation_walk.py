"""Authorisation walk (proof 5): every route of the Flask URL map, every method, every role, with
the ids of a case in Kota A (foreign to Kota B's clerk). Only the expected roles get through; a
route without an expectation fails the test, so a new page cannot ship unexamined.

"Through" means the request reached its action: 2xx, a redirect that is not the login page, or
a refusal of the content (409, 422) after the authority check. "Refused" means 401/403/404 or a
redirect to the login page; anything else (500 above all) fails."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from engine.clock import clock
from engine.models import EmailDelivery, Notification, OutboxMessage, User
from tests.web.conftest import add_pdf, app_config, ready_task, start_case
from web import create_app

ROLES = ("anonim", "pemda_a", "pemda_b", "dprd_a", "kemendagri", "operator")
EVERYONE = frozenset(ROLES) - {"anonim"}
SEES_KOTA_A = frozenset({"pemda_a", "dprd_a", "kemendagri", "operator"})
PUBLIC = frozenset(ROLES)

# (endpoint, method) -> the roles that get through, with the ids of Kota A's case.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("static", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): frozenset(EVERYONE),  # logged in: sent to the inbox; anonymous: 401
    ("auth.logout", "POST"): frozenset(),  # everyone lands on the login page, by design
    ("inbox.index", "GET"): EVERYONE,
    ("inbox.claim", "POST"): frozenset({"pemda_a"}),  # operators never claim (finding 9)
    ("inbox.unclaim", "POST"): frozenset({"pemda_a", "operator"}),  # operators may release
    ("inbox.request_release", "POST"): frozenset({"pemda_a"}),  # 409 here: nobody else holds the task
    ("cases.task", "GET"): SEES_KOTA_A,
    ("cases.complete", "POST"): frozenset({"pemda_a"}),
    ("cases.save_draft", "POST"): frozenset({"pemda_a"}),  # a draft of a task one may do
    # the process's starters, in their own region (operators have none: they start from the CLI)
    ("cases.new_case", "GET"): frozenset({"pemda_a", "pemda_b"}),
    ("cases.new_case", "POST"): frozenset({"pemda_a", "pemda_b"}),
    ("cases.cases", "GET"): EVERYONE,  # the list is filtered, not refused
    ("cases.case", "GET"): SEES_KOTA_A,
    ("cases.document", "GET"): SEES_KOTA_A,
    ("cases.comment", "POST"): SEES_KOTA_A,
    ("letters.draft", "POST"): frozenset(),  # the test process offers no letter: nobody drafts one
    ("notifications.index", "GET"): EVERYONE,
    ("notifications.open_one", "GET"): frozenset({"pemda_a"}),  # only its owner
    ("notifications.mark_read", "POST"): frozenset({"pemda_a"}),
    ("notifications.mark_all_read", "POST"): EVERYONE,
    ("notifications.settings", "GET"): EVERYONE,
    ("notifications.settings", "POST"): EVERYONE,
    ("notifications.failed", "GET"): frozenset({"operator"}),
    ("notifications.resend", "POST"): frozenset({"operator"}),
    # the case's diagram and live status: whoever sees the case
    ("diagram.xml", "GET"): SEES_KOTA_A,
    ("diagram.marks", "GET"): SEES_KOTA_A,
    ("diagram.status", "GET"): SEES_KOTA_A,
    # the JSON API takes a bearer token, never a session: every role's session gets 401
    # (tokens: tests/api/test_api.py); its OpenAPI document and the health check are public
    ("api.openapi", "GET"): PUBLIC,
    **{
        (f"api.{name}", method): frozenset()
        for name, method in (
            ("process_definitions", "GET"),
            ("deploy", "POST"),
            ("process_definition", "GET"),
            ("start", "POST"),
            ("instances", "GET"),
            ("instance", "GET"),
            ("history", "GET"),
            ("cancel", "POST"),
            ("documents", "GET"),
            ("upload", "POST"),
            ("document", "GET"),
            ("tasks", "GET"),
            ("task", "GET"),
            ("claim", "POST"),
            ("unclaim", "POST"),
            ("complete", "POST"),
            ("incidents", "GET"),
            ("retry", "POST"),
        )
    },
    ("ops.healthz", "GET"): PUBLIC,
    ("ops.metrics", "GET"): frozenset(),  # an operator's bearer token only
}
# The operator console: operators only (an empty form is a refusal of its content, after the
# authority check). Accounts and regions are for admins, and no admin is among the roles walked;
# the walk's case has no incident and no decree, so those ids are not found for anyone.
OPERATOR_ONLY = frozenset({"operator"})
EXPECTED |= {
    (f"console.{endpoint}", method): OPERATOR_ONLY
    for endpoint, method in (
        ("dashboard", "GET"),
        ("case_list", "GET"),
        ("queue", "GET"),
        ("incidents", "GET"),
        ("retry_many", "POST"),
        ("case", "GET"),
        ("cancel", "POST"),
        ("suspend", "POST"),
        ("resume", "POST"),
        ("set_variable", "POST"),
        ("reschedule", "POST"),
        ("reassign", "POST"),
        ("on_behalf", "GET"),
        ("on_behalf", "POST"),
        ("history_json", "GET"),
        ("history_csv", "GET"),
        ("deployments", "GET"),
        ("deploy", "POST"),
        ("download", "GET"),
        ("migrate", "GET"),
        ("migrate", "POST"),
        ("calendar", "GET"),
        ("add_decree", "POST"),
    )
}
EXPECTED |= {
    (f"console.{endpoint}", method): frozenset()
    for endpoint, method in (
        ("retry", "POST"),  # no incident
        ("retry_decree", "POST"),  # no decree
        ("accounts", "GET"),  # admins
        ("account", "GET"),
        ("create_account", "POST"),
        ("toggle_account", "POST"),
        ("reset_password", "POST"),
        ("change_groups", "POST"),
        ("regions", "GET"),
        ("add_region", "POST"),
    )
}


@pytest.fixture
def ids(orch) -> dict[str, str]:
    instance_id = start_case(orch, "pemda_a")
    task_id = ready_task(orch, instance_id, "Penjajakan")
    document_id = add_pdf(orch, instance_id, task_id)
    now = clock.now()
    with orch.uow() as uow:
        s = uow.session
        pemda_a = s.query(User).filter_by(username="pemda_a").one()
        outbox_id = s.execute(
            insert(OutboxMessage)
            .values(key="uji:1", instance_id=instance_id, subject="Uji", created_at=now, sent_at=now)
            .returning(OutboxMessage.id)
        ).scalar_one()
        notification_id = s.execute(
            insert(Notification)
            .values(outbox_id=outbox_id, user_id=pemda_a.id, created_at=now)
            .returning(Notification.id)
        ).scalar_one()
        email_id = s.execute(
            insert(EmailDelivery)
            .values(
                message_id="<uji@ksdpl>",
                kind="each",
                outbox_id=outbox_id,
                user_id=pemda_a.id,
                to_address="a@contoh.go.id",
                subject="Uji",
                body="-",
                created_at=now,
                status="failed",
                next_attempt_at=now,
            )
            .returning(EmailDelivery.id)
        ).scalar_one()
        uow.commit()
    orch.heartbeat("uji")  # a worker ran: /healthz answers 200
    return {
        "instance_id": str(instance_id),
        "incident_id": "1",
        "task_id": task_id,
        "document_id": str(document_id),
        "notification_id": str(notification_id),
        "email_id": str(email_id),
        "key": "surat_tidak_ada",
        "filename": "style.css",
        "decree_id": "999999",
        "definition_id": "1",
        "timer_id": "tidak-ada",
        "username": "pemda_a2",
    }


def _path(rule, ids: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: ids[m[1]], rule.rule)


def _outcome(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code in (401, 403, 404) or (response.status_code == 302 and "/login" in location):
        return "refused"
    if response.status_code < 400 or response.status_code in (409, 422):
        return "through"
    return f"status {response.status_code}"


def _client(app, role: str):
    client = app.test_client()
    if role != "anonim":
        response = client.post("/login", data={"username": role, "password": "rahasia-uji-123"})
        assert response.status_code == 302
    return client


def test_every_route_answers_only_the_roles_it_should(orch, ids):
    app = create_app(app_config(orch))
    rules = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    unexamined = sorted({(r.endpoint, m) for r, m in rules} - set(EXPECTED))
    assert unexamined == [], "new routes need an expectation in EXPECTED"
    wrong = []
    calls = 0
    for role in ROLES:
        client = _client(app, role)
        for rule, method in rules:
            response = client.open(_path(rule, ids), method=method, data={})
            calls += 1
            outcome = _outcome(response)
            expected = "through" if role in EXPECTED[(rule.endpoint, method)] else "refused"
            if outcome != expected:
                wrong.append(
                    f"{role} {method} {rule.rule}: {outcome} ({response.status_code}), expected {expected}"
                )
            if rule.endpoint == "auth.logout":  # logging out ends the session: log in again
                client = _client(app, role)
    assert wrong == [], "\n".join(wrong)
    assert calls == len(ROLES) * len(rules)
