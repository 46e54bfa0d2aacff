"""The frame of every page (the bell, the start button, the deadlines' calendars) is read with the
account, in one statement per request, and still follows every change made between two pages."""

from __future__ import annotations

import re
from datetime import date

import pytest

from engine.clock import clock
from engine.delivery import Delivery, DeliverySettings
from tests.statements import statements_sent
from tests.web.conftest import MONDAY, UJI, start_case, text_of

# The frame's tables: the account's statement reads the first three, and the calendars, kept per
# calendar version, are read again only after a decree.
FRAME_TABLES = (
    "FROM notifications",
    "FROM process_definitions",
    "FROM calendar_decrees",
    "FROM calendar_overrides",
)


@pytest.fixture
def db_file(db_url) -> str:
    """Both databases: what is tested is which statements a page sends."""
    return db_url


def _engine_of(orch):
    with orch.session() as s:
        return s.get_bind()


def days_left(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"(\d+) hari kerja lagi", page)]


def test_a_page_reads_its_frame_with_the_account_in_one_statement(orch, login):
    start_case(orch, "pemda_a")
    client = login("pemda_a")
    for url in ("/", "/kasus"):  # the calendars are built once per process and calendar version
        assert client.get(url).status_code == 200
    with statements_sent(_engine_of(orch)) as sent:
        for url in ("/", "/kasus"):
            page = text_of(client.get(url))
            assert "Kasus baru" in page and days_left(page)  # the start button, the deadlines
    accounts = [s for s in sent if "FROM users" in s]
    assert len(accounts) == 2, accounts
    assert all(table in accounts[0] for table in FRAME_TABLES[:3]), accounts[0]
    apart = [s for s in sent if "FROM users" not in s and any(t in s for t in FRAME_TABLES)]
    assert not apart, apart


def test_what_changes_between_two_pages_shows_on_the_next(orch, login):
    """A decree, a notification and a new version, each entered by someone else between two
    pages: the next page counts the working days on the new calendar, rings the bell and serves
    the new version."""
    clock.set(MONDAY)
    start_case(orch, "pemda_a")
    client = login("pemda_a")
    before = days_left(text_of(client.get("/kasus")))
    assert before and all(n > 1 for n in before)
    assert 'id="bell-count">0<' in client.get("/").get_data(as_text=True)

    # Tuesday 4 May 2027, the day after the fixtures' Monday, becomes a day off nationally.
    orch.set_calendar_override(date(2027, 5, 4), True, None, "Cuti bersama", user="operator")
    assert days_left(text_of(client.get("/kasus"))) == [n - 1 for n in before]

    start_case(orch, "pemda_a2")  # its first task is for Kota A's Pemda: Ani is told
    Delivery(orch, DeliverySettings()).run()  # the worker's next tick
    assert 'id="bell-count">0<' not in client.get("/").get_data(as_text=True)

    assert "Penjajakan awal" not in text_of(client.get("/"))
    orch.deploy({"uji.bpmn": UJI.replace('value="Penjajakan"', 'value="Penjajakan awal"')}, user="analis")
    assert "Penjajakan awal" in text_of(client.get("/"))  # the stage filter names version 2's stages
