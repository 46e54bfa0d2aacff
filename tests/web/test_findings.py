"""Regression tests for the findings of the security probe (issue 10), one block per finding.

Each failed before its fix; the reliability suite (tests/reliability) proves the same properties
under load, crashes and hostile input."""

from __future__ import annotations

import threading
import unicodedata

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, NotFound
from engine.models import AuditEvent, Comment, Document, Instance, Task
from tests.web.conftest import (
    PENJAJAKAN,
    actor,
    add_pdf,
    ready_task,
    snapshot,
    start_case,
    text_of,
    to_dprd,
)
from web.cli import build_cli


def _cli(orch, *args: str):
    env = {"KSDPL_DATABASE_URL": orch.database_url, "KSDPL_HANDLERS": "tests.web.cli_handlers"}
    return CliRunner().invoke(build_cli(), list(args), env=env, catch_exceptions=False)


def _audit(orch, instance_id: int) -> list[tuple[str | None, str]]:
    with orch.session() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(AuditEvent.actor, AuditEvent.action)
                .where(AuditEvent.instance_id == instance_id)
                .order_by(AuditEvent.id)
            )
        ]


# --- 3. claiming races ------------------------------------------------------------------------------


def test_a_stale_claim_loses_instead_of_overwriting(orch):
    """Two people read the free task; the second update must not win over the first."""
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    with orch.session() as s:
        stale = s.execute(
            select(Task.id, Task.instance_id, Task.assignee, Task.bpmn_id, Task.name, Task.stage).where(
                Task.id == task_id
            )
        ).first()
    orch.claim(task_id, actor("pemda_a"))
    with orch.uow() as uow, pytest.raises(Conflict, match="pemda_a"):
        orch._assign(uow.session, stale, "pemda_a2", "claim", actor("pemda_a2"))
    with orch.session() as s:
        assert s.scalar(select(Task.assignee).where(Task.id == task_id)) == "pemda_a"


def test_two_claimers_at_once_one_winner(orch):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(username: str) -> None:
        barrier.wait()
        try:
            orch.claim(task_id, actor(username))
            outcomes[username] = "ok"
        except Conflict:
            outcomes[username] = "conflict"

    threads = [threading.Thread(target=claim, args=(u,)) for u in ("pemda_a", "pemda_a2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["conflict", "ok"]
    winner = next(u for u, o in outcomes.items() if o == "ok")
    with orch.session() as s:
        assert s.scalar(select(Task.assignee).where(Task.id == task_id)) == winner
    assert [a for a in _audit(orch, instance_id) if a[1] == "claim"] == [(winner, "claim")]


# --- 8. the CLI trusts any name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("orang.asing", "tidak ditemukan"),  # no such account
        ("pemda_b", "Tugas tidak ditemukan"),  # another region
        ("dprd_a", "tidak berhak"),  # another group
    ],
)
def test_cli_user_is_checked_like_the_web(orch, username, message):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    document_id = add_pdf(orch, instance_id, task_id)
    before = snapshot(orch)
    values = [f"--var={k}={v}" for k, v in {**PENJAJAKAN, "kajian": str(document_id)}.items()]
    result = _cli(orch, "complete", task_id, *values, "--user", username)
    assert result.exit_code == 1 and message in result.output
    assert snapshot(orch) == before


def test_cli_disabled_account_is_refused(orch):
    from web.accounts import set_active

    with orch.uow() as uow:
        set_active(uow.session, "pemda_a", False)
        uow.commit()
    instance_id = start_case(orch, "pemda_a2")
    task_id = ready_task(orch, instance_id, "Penjajakan")
    result = _cli(orch, "claim", task_id, "--user", "pemda_a")
    assert result.exit_code == 1 and "tidak aktif" in result.output


def test_cli_with_a_real_user_is_recorded_as_that_user_and_claims_count(orch):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    assert _cli(orch, "claim", task_id, "--user", "pemda_a2").exit_code == 0
    document_id = add_pdf(orch, instance_id, task_id, "pemda_a2")
    values = [f"--var={k}={v}" for k, v in {**PENJAJAKAN, "kajian": str(document_id)}.items()]
    taken = _cli(orch, "complete", task_id, *values, "--user", "pemda_a")
    assert taken.exit_code == 1 and "sedang dikerjakan oleh pemda_a2" in taken.output
    assert _cli(orch, "complete", task_id, *values, "--user", "pemda_a2").exit_code == 0
    assert ("pemda_a2", "complete") in _audit(orch, instance_id)


def test_cli_without_user_is_the_system_account_by_name(orch):
    import getpass

    instance_id = start_case(orch)
    assert _cli(orch, "cancel", str(instance_id)).exit_code == 0
    assert _audit(orch, instance_id)[-1] == (f"sistem (CLI, {getpass.getuser()})", "cancel")


def test_cli_user_must_be_an_operator_for_operator_commands(orch):
    instance_id = start_case(orch)
    result = _cli(orch, "cancel", str(instance_id), "--user", "pemda_a")
    assert result.exit_code == 1 and "Hanya operator" in result.output
    assert _cli(orch, "cancel", str(instance_id), "--user", "operator").exit_code == 0


# --- 9. operators complete business tasks ------------------------------------------------------


def test_operator_cannot_claim_or_complete_in_the_service(orch):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    before = snapshot(orch)
    with pytest.raises(Forbidden, match="Operator"):
        orch.claim(task_id, actor("operator"))
    with pytest.raises(Forbidden, match="Operator"):
        orch.complete_task(task_id, PENJAJAKAN, actor("operator"))
    assert snapshot(orch) == before


def test_operator_claim_on_the_web_is_403_and_the_clerk_keeps_the_task(orch, login):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    operator = login("operator")
    response = operator.post(f"/tugas/{task_id}/ambil")
    assert response.status_code == 403 and "Operator" in text_of(response)
    clerk = login("pemda_a")
    assert clerk.post(f"/tugas/{task_id}/ambil").status_code == 302
    assert clerk.post(f"/tugas/{task_id}/lepas").status_code == 302


def test_operator_reassigns_but_not_to_an_operator_or_a_stranger(orch):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    with pytest.raises(Forbidden):
        orch.assign(task_id, "operator", actor("operator"))
    with pytest.raises(NotFound):
        orch.assign(task_id, "pemda_b", actor("operator"))  # another region's clerk
    with pytest.raises(Forbidden):
        orch.assign(task_id, "dprd_a", actor("operator"))  # another group
    orch.assign(task_id, "pemda_a2", actor("operator"))
    with orch.session() as s:
        assert s.scalar(select(Task.assignee).where(Task.id == task_id)) == "pemda_a2"


def test_cli_operator_cannot_complete(orch):
    instance_id, task_id = to_dprd(orch)
    result = _cli(orch, "complete", task_id, "--var", "keputusan_dprd=setuju", "--user", "operator")
    assert result.exit_code == 1 and "Operator" in result.output
    with orch.session() as s:
        assert s.scalar(select(func.count()).where(Task.id == task_id, Task.status == "ready")) == 1


# --- 6. display spoofing ---------------------------------------------------------------------------

RLO = "\u202e"


@pytest.mark.parametrize(
    "name",
    [
        f"laporan{RLO}fdp.exe.pdf",
        "lapo\u2066ran\u2069.pdf",
        "lap\u200bor\u200ean\u2028.pdf",
        "lapo\x1bran.pdf",
    ],
)
def test_bidi_and_control_characters_never_reach_a_stored_file_name(orch, login, name):
    import io

    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    data = {**PENJAJAKAN, "kajian": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), name)}
    assert login("pemda_a").post(f"/tugas/{task_id}", data=data).status_code == 302
    with orch.session() as s:
        stored = s.scalar(select(Document.filename).where(Document.instance_id == instance_id))
    assert stored.endswith(".pdf") and stored.startswith("lap")
    assert not [c for c in stored if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    # the service strips them too, whoever calls it (CLI, import, letters)
    direct = orch.add_document(instance_id, name, "application/pdf", b"%PDF-1.4", actor("pemda_a"))
    with orch.session() as s:
        assert RLO not in s.scalar(select(Document.filename).where(Document.id == direct))


def test_titles_and_comments_lose_bidi_controls(orch):
    instance_id = start_case(orch, judul_kerja_sama=f"Kerja sama {RLO}amaS")
    orch.add_comment(instance_id, f"baris satu\nbaris {RLO}dua", actor("pemda_a"))
    with orch.session() as s:
        assert s.scalar(select(Instance.title).where(Instance.id == instance_id)) == "Kerja sama amaS"
        assert s.scalar(select(Comment.body).where(Comment.instance_id == instance_id)) == (
            "baris satu\nbaris dua"
        )


# --- 5. 500s on out-of-range ids, English error pages ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/kasus/9223372036854775808",
        "/kasus/2147483648",
        "/kasus/0",
        "/dokumen/99999999999999999999",
        "/pemberitahuan/99999999999999999999",
        "/pemberitahuan?halaman=99999999999999999999",
    ],
)
def test_out_of_range_ids_are_not_found_never_500(login, path):
    response = login("pemda_a").get(path)
    assert response.status_code in (200, 404), response.status_code
    if response.status_code == 404:
        assert "Tidak ditemukan" in text_of(response)


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "-1", "1e5", "٣"])
def test_a_huge_document_id_in_a_form_is_refused_not_500(orch, login, value):
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    before = snapshot(orch)
    data = {**PENJAJAKAN, "kajian__dokumen": value}
    response = login("pemda_a").post(f"/tugas/{task_id}", data=data)
    assert response.status_code == 422
    assert snapshot(orch) == before
    with pytest.raises(Exception) as refused:  # the service refuses the same value as a field error
        orch.complete_task(task_id, {**PENJAJAKAN, "kajian": value}, actor("pemda_a"))
    assert type(refused.value).__name__ == "ValidationFailed"


def test_an_unexpected_error_is_an_indonesian_500_page(app, login):
    @app.get("/uji-galat")
    def broken():
        raise RuntimeError("boom")

    app.testing = False  # let the error reach the handler, as in production
    response = login("pemda_a").get("/uji-galat")
    assert response.status_code == 500
    page = text_of(response)
    assert "Terjadi kesalahan" in page and "boom" not in page and "Internal Server Error" not in page


@pytest.mark.parametrize("code", [400, 403, 404, 405, 409, 413, 429, 500, 503])
def test_every_status_has_an_indonesian_page(app, login, code):
    from flask import abort

    @app.get(f"/uji-status-{code}")
    def status():
        abort(code)

    app.testing = False
    response = login("pemda_a").get(f"/uji-status-{code}")
    assert response.status_code == code
    page = text_of(response)
    assert not any(
        english in page for english in ("Not Found", "Bad Request", "Internal Server", "Forbidden")
    )
    from web import ERROR_TEXT

    assert ERROR_TEXT[code][0] in page


# --- 7. a key per machine; demo accounts in a real database ---------------------------------------


def test_production_refuses_to_start_without_a_secret_key(orch, monkeypatch, tmp_path):
    from tests.web.conftest import app_config
    from web import MissingSecretKey, create_app

    monkeypatch.delenv("KSDPL_SECRET_KEY", raising=False)
    monkeypatch.delenv("KSDPL_DEV", raising=False)
    config = {k: v for k, v in app_config(orch, TESTING=False).items() if k != "SECRET_KEY"}
    with pytest.raises(MissingSecretKey, match="KSDPL_SECRET_KEY"):
        create_app(config)
    monkeypatch.setenv("KSDPL_DEV", "1")  # make run: development mode keeps a local key
    assert create_app(config).config["SECRET_KEY"]
    monkeypatch.delenv("KSDPL_DEV")
    monkeypatch.setenv("KSDPL_SECRET_KEY", "kunci-bersama-semua-host")
    assert create_app(config).config["SECRET_KEY"] == "kunci-bersama-semua-host"


def test_serve_without_a_key_is_one_line_not_a_traceback(orch, monkeypatch):
    monkeypatch.delenv("KSDPL_SECRET_KEY", raising=False)
    monkeypatch.delenv("KSDPL_DEV", raising=False)
    result = _cli(orch, "serve", "--port", "1")
    assert result.exit_code == 1 and "KSDPL_SECRET_KEY is not set" in result.output


def test_demo_refuses_a_database_with_real_accounts(orch):
    with orch.session() as s:
        before = s.scalar(select(func.count(Task.id))), s.scalar(select(func.count()).select_from(AuditEvent))
    result = _cli(orch, "demo", "--no-cases")
    assert result.exit_code == 1 and "not demo accounts" in result.output and "--force" in result.output
    with orch.session() as s:
        from engine.models import User

        assert s.scalar(select(User.id).where(User.username == "admin")) is None
        assert (
            s.scalar(select(func.count(Task.id))),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        ) == before


@pytest.mark.parametrize(
    "command", [["show"], ["cancel"], ["retry"], ["calendar", "retry"], ["outbox", "retry"]]
)
def test_cli_ids_past_the_range_are_a_usage_error(orch, command):
    result = _cli(orch, *command, "99999999999999999999")
    assert result.exit_code == 2 and "99999999999999999999" in result.output


def test_operator_entered_names_lose_bidi_controls_too(orch):
    from engine.models import LookupValue, Region

    assert (
        _cli(
            orch,
            "region",
            "add",
            "11.01",
            "--name",
            f"Kab{RLO}ATA",
            "--level",
            "kabupaten",
            "--timezone",
            "WIB",
        ).exit_code
        == 0
    )
    assert _cli(orch, "lookup", "add", "negara", "XX", f"Neg{RLO}ara").exit_code == 0
    with orch.session() as s:
        assert s.get(Region, "11.01").name == "KabATA"
        assert s.scalar(select(LookupValue.label).where(LookupValue.code == "XX")) == "Negara"
