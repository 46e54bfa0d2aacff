"""Task forms that do not lose work: drafts kept on the server, a comment saved with the completion,
and a request over the size limit answered with the form, the values and the message in place."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.clock import clock
from engine.errors import Conflict, Forbidden, NotFound
from engine.models import Comment, TaskDraft
from tests.statements import statements_sent
from tests.web.conftest import MONDAY, actor, app_config, ready_task, snapshot, start_case, text_of
from tests.web.test_tasks import field_error, form_data, input_value
from web import create_app


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


@pytest.fixture
def db_file(db_url) -> str:
    return db_url


@pytest.fixture
def penjajakan(orch) -> tuple[int, str]:
    case = start_case(orch)
    return case, ready_task(orch, case, "Penjajakan")


DRAFT = {
    "hasil_penjajakan": "Setengah jalan: dua pertemuan dicatat.",
    "jumlah_pertemuan": "2",
    "sepakat": "true",
}


def drafts(orch) -> int:
    with orch.session() as s:
        return s.scalar(select(func.count()).select_from(TaskDraft))


def test_a_draft_is_kept_per_task_and_person_and_restored(orch, login, penjajakan):
    _case, task_id = penjajakan
    client = login("pemda_a")
    response = client.post(f"/tugas/{task_id}/draf", data={**DRAFT, "komentar": "Tunggu notulen."})
    assert response.status_code == 302
    assert "Draf disimpan pada 3 Mei 2027 pukul 09.00 WIB" in text_of(client.get(f"/tugas/{task_id}"))
    page = client.get(f"/tugas/{task_id}")
    assert input_value(page, "hasil_penjajakan") == DRAFT["hasil_penjajakan"]
    assert input_value(page, "jumlah_pertemuan") == "2"
    assert input_value(page, "komentar") == "Tunggu notulen."
    assert "Draf Anda dari 3 Mei 2027 pukul 09.00 WIB dipulihkan" in text_of(page)
    # a colleague of the same group sees the empty form, not someone else's draft
    other = login("pemda_a2").get(f"/tugas/{task_id}")
    assert input_value(other, "hasil_penjajakan") == "" and "dipulihkan" not in text_of(other)
    # after logging out and in again the draft is still there (server-side, not the session)
    client.post("/logout")
    again = login("pemda_a").get(f"/tugas/{task_id}")
    assert input_value(again, "hasil_penjajakan") == DRAFT["hasil_penjajakan"]
    # nothing about the case changed by drafting
    with orch.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 0


def test_completing_the_task_clears_the_drafts(orch, login, penjajakan):
    _case, task_id = penjajakan
    login("pemda_a").post(f"/tugas/{task_id}/draf", data=DRAFT)
    login("pemda_a2").post(f"/tugas/{task_id}/draf", data=DRAFT)
    assert drafts(orch) == 2
    response = login("pemda_a").post(f"/tugas/{task_id}", data=form_data())
    assert response.status_code == 302
    assert drafts(orch) == 0


def test_discarding_a_draft(orch, login, penjajakan):
    _case, task_id = penjajakan
    client = login("pemda_a")
    client.post(f"/tugas/{task_id}/draf", data=DRAFT)
    client.post(f"/tugas/{task_id}/draf", data={"hapus": "1"})
    assert drafts(orch) == 0
    assert input_value(client.get(f"/tugas/{task_id}"), "hasil_penjajakan") == ""


def test_only_who_may_do_the_task_keeps_a_draft(orch, login, penjajakan):
    _case, task_id = penjajakan
    assert login("dprd_a").post(f"/tugas/{task_id}/draf", data=DRAFT).status_code == 403
    assert login("pemda_b").post(f"/tugas/{task_id}/draf", data=DRAFT).status_code == 404
    with pytest.raises(Forbidden):
        orch.save_draft(task_id, DRAFT, "", actor("dprd_a"))
    with pytest.raises(NotFound):
        orch.save_draft(task_id, DRAFT, "", actor("pemda_b"))
    orch.claim(task_id, actor("pemda_a2"))
    with pytest.raises(Conflict):
        orch.save_draft(task_id, DRAFT, "", actor("pemda_a"))
    assert drafts(orch) == 0


def test_a_draft_keeps_only_the_forms_own_fields(orch, penjajakan):
    _case, task_id = penjajakan
    draft = orch.save_draft(
        task_id, {**DRAFT, "penjajakan_oleh": "palsu", "kajian": "7"}, "", actor("pemda_a")
    )
    assert set(draft.values) == set(DRAFT)


def test_a_comment_in_the_task_form_is_saved_with_the_completion(orch, login, penjajakan):
    case, task_id = penjajakan
    client = login("pemda_a")
    html = client.get(f"/tugas/{task_id}").get_data(as_text=True)
    form = html[html.index('class="task-form"') : html.index("</form>", html.index('class="task-form"'))]
    assert 'name="komentar"' in form  # inside the form that completes the task
    response = client.post(f"/tugas/{task_id}", data=form_data(komentar="Notulen terlampir."))
    assert response.status_code == 302
    assert "Komentar disimpan." in text_of(client.get(response.headers["Location"]))
    with orch.session() as s:
        [comment] = s.scalars(select(Comment)).all()
    assert (comment.body, comment.task_id, comment.author, comment.instance_id) == (
        "Notulen terlampir.",
        task_id,
        "pemda_a",
        case,
    )


def test_a_refused_completion_stores_no_comment_and_keeps_its_text(orch, login, penjajakan):
    _case, task_id = penjajakan
    client = login("pemda_a")
    before = snapshot(orch)
    # refused by the task's handler, inside the engine's transaction
    response = client.post(f"/tugas/{task_id}", data=form_data(kode_surat="DITOLAK", komentar="Catatan saya"))
    assert response.status_code == 422
    assert input_value(response, "komentar") == "Catatan saya"
    # refused by the form check before the engine
    response = client.post(f"/tugas/{task_id}", data=form_data(jumlah_pertemuan="x", komentar="Catatan saya"))
    assert response.status_code == 422 and input_value(response, "komentar") == "Catatan saya"
    response = client.post(f"/tugas/{task_id}", data=form_data(komentar="x" * 4001))
    assert response.status_code == 422
    assert field_error(response, "komentar") == "Komentar paling banyak 4000 karakter"
    after = snapshot(orch)  # (an upload refused with its step is h10's: documents are not compared)
    assert after.rows["comments"] == before.rows["comments"] == 0
    assert after.rows["tasks"] == before.rows["tasks"] and after.rows["instances"] == before.rows["instances"]


def test_over_the_request_limit_the_form_comes_back_with_the_draft_and_the_message(orch, penjajakan):
    app = create_app(app_config(orch, KSDPL_MAX_UPLOAD_BYTES=1024, MAX_CONTENT_LENGTH=4096))
    client = app.test_client()
    client.post("/login", data={"username": "pemda_a", "password": "rahasia-uji-123"})
    _case, task_id = penjajakan
    client.post(f"/tugas/{task_id}/draf", data=DRAFT)
    page = client.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert 'data-max-bytes="1024"' in page and 'data-max-total="4096"' in page  # for the browser's check
    before = snapshot(orch)
    response = client.post(f"/tugas/{task_id}", data=form_data(file=(b"%PDF-" + b"0" * 8000, "besar.pdf")))
    assert response.status_code == 413
    assert input_value(response, "hasil_penjajakan") == DRAFT["hasil_penjajakan"]
    assert field_error(response, "kajian").startswith("Kiriman terlalu besar")
    assert 'data-restore="1"' in response.get_data(as_text=True)  # the browser puts back the rest
    assert snapshot(orch) == before
    # elsewhere the plain page
    response = client.post("/kasus/1/komentar", data={"komentar": "x" * 9000})
    assert response.status_code == 413 and "Berkas terlalu besar" in text_of(response)


def test_closing_tasks_deletes_drafts_only_when_there_are_some(orch, penjajakan):
    """The step reads whether the case has drafts with the case (no extra statement on the hot path)."""

    from tests.web.conftest import PENJAJAKAN as VALUES
    from tests.web.conftest import add_pdf

    case, task_id = penjajakan
    with orch.session() as s:
        engine = s.get_bind()
    with statements_sent(engine) as statements:
        document = add_pdf(orch, case, task_id)
        orch.complete_task(task_id, {**VALUES, "kajian": str(document)}, actor("pemda_a"))
        # on PostgreSQL inside the step's one statement of writes (engine/writes.py)
        assert not [s for s in statements if "DELETE FROM task_drafts" in s]
        dprd = ready_task(orch, case, "PersetujuanDprd")
        orch.save_draft(dprd, {"keputusan_dprd": "setuju"}, "Menunggu rapat paripurna.", actor("dprd_a"))
        statements.clear()
        orch.cancel(case, actor("operator"))  # closing the task any way ends its drafts
        assert [s for s in statements if "DELETE FROM task_drafts" in s]
    assert drafts(orch) == 0
