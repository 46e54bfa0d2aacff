"""Small pieces: dates and deadlines as people read them, upload checks, accounts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from engine.calendar import WorkingCalendar
from engine.models import User
from tests.statements import statements_sent
from tests.web.conftest import KSDPL_ACCESS
from web.accounts import AccountError, authenticate, create_user, display_names, list_users, set_password
from web.formatting import (
    deadline,
    deadline_day,
    format_date,
    format_datetime,
    format_size,
    groups_label,
    lower_first,
    stage_label,
)
from web.uploads import UploadRefused, clean_filename, read_upload

CAL = WorkingCalendar()


def test_dates_in_indonesian_and_in_the_regions_zone():
    moment = datetime(2027, 5, 13, 17, 30, tzinfo=UTC)
    assert format_date(moment, "Asia/Jakarta") == "14 Mei 2027"
    assert format_datetime(moment, "Asia/Jakarta") == "14 Mei 2027 pukul 00.30 WIB"
    assert format_datetime(moment, "Asia/Makassar") == "14 Mei 2027 pukul 01.30 WITA"
    assert format_datetime(moment, "WIT") == "14 Mei 2027 pukul 02.30 WIT"
    assert format_date(date(2027, 12, 1)) == "1 Desember 2027"
    assert format_date(None) == "-" and format_datetime(None) == "-"


def test_a_deadline_at_local_midnight_is_the_end_of_the_day_before():
    midnight_wib = datetime(2027, 7, 13, 17, 0, tzinfo=UTC)  # 14 Jul 00:00 WIB
    assert deadline_day(midnight_wib, "Asia/Jakarta") == date(2027, 7, 13)
    assert deadline_day(midnight_wib, "Asia/Jayapura") == date(2027, 7, 14)  # 02:00 WIT: that day


def test_deadline_working_days_soon_and_late():
    due = datetime(2027, 5, 24, 17, 0, tzinfo=UTC)  # 25 May 00:00 WIB: last day Monday 24 May
    monday = datetime(2027, 5, 3, 2, 0, tzinfo=UTC)
    d = deadline(due, "Asia/Jakarta", monday, CAL)
    assert (d.label, d.working_days_left, d.due_soon, d.overdue) == ("24 Mei 2027 WIB", 10, False, False)
    assert d.left_label == "10 hari kerja lagi"
    d = deadline(due, "Asia/Jakarta", datetime(2027, 5, 17, 2, 0, tzinfo=UTC), CAL)
    assert d.working_days_left == 2 and d.due_soon  # 21 and 24 May; 17-20 May are days off
    d = deadline(due, "Asia/Jakarta", datetime(2027, 5, 24, 9, 0, tzinfo=UTC), CAL)
    assert d.left_label == "Hari ini" and d.due_soon
    d = deadline(due, "Asia/Jakarta", datetime(2027, 5, 26, 2, 0, tzinfo=UTC), CAL)
    assert d.overdue and not d.due_soon and d.left_label == "Terlambat 2 hari kerja"
    d = deadline(due, "Asia/Jakarta", datetime(2027, 5, 24, 17, 30, tzinfo=UTC), CAL)
    assert d.overdue and d.left_label == "Terlambat 1 hari kerja"  # Tuesday 00:30: the first day late
    friday = datetime(2027, 5, 21, 17, 0, tzinfo=UTC)  # end of Friday 21 May, WIB
    d = deadline(friday, "Asia/Jakarta", datetime(2027, 5, 22, 2, 0, tzinfo=UTC), CAL)
    assert d.overdue and d.left_label == "Terlambat"  # Saturday: late, but no working day lost yet
    at_noon = deadline(datetime(2027, 5, 24, 5, 0, tzinfo=UTC), "Asia/Jakarta", monday, CAL)
    assert at_noon.label == "24 Mei 2027 pukul 12.00 WIB"
    assert deadline(None, "Asia/Jakarta", monday, CAL) is None


def test_deadline_in_a_year_without_cuti_bersama_is_provisional():
    d = deadline(
        datetime(2030, 3, 1, 17, 0, tzinfo=UTC), "Asia/Jakarta", datetime(2029, 12, 2, tzinfo=UTC), CAL
    )
    assert d.provisional
    d = deadline(
        datetime(2027, 5, 24, 17, 0, tzinfo=UTC), "Asia/Jakarta", datetime(2027, 5, 3, tzinfo=UTC), CAL
    )
    assert not d.provisional


def test_small_formatters():
    names = {5: "Persetujuan DPRD"}  # a deployed version's stage names
    assert stage_label(5, names) == "5. Persetujuan DPRD" and stage_label(None, names) == "-"
    assert stage_label(13, names) == "13"  # a stage the version does not name shows its number
    labels = KSDPL_ACCESS.labels
    assert groups_label("pemda, dprd", labels) == "Pemerintah Daerah, DPRD"
    assert groups_label(["kemenlu"], labels) == "Kementerian Luar Negeri"
    assert groups_label("", labels) == "-" and groups_label(None, labels) == "-"
    assert groups_label("lain", labels) == "lain"
    assert lower_first("Persetujuan DPRD") == "persetujuan DPRD" and lower_first("DPRD memutuskan") == (
        "DPRD memutuskan"
    )
    assert format_size(512) == "512 B" and format_size(2048) == "2 KB"
    assert format_size(10 * 1024 * 1024) == "10 MB" and format_size(1536 * 1024) == "1,5 MB"


def upload(content: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=name, content_type="text/html")


def test_upload_type_comes_from_the_extension_not_the_browser():
    checked = read_upload(upload(b"%PDF-1.7 x", "Laporan Akhir.PDF"), 100)
    assert (checked.filename, checked.content_type) == ("Laporan Akhir.PDF", "application/pdf")
    assert read_upload(upload(b"PK\x03\x04 x", "naskah.docx"), 100).content_type.endswith(
        "wordprocessingml.document"
    )
    assert read_upload(upload(b"\xff\xd8\xff\xe0", "foto.jpeg"), 100).content_type == "image/jpeg"
    assert read_upload(None, 100) is None and read_upload(upload(b"", ""), 100) is None


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-" + b"x" * 100, "besar.pdf", "Berkas terlalu besar (paling besar 100 B)"),
        (b"MZ", "virus.exe", "Jenis berkas tidak diizinkan"),
        (b"<svg onload=alert(1)>", "gambar.svg", "Jenis berkas tidak diizinkan"),
        (b"<html>", "menyamar.pdf", "Isi berkas tidak sesuai dengan jenis .pdf"),
        (b"", "kosong.doc", "Berkas kosong"),
    ],
)
def test_upload_refusals(content, name, message):
    with pytest.raises(UploadRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_upload(upload(content, name), 100)


def test_clean_filename():
    assert clean_filename("C:\\Users\\ani\\kajian.pdf") == "kajian.pdf"
    assert clean_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert clean_filename('a<b>"c|d?.pdf\x00') == "abcd.pdf"
    assert clean_filename("...") == "berkas"
    assert len(clean_filename("x" * 300 + ".pdf")) == 200 and clean_filename("x" * 300 + ".pdf").endswith(
        ".pdf"
    )


# --- accounts ------------------------------------------------------------------------------------


def test_create_user_and_authenticate(orch):
    with orch.uow() as uow:
        user = create_user(
            uow.session, " Rina.Bandung ", "Rina", ["pemda", "pemda"], "rahasia-123", "32.73", KSDPL_ACCESS
        )
        assert user.username == "rina.bandung" and user.groups == "pemda"
        uow.commit()
    with orch.session() as s:
        assert authenticate(s, "RINA.BANDUNG", "rahasia-123").name == "Rina"
        assert authenticate(s, "rina.bandung", "salah") is None
        assert authenticate(s, "tidak.ada", "rahasia-123") is None
        info = {u.username: u for u in list_users(s, "", None, 50, 0)[0]}["rina.bandung"]
        who = KSDPL_ACCESS.actor(info.username, info.groups, info.region_code)
        assert info.region_name == "Kota A" and who.region_code == "32.73" and not who.national
        assert display_names(s, {"rina.bandung", "siapa", None}) == {"rina.bandung": "Rina", "siapa": "siapa"}
        assert display_names(s, set()) == {}


def test_the_account_list_reads_users_and_their_regions_in_one_statement(orch):
    """`ksdpl user list`: the page in one statement beside its count, not a region read per account."""
    with orch.uow() as uow:
        for username, region in (("satu", "32.73"), ("dua", "91.71"), ("tiga", None)):
            group = "pemda" if region else "kemendagri"
            create_user(uow.session, username, username, [group], "rahasia-123", region, KSDPL_ACCESS)
        uow.commit()
    with orch.session() as s:
        s.connection()  # the session's own set-up is not the list's
        with statements_sent(s.get_bind()) as statements:
            page, total = list_users(s, "", None, 50, 0)
    users = {u.username: u for u in page}
    assert len(statements) == 2 and total == len(users), statements
    assert users["satu"].region_name == "Kota A" and users["dua"].region_name == "Kota B"
    assert users["tiga"].region_name is None and users["satu"].region_timezone


def test_a_weak_hash_is_upgraded_on_login(orch):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("rahasia-123")
    with orch.uow() as uow:
        uow.session.scalar(select(User).where(User.username == "kemenlu")).password_hash = weak
        uow.commit()
    with orch.session() as s:
        assert authenticate(s, "kemenlu", "rahasia-123") is not None
    with orch.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "kemenlu"))
    assert stored != weak and stored.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("username", "groups", "region", "password", "message"),
    [
        ("a", ["pemda"], "32.73", "rahasia-123", "Nama pengguna"),
        ("pemda_a", ["pemda"], "32.73", "rahasia-123", "sudah ada"),
        ("baru", [], None, "rahasia-123", "Paling sedikit satu grup"),
        ("baru", ["dprd"], None, "rahasia-123", "harus punya wilayah"),
        ("baru", ["dprd"], "00", "rahasia-123", "tidak dikenal"),
        ("baru", ["kemenlu"], None, "1234567", "paling sedikit 8"),
    ],
)
def test_create_user_refusals(orch, username, groups, region, password, message):
    with orch.uow() as uow, pytest.raises(AccountError, match=message):
        create_user(uow.session, username, "Nama", groups, password, region, KSDPL_ACCESS)


def test_set_password_refusals(orch):
    with orch.uow() as uow:
        with pytest.raises(AccountError, match="tidak ditemukan"):
            set_password(uow.session, "tidak.ada", "rahasia-123")
        with pytest.raises(AccountError, match="paling sedikit 8"):
            set_password(uow.session, "pemda_a", "pendek")


# --- what a new form shows ---------------------------------------------------------------------


def test_initial_values_of_a_form():
    from web.cases import _initial_value

    def f(field_id, kind="string", default=None, options=(), **properties):
        return {
            "id": field_id,
            "type": kind,
            "default": default,
            "options": [{"id": o} for o in options],
            "properties": properties,
        }

    variables = {"nama_mitra": "Kota Fukuoka", "keputusan_dprd": "dianggap_setuju", "hasil": "revisi"}
    assert _initial_value(f("x", default="${nama_mitra}"), variables) == "Kota Fukuoka"
    assert _initial_value(f("nama_mitra"), variables) == "Kota Fukuoka"  # same id: prefilled
    assert _initial_value(f("nama_mitra", default="lain"), variables) == "Kota Fukuoka"
    assert _initial_value(f("catatan", default="${tidak_ada}"), variables) is None
    assert _initial_value(f("catatan", default="${a} dan ${b}"), variables) is None
    assert _initial_value(f("catatan", default="-"), variables) == "-"
    # decisions start empty: answered before by this task, marked in the diagram, or not offered
    hasil = f("hasil", "enum", options=("revisi", "terima"))
    assert _initial_value(hasil, variables) == "revisi"
    assert _initial_value(hasil, variables, frozenset({"hasil"})) is None
    assert _initial_value(f("hasil", "enum", options=("revisi",), decision="true"), variables) is None
    assert _initial_value(f("keputusan_dprd", "enum", options=("setuju", "tolak")), variables) is None


def test_row_links_are_what_url_for_builds():
    """`links` gives the URL `url_for` gives, for int and string ids; a URL holding the marker's
    digits elsewhere is built by `url_for` for every value."""
    from flask import Flask, url_for

    from web.links import links

    app = Flask(__name__)
    app.add_url_rule("/kasus/<int:instance_id>", "case", lambda instance_id: "")
    app.add_url_rule("/tugas/<task_id>/klaim", "claim", lambda task_id: "")
    app.add_url_rule("/x7919/<int:n>", "marked", lambda n: "")
    with app.test_request_context("/", base_url="http://example.test/aplikasi/"):
        case, claim, marked = links("case", "instance_id"), links("claim", "task_id"), links("marked", "n")
        for value in (1, 7919, 123456789):
            assert case(value) == url_for("case", instance_id=value)
            assert marked(value) == url_for("marked", n=value)
        for value in ("3f2c9a7e-0b1d-4c55-9e1a-2b7d9c0e4f61", "a b/c"):
            assert claim(value) == url_for("claim", task_id=value)
        assert case(5) == "/aplikasi/kasus/5"
