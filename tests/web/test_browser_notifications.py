"""The bell in a real browser (Chromium via Playwright): a task arrives for the person's group, the
worker delivers it, and the header's count rises on the next page load; opening the notification
leads to the task and the count falls again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.clock import clock
from engine.delivery import Delivery, DeliverySettings
from tests.web.conftest import start_case
from tests.web.test_browser import LiveServer, Staff, browser, production_like  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_the_bell_rises_when_a_task_arrives(browser, orch):  # noqa: F811
    clock.set(datetime(2027, 5, 3, 2, 0, tzinfo=UTC))
    with LiveServer(production_like(orch, "uji")) as server:
        budi = Staff(browser, server.url, "pemda_a2")
        bell = budi.page.locator("a.bell")
        assert budi.page.inner_text("#bell-count") == "0"
        assert bell.get_attribute("aria-label") == "Pemberitahuan, 0 belum dibaca"

        start_case(orch, "pemda_a")  # Ani starts a case: its first task is for Pemda of Kota A
        Delivery(orch, DeliverySettings()).run()  # the worker's next tick
        budi.page.reload()
        assert budi.page.inner_text("#bell-count") == "1"
        assert "unread" in (budi.page.get_attribute("#bell-count", "class") or "")
        assert bell.get_attribute("aria-label") == "Pemberitahuan, 1 belum dibaca"

        bell.click()
        budi.page.wait_for_url(f"{server.url}/pemberitahuan")
        item = budi.page.locator("li.notification.unread")
        assert item.count() == 1 and "Tugas baru: Catat penjajakan" in item.inner_text()
        item.locator("a").click()
        budi.page.wait_for_selector("form.task-form")
        assert budi.page.inner_text("h1") == "Catat penjajakan"
        assert budi.page.inner_text("#bell-count") == "0"

        ani = Staff(browser, server.url, "pemda_a")  # she started the case: not told of her own step
        assert ani.page.inner_text("#bell-count") == "0"
        ani.close()
        budi.close()
