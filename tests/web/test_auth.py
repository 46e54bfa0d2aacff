"""Login, logout, sessions, rate limits, CSRF and the headers every page carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.models import User
from tests.web.conftest import PASSWORD, AuthActions, app_config, snapshot, text_of, to_dprd
from web import create_app
from web.accounts import set_password

PRIVATE_GETS = ["/", "/kasus", "/kasus/1", "/kasus/baru", "/tugas/abc", "/dokumen/1", "/?filter=saya"]


@pytest.mark.parametrize("path", PRIVATE_GETS)
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "path", ["/tugas/abc", "/tugas/abc/ambil", "/tugas/abc/lepas", "/kasus/1/komentar", "/kasus/baru"]
)
def test_anonymous_post_changes_nothing(client, orch, path):
    before = snapshot(orch)
    response = client.post(path, data={"keputusan_dprd": "setuju", "komentar": "x"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert snapshot(orch) == before


def test_anonymous_cannot_complete_a_real_task(client, orch):
    _case, task_id = to_dprd(orch)
    before = snapshot(orch)
    response = client.post(f"/tugas/{task_id}", data={"keputusan_dprd": "setuju"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert snapshot(orch) == before


def test_login_page_is_indonesian(client):
    page = text_of(client.get("/login"))
    assert "Masuk" in page and "Nama pengguna" in page and "Kata sandi" in page


def test_login_and_logout(client, auth):
    response = auth.login("pemda_a")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = text_of(client.get("/"))
    assert "Ani Pemda A" in page and "Kota A" in page
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_logout_needs_post(client, auth):
    auth.login("pemda_a")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"), [("pemda_a", "salah-sekali"), ("tidak_ada", PASSWORD), ("", "")]
)
def test_wrong_login(client, auth, username, password):
    response = auth.login(username, password)
    assert response.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in text_of(response)
    assert client.get("/").status_code == 302


def test_username_is_not_case_sensitive(auth):
    assert auth.login("PEMDA_A").status_code == 302


def test_inactive_user_cannot_log_in_and_is_logged_out(orch, client, auth):
    auth.login("pemda_a")
    with orch.uow() as uow:
        uow.session.scalar(select(User).where(User.username == "pemda_a")).active = False
        uow.commit()
    assert client.get("/").status_code == 302
    assert auth.login("pemda_a").status_code == 401


def test_password_change_ends_open_sessions(orch, client, auth):
    auth.login("pemda_a")
    assert client.get("/").status_code == 200
    with orch.uow() as uow:
        set_password(uow.session, "pemda_a", "kata-sandi-baru-1")
        uow.commit()
    assert client.get("/").status_code == 302
    assert auth.login("pemda_a", "kata-sandi-baru-1").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/kasus", "/kasus"),
        ("https://jahat.example/", "/"),
        ("//jahat.example/x", "/"),
        ("/\\jahat.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_stays_on_this_site(auth, target, expected):
    response = auth.login("pemda_a", next=target)
    assert response.headers["Location"] == expected


def test_logged_in_user_visiting_login_goes_to_inbox(client, auth):
    auth.login("pemda_a")
    assert client.get("/login").headers["Location"] == "/"


def _post_login(client, username, password, address):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_successful_logins_from_one_office_never_count(app):
    """Finding 4: the 11th colleague behind one NAT got 429 because successes counted."""
    client = app.test_client()
    for n in range(15):
        username = ["pemda_a", "kada_a", "dprd_a", "kemenlu", "kemendagri"][n % 5]
        assert _post_login(client, username, PASSWORD, "10.9.9.9").status_code == 302, n
        client.post("/logout")


def test_failures_wait_longer_and_longer_per_username_and_address(app, orch):
    from engine.clock import clock
    from web import throttle

    clock.set(datetime(2027, 5, 3, 2, 0, tzinfo=UTC))
    client = app.test_client()
    for _ in range(throttle.FREE_FAILURES):
        assert _post_login(client, "dprd_a", "salah", "10.0.0.1").status_code == 401
    response = _post_login(client, "dprd_a", PASSWORD, "10.0.0.1")  # even the right password waits
    assert response.status_code == 429
    assert "Coba lagi dalam 2 detik" in text_of(response)
    # others are not affected: the same user elsewhere, a colleague at the same address
    assert _post_login(app.test_client(), "dprd_a", PASSWORD, "10.0.0.2").status_code == 302
    assert _post_login(app.test_client(), "pemda_a", PASSWORD, "10.0.0.1").status_code == 302
    clock.advance(timedelta(seconds=3))
    assert _post_login(client, "dprd_a", "salah", "10.0.0.1").status_code == 401
    assert "Coba lagi dalam 4 detik" in text_of(_post_login(client, "dprd_a", "salah", "10.0.0.1"))
    clock.advance(timedelta(seconds=5))
    assert _post_login(client, "dprd_a", PASSWORD, "10.0.0.1").status_code == 302


def test_counters_live_in_the_database_shared_by_every_process(orch):
    """Two apps (two processes' worth of state) see one count: gunicorn -w 4 is not 4x looser."""
    from web import throttle

    apps = [create_app(app_config(orch)) for _ in range(2)]
    for n in range(throttle.FREE_FAILURES):
        _post_login(apps[n % 2].test_client(), "kemenlu", "salah", "10.1.1.1")
    assert _post_login(apps[0].test_client(), "kemenlu", PASSWORD, "10.1.1.1").status_code == 429
    assert _post_login(apps[1].test_client(), "kemenlu", PASSWORD, "10.1.1.1").status_code == 429


def test_many_failures_lock_the_account_until_an_admin_or_a_new_password(app, orch):
    from engine.clock import clock
    from web import throttle

    clock.set(datetime(2027, 5, 3, 2, 0, tzinfo=UTC))
    client = app.test_client()
    for n in range(throttle.LOCK_AFTER):  # from many addresses, so no pair waits
        assert _post_login(client, "dprd_b", "salah", f"10.2.{n // 200}.{n % 200}").status_code == 401
    response = _post_login(client, "dprd_b", PASSWORD, "10.3.0.1")
    assert response.status_code == 403 and "Akun ini dikunci" in text_of(response)
    clock.advance(timedelta(days=2))  # time alone does not lift it
    assert _post_login(client, "dprd_b", PASSWORD, "10.3.0.1").status_code == 403
    with orch.uow() as uow:
        throttle.unlock(uow.session, "dprd_b")
        uow.commit()
    assert _post_login(client, "dprd_b", PASSWORD, "10.3.0.1").status_code == 302


def test_a_new_password_lifts_the_lock(app, orch):
    with orch.uow() as uow:
        uow.session.scalar(select(User).where(User.username == "dprd_b")).locked_at = datetime.now(UTC)
        uow.commit()
    client = app.test_client()
    assert _post_login(client, "dprd_b", PASSWORD, "10.3.0.1").status_code == 403
    with orch.uow() as uow:
        set_password(uow.session, "dprd_b", "kata-sandi-baru-1")
        uow.commit()
    assert _post_login(client, "dprd_b", "kata-sandi-baru-1", "10.3.0.1").status_code == 302


def test_logout_ends_a_saved_cookie(app, client, auth):
    """Finding 1: a cookie copied before POST /logout kept working for 31 days."""
    auth.login("pemda_a")
    saved = client.get_cookie("session").value
    assert auth.logout().status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", saved)
    assert thief.get("/").status_code == 302
    before = thief.post("/kasus/1/komentar", data={"komentar": "masih di sini"})
    assert before.status_code == 302 and "/login" in before.headers["Location"]


def test_disabling_an_account_ends_its_sessions_even_after_enabling(orch, client, auth):
    from web.accounts import set_active

    auth.login("pemda_a")
    with orch.uow() as uow:
        set_active(uow.session, "pemda_a", False)
        uow.commit()
    assert client.get("/").status_code == 302
    with orch.uow() as uow:
        set_active(uow.session, "pemda_a", True)
        uow.commit()
    assert client.get("/").status_code == 302  # the old cookie stays dead
    assert auth.login("pemda_a").status_code == 302


def test_session_cookie_flags_in_production(orch):
    app = create_app(app_config(orch, TESTING=False))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    response = AuthActions(client).login("pemda_a")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_session_cookie_flags_in_testing(client, auth):
    cookie = auth.login("pemda_a").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_flag_can_be_set_by_environment(orch, monkeypatch):
    monkeypatch.setenv("KSDPL_SECURE_COOKIES", "0")
    app = create_app({k: v for k, v in app_config(orch, TESTING=False).items()})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_behind_a_proxy_the_client_address_counts(orch, monkeypatch):
    from web import throttle

    monkeypatch.setenv("KSDPL_TRUSTED_PROXIES", "1")
    app = create_app(app_config(orch))
    client = app.test_client()
    for _ in range(throttle.FREE_FAILURES):  # one client behind the proxy fails...
        headers = {"X-Forwarded-For": "203.0.113.7"}
        client.post("/login", data={"username": "pemda_a", "password": "salah"}, headers=headers)
    headers = {"X-Forwarded-For": "203.0.113.50"}  # ...another one is not held back
    response = client.post("/login", data={"username": "pemda_a", "password": PASSWORD}, headers=headers)
    assert response.status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- CSRF: one app with the protection on, as in production ------------------------------------------


@pytest.fixture
def csrf_app(orch):
    return create_app(app_config(orch, WTF_CSRF_ENABLED=True))


def _token(client, path: str) -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_login_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"username": "pemda_a", "password": PASSWORD})
    assert response.status_code == 400
    assert "token CSRF" in text_of(response)
    assert client.get("/").status_code == 302


def test_login_with_csrf_token(csrf_app):
    client = csrf_app.test_client()
    token = _token(client, "/login")
    response = client.post("/login", data={"username": "pemda_a", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_forged_csrf_token_changes_nothing(csrf_app, orch):
    _case, task_id = to_dprd(orch)
    client = csrf_app.test_client()
    token = _token(client, "/login")
    client.post("/login", data={"username": "dprd_a", "password": PASSWORD, "csrf_token": token})
    real = _token(client, f"/tugas/{task_id}")
    before = snapshot(orch)
    for forged in ("", "palsu", real[:-4] + "AAAA"):
        response = client.post(f"/tugas/{task_id}", data={"keputusan_dprd": "setuju", "csrf_token": forged})
        assert response.status_code == 400
        assert "Formulir kedaluwarsa atau tidak sah" in text_of(response)
    # a token from another session does not work either
    other = csrf_app.test_client()
    other_token = _token(other, "/login")
    response = client.post(f"/tugas/{task_id}", data={"keputusan_dprd": "setuju", "csrf_token": other_token})
    assert response.status_code == 400
    assert snapshot(orch) == before
    response = client.post(f"/tugas/{task_id}", data={"keputusan_dprd": "setuju", "csrf_token": real})
    assert response.status_code == 302
    assert snapshot(orch) != before
