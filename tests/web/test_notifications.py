"""The bell, the notifications page, e-mail preferences and the operators' failures page."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.clock import clock
from engine.delivery import Delivery, DeliverySettings
from engine.models import EmailDelivery, Notification, User
from tests.web.conftest import actor, ready_task, start_case, text_of


def deliver(orch) -> None:
    """What the worker does after a step: notifications in the app (no SMTP host here)."""
    Delivery(orch, DeliverySettings()).run()


def bell(response) -> int:
    match = re.search(r'id="bell-count">(\d+)<', response.get_data(as_text=True))
    assert match, "no bell in the header"
    return int(match[1])


def test_the_bell_counts_unread_notifications_of_the_user_only(orch, login):
    pemda_a, pemda_b = login("pemda_a2"), login("pemda_b")
    assert bell(pemda_a.get("/")) == 0
    instance_id = start_case(orch)
    task_id = ready_task(orch, instance_id, "Penjajakan")
    assert bell(pemda_a.get("/")) == 0  # the worker has not delivered yet
    deliver(orch)
    assert bell(pemda_a.get("/")) == 1
    assert bell(pemda_b.get("/")) == 0  # another region's staff hear nothing of it

    page = pemda_a.get("/pemberitahuan")
    assert page.status_code == 200
    text = text_of(page)
    assert "Pemberitahuan 1 belum dibaca" in text
    assert (
        "Tugas baru · " in text
        and "Tugas baru: Catat penjajakan" in text
        and "Kasus: Kerja sama kota kembar" in text
    )

    [link] = re.findall(r'href="(/pemberitahuan/\d+)"', page.get_data(as_text=True))
    opened = pemda_a.get(link)
    assert (opened.status_code, opened.headers["Location"]) == (302, f"/tugas/{task_id}")
    assert bell(pemda_a.get("/")) == 0
    assert "0 belum dibaca" in text_of(pemda_a.get("/pemberitahuan"))

    # Someone else's notification is not found, not opened; the case's starter was not told of her step
    assert bell(login("pemda_a").get("/")) == 0
    with orch.session() as s:
        theirs = s.scalar(select(Notification.id).join(User).where(User.username == "pemda_a2"))
    assert theirs is not None
    assert pemda_b.get(f"/pemberitahuan/{theirs}").status_code == 404
    assert pemda_b.post(f"/pemberitahuan/{theirs}/dibaca").status_code == 404


def test_mark_one_and_all_read(orch, login):
    client = login("pemda_a2")
    for _ in range(3):
        start_case(orch)
    deliver(orch)
    assert bell(client.get("/")) == 3
    ids = re.findall(r"/pemberitahuan/(\d+)/dibaca", client.get("/pemberitahuan").get_data(as_text=True))
    assert len(ids) == 3
    assert client.post(f"/pemberitahuan/{ids[0]}/dibaca").status_code == 302
    assert bell(client.get("/")) == 2
    response = client.post("/pemberitahuan/dibaca", follow_redirects=True)
    assert "Semua pemberitahuan ditandai sudah dibaca." in text_of(response)
    assert bell(response) == 0


def test_email_preferences(orch, login):
    client = login("pemda_a")
    page = text_of(client.get("/pemberitahuan/pengaturan"))
    assert "Server e-mail belum diatur oleh operator" in page
    refused = client.post("/pemberitahuan/pengaturan", data={"email": "bukan alamat", "mode": "each"})
    assert refused.status_code == 422 and "Alamat e-mail tidak valid" in text_of(refused)
    saved = client.post(
        "/pemberitahuan/pengaturan",
        data={"email": "Ani@Kota-A.contoh.go.id", "mode": "digest"},
        follow_redirects=True,
    )
    assert "Pengaturan pemberitahuan disimpan." in text_of(saved)
    with orch.session() as s:
        user = s.scalar(select(User).where(User.username == "pemda_a"))
        assert (user.email, user.notify_mode) == ("ani@kota-a.contoh.go.id", "digest")
    assert client.post("/pemberitahuan/pengaturan", data={"email": "", "mode": "kadang"}).status_code == 422


def test_operators_see_failed_deliveries_and_send_them_again(orch, login):
    with orch.uow() as uow:
        s = uow.session
        user_id = s.scalar(select(User.id).where(User.username == "pemda_a"))
        s.add(
            EmailDelivery(
                message_id="<ksdpl.1.1@contoh.go.id>",
                kind="each",
                user_id=user_id,
                to_address="ani@kota-a.contoh.go.id",
                subject="[KSDPL] Tugas baru: Catat penjajakan",
                body="...",
                created_at=clock.now(),
                status="failed",
                attempts=5,
                next_attempt_at=clock.now(),
                last_error="SMTPDataError: (451, b'4.3.0 penuh')",
            )
        )
        uow.commit()
    assert login("pemda_a").get("/pemberitahuan/gagal").status_code == 403
    assert login("pemda_a").post("/pemberitahuan/gagal/1/kirim-ulang").status_code == 403
    operator = login("operator")
    assert "Pengiriman gagal" in text_of(operator.get("/"))
    page = text_of(operator.get("/pemberitahuan/gagal"))
    assert (
        "[KSDPL] Tugas baru: Catat penjajakan" in page and "pemda_a &lt;ani@kota-a.contoh.go.id&gt;" in page
    )
    assert "SMTPDataError: (451, b&#39;4.3.0 penuh&#39;)" in page and "5 kali dicoba" in page
    again = operator.post("/pemberitahuan/gagal/1/kirim-ulang", follow_redirects=True)
    assert "E-mail #1 dikirim ulang" in text_of(again)
    assert "Tidak ada pengiriman yang gagal." in text_of(again)
    with orch.session() as s:
        assert s.scalar(select(EmailDelivery.status)) == "pending"
    assert operator.post("/pemberitahuan/gagal/1/kirim-ulang").status_code == 409
    assert actor("operator").is_operator
