"""The operator console in a real browser (Chromium via Playwright, the app served over HTTP with
CSRF and production cookies): an incident found from the dashboard, its element marked on the
bpmn-js diagram, retried, and the page following the case as it moves on; the staff case page's
diagram; a reassignment moving a task between two people's inboxes. Saves the README screenshots."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.clock import clock
from engine.models import User
from tests.web.conftest import MONDAY, PASSWORD, actor, ready_task
from tests.web.test_browser import CHROMIUM, LiveServer, Staff, browser, production_like, save_screenshot  # noqa: F401
from tests.web.test_console import OPERATOR, konsol, start_konsol, to_incident  # noqa: F401

pytestmark = pytest.mark.browser


VIEWER = Path(__file__).resolve().parents[2] / "web/static/vendor/node_modules/bpmn-js/dist"


@pytest.fixture(autouse=True)
def monday():
    clock.set(MONDAY)


@pytest.fixture(autouse=True)
def viewer_installed(browser):  # noqa: F811  (after the browser: no Chromium is a skip)
    if not (VIEWER / "bpmn-navigated-viewer.production.min.js").exists():
        pytest.fail("bpmn-js is not installed in web/static/vendor: run `make install`")


class Operator(Staff):
    """An operator at a browser: logging in lands on the console, not the inbox."""

    def __init__(self, chromium, base_url: str) -> None:
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.base = base_url
        self.page.goto(f"{base_url}/login")
        self.page.fill("#username", "operator")
        self.page.fill("#password", PASSWORD)
        self.page.click("button:has-text('Masuk')")
        self.page.wait_for_url(f"{base_url}/konsol")


def marks_of(page, element_id: str) -> str:
    return page.get_attribute(f"g.djs-element[data-element-id='{element_id}']", "class") or ""


def wait_for_diagram(page) -> None:
    page.wait_for_selector("[data-diagram][data-ready='1']")


def csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return errors


def test_operator_retries_an_incident_found_from_the_dashboard(browser, konsol):  # noqa: F811
    broken = to_incident(konsol, judul_kerja_sama="Kerja sama pendidikan Fukuoka")
    for n in range(3):
        start_konsol(konsol, "pemda_b" if n % 2 else "pemda_a", judul_kerja_sama=f"Kerja sama budaya {n + 1}")
    with LiveServer(production_like(konsol, "konsol")) as server:
        operator = Operator(browser, server.url)
        page = operator.page
        errors = csp_errors(page)
        page.reload()
        save_screenshot(page, "console-dashboard.png")
        page.click("#tile-insiden")
        page.wait_for_url("**/konsol/kasus?insiden=1")
        save_screenshot(page, "console-cases.png")
        page.click(f"a[href='/konsol/kasus/{broken}']")
        wait_for_diagram(page)
        assert "mark-failed" in marks_of(page, "Kirim")
        assert "mark-completed" in marks_of(page, "Periksa")
        assert page.inner_text(".djs-overlays[data-container-id='Kirim'] .count-failed") == "1"
        save_screenshot(page, "console-case.png")
        with page.expect_navigation():
            page.click("#insiden button.retry")
        assert "Proses sistem akan diulang" in page.inner_text("main")
        wait_for_diagram(page)
        page.wait_for_selector("[data-live]:not([hidden])")  # a system step is due: the page watches
        konsol.run_due()  # the worker runs it; the page reloads by itself
        page.wait_for_selector("g.djs-element.mark-active[data-element-id='Tindaklanjut']")
        assert "mark-failed" not in marks_of(page, "Kirim")
        assert "mark-completed" in marks_of(page, "Kirim")
        with konsol.uow() as uow:  # Kota A's only DPRD account leaves: its task waits for an operator
            uow.session.scalars(select(User).where(User.username == "dprd_a")).one().active = False
            uow.commit()
        operator.go(f"{server.url}/konsol/antrean")
        assert "Tidak ada akun aktif grup DPRD di Kota A" in page.inner_text("main")
        for path, name in (("antrean", "console-queue.png"), ("deploy", "console-deployments.png")):
            operator.go(f"{server.url}/konsol/{path}")
            save_screenshot(page, name)
        konsol.decree(OPERATOR, date(2027, 5, 7), True, None, "Keppres 9/2027", "Cuti bersama tambahan")
        konsol.run_due()
        operator.go(f"{server.url}/konsol/kalender?tahun=2027")
        assert "Keppres 9/2027: Cuti bersama tambahan" in page.inner_text("main")
        save_screenshot(page, "console-calendar.png")
        assert errors == []
        operator.close()


def test_staff_case_page_marks_the_active_task(browser, konsol):  # noqa: F811
    instance_id = start_konsol(konsol)
    with LiveServer(production_like(konsol, "konsol")) as server:
        clerk = Staff(browser, server.url, "pemda_a")
        errors = csp_errors(clerk.page)
        clerk.go(f"{server.url}/kasus/{instance_id}")
        wait_for_diagram(clerk.page)
        assert "mark-active" in marks_of(clerk.page, "Periksa")
        assert "mark-active" not in marks_of(clerk.page, "Kirim")
        assert errors == []
        clerk.close()


def test_reassignment_moves_a_task_between_inboxes(browser, konsol):  # noqa: F811
    instance_id = start_konsol(konsol, judul_kerja_sama="Kerja sama kota kembar Busan")
    task_id = ready_task(konsol, instance_id, "Periksa")
    konsol.claim(task_id, actor("pemda_a"))
    with LiveServer(production_like(konsol, "konsol")) as server:
        clerk = Staff(browser, server.url, "pemda_a")
        kada = Staff(browser, server.url, "kada_a")
        assert "Periksa berkas" in clerk.page.inner_text("main")
        assert "Periksa berkas" not in kada.page.inner_text("main")
        operator = Operator(browser, server.url)
        page = operator.page
        operator.go(f"{server.url}/konsol/kasus/{instance_id}")
        row = page.locator(f"tr[data-task='{task_id}']")
        row.locator("select[name=tujuan]").select_option("grup:kepala_daerah")
        row.locator("input[name=alasan]").fill("Pemda sedang dinas luar")
        with page.expect_navigation():
            row.locator("button:has-text('Alihkan')").click()
        assert "dialihkan" in page.inner_text("main")
        kada.page.reload()
        clerk.page.reload()
        assert "Periksa berkas" in kada.page.inner_text("main")
        assert "Periksa berkas" not in clerk.page.inner_text("main")
        for person in (clerk, kada, operator):
            person.close()
