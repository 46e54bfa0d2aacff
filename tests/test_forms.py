"""Form values from camunda:formData: typing, every constraint, Indonesian messages."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.forms import coerce_values, display_value, form_value, is_readonly, is_required


def field(field_id: str, kind: str = "string", default=None, options=None, **constraints) -> dict:
    return {
        "id": field_id,
        "label": field_id.replace("_", " ").title(),
        "type": kind,
        "default": default,
        "constraints": constraints,
        "options": [{"id": o, "name": o.upper()} for o in options or []],
        "properties": {},
    }


def one(f: dict, raw: dict):
    values, errors = coerce_values([f], raw)
    return values.get(f["id"]), errors.get(f["id"])


# --- strings -------------------------------------------------------------------------------------


def test_string_is_stripped_and_kept():
    assert one(field("judul"), {"judul": "  Kerja sama kota kembar  "}) == ("Kerja sama kota kembar", None)


def test_required_string_missing_or_blank():
    f = field("judul", required=None)
    assert one(f, {}) == (None, "Wajib diisi")
    assert one(f, {"judul": ""}) == (None, "Wajib diisi")
    assert one(f, {"judul": "   "}) == (None, "Wajib diisi")
    assert one(f, {"judul": None}) == (None, "Wajib diisi")


def test_optional_string_sent_blank_is_none_and_absent_is_left_out():
    f = field("catatan")
    values, errors = coerce_values([f], {"catatan": ""})
    assert values == {"catatan": None} and errors == {}
    values, errors = coerce_values([f], {})
    assert values == {} and errors == {}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("ab", "Paling sedikit 3 karakter"),
        ("abc", None),
        ("x" * 10, None),
        ("x" * 11, "Paling banyak 10 karakter"),
    ],
)
def test_string_length(text, error):
    f = field("judul", minlength="3", maxlength="10")
    assert one(f, {"judul": text})[1] == error


def test_minlength_does_not_apply_to_an_optional_empty_field():
    assert one(field("judul", minlength="3"), {"judul": ""}) == (None, None)


def test_textarea_keeps_newlines_and_counts_crlf_once():
    f = field("uraian", "textarea", maxlength="5")
    assert one(f, {"uraian": "ab\r\ncd"}) == ("ab\ncd", None)
    assert one(field("judul", maxlength="5"), {"judul": "ab\r\ncd"}) == ("ab cd", None)


def test_control_characters_are_dropped():
    assert one(field("judul"), {"judul": "a\x00b\x07c"}) == ("abc", None)
    assert one(field("judul", required=None), {"judul": "\x00\x01"}) == (None, "Wajib diisi")


def test_html_is_kept_as_text_not_interpreted():
    value, error = one(field("judul"), {"judul": "<script>alert(1)</script>"})
    assert value == "<script>alert(1)</script>" and error is None


def test_non_text_value_for_string():
    assert one(field("judul"), {"judul": ["a"]}) == (None, "Harus berupa teks")
    assert one(field("judul"), {"judul": 12}) == ("12", None)


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", (12, None)),
        (" -3 ", (-3, None)),
        ("+4", (4, None)),
        (7, (7, None)),
        ("1.5", (None, "Harus berupa bilangan bulat")),
        ("dua", (None, "Harus berupa bilangan bulat")),
        ("1e3", (None, "Harus berupa bilangan bulat")),
        (True, (None, "Harus berupa bilangan bulat")),
        (2.0, (None, "Harus berupa bilangan bulat")),
    ],
)
def test_long(raw, expected):
    assert one(field("jumlah", "long"), {"jumlah": raw}) == expected


@pytest.mark.parametrize(
    ("raw", "error"), [("0", "Paling kecil 1"), ("1", None), ("50", None), ("51", "Paling besar 50")]
)
def test_long_range(raw, error):
    assert one(field("jumlah", "long", min="1", max="50"), {"jumlah": raw})[1] == error


def test_unreadable_constraint_config_is_ignored():
    assert one(field("jumlah", "long", min="satu"), {"jumlah": "-5"}) == (-5, None)


# --- booleans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["true", "on", "1", "ya", "YA", " True ", True, 1])
def test_boolean_true(raw):
    assert one(field("setuju", "boolean"), {"setuju": raw}) == (True, None)


@pytest.mark.parametrize("raw", ["false", "off", "0", "tidak", "", False, 0])
def test_boolean_false(raw):
    assert one(field("setuju", "boolean"), {"setuju": raw}) == (False, None)


def test_missing_boolean_is_false_even_when_required():
    assert one(field("setuju", "boolean", required=None), {}) == (False, None)


def test_missing_boolean_takes_its_default():
    assert one(field("setuju", "boolean", default="true"), {}) == (True, None)


def test_boolean_nonsense():
    assert one(field("setuju", "boolean"), {"setuju": "mungkin"}) == (None, "Harus ya atau tidak")
    assert one(field("setuju", "boolean"), {"setuju": 2}) == (None, "Harus ya atau tidak")


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2027-05-14", date(2027, 5, 14)),
        ("14/05/2027", date(2027, 5, 14)),
        ("4/5/2027", date(2027, 5, 4)),
        (date(2027, 5, 14), date(2027, 5, 14)),
        (datetime(2027, 5, 14, 10, 30), date(2027, 5, 14)),
    ],
)
def test_date_accepted(raw, expected):
    assert one(field("tanggal", "date"), {"tanggal": raw}) == (expected, None)


@pytest.mark.parametrize(
    "raw", ["2027-02-30", "14-05-2027", "kemarin", "2027/05/14", "20270514", "31/13/2027", 5]
)
def test_date_refused(raw):
    assert one(field("tanggal", "date"), {"tanggal": raw}) == (
        None,
        "Tanggal tidak valid (format TTTT-BB-HH)",
    )


def test_date_range():
    f = field("tanggal", "date", min="2026-01-01", max="2026-12-31")
    assert one(f, {"tanggal": "2025-12-31"})[1] == "Paling awal 1 Januari 2026"
    assert one(f, {"tanggal": "2027-01-01"})[1] == "Paling akhir 31 Desember 2026"
    assert one(f, {"tanggal": "2026-06-01"}) == (date(2026, 6, 1), None)


# --- enums ---------------------------------------------------------------------------------------


def test_enum():
    f = field("jenis", "enum", options=["KSDPL", "KSDLL"], required=None)
    assert one(f, {"jenis": "KSDLL"}) == ("KSDLL", None)
    assert one(f, {"jenis": "ksdll"}) == (None, "Pilihan tidak tersedia")
    assert one(f, {"jenis": "LAINNYA"}) == (None, "Pilihan tidak tersedia")
    assert one(f, {"jenis": ""}) == (None, "Wajib diisi")


# --- files ---------------------------------------------------------------------------------------


def test_file_is_a_document_id():
    f = field("kajian", "file", required=None)
    assert one(f, {"kajian": "17"}) == (17, None)
    assert one(f, {"kajian": 17}) == (17, None)
    assert one(f, {"kajian": "kajian.pdf"}) == (None, "Dokumen tidak valid")
    assert one(f, {"kajian": "0"}) == (None, "Dokumen tidak valid")
    assert one(f, {}) == (None, "Wajib diisi")


# --- readonly and defaults -----------------------------------------------------------------------


def test_readonly_keeps_default_and_refuses_another_value():
    f = field("nomor", "long", default="3", readonly=None)
    assert one(f, {}) == (3, None)
    assert one(f, {"nomor": "3"}) == (3, None)
    assert one(f, {"nomor": "4"}) == (None, "Isian ini tidak dapat diubah")


def test_readonly_with_an_expression_default_accepts_nothing():
    f = field("nama_mitra", default="${nama_mitra}", readonly=None)
    assert coerce_values([f], {}) == ({}, {})
    values, errors = coerce_values([f], {"nama_mitra": "Kota Lain"})
    assert errors == {"nama_mitra": "Isian ini tidak dapat diubah"} and values == {}


def test_absent_key_takes_the_default_but_blank_does_not():
    f = field("negara", default="Jepang", required=None)
    assert one(f, {}) == ("Jepang", None)
    assert one(f, {"negara": ""}) == (None, "Wajib diisi")


def test_expression_default_is_not_used_as_a_value():
    assert coerce_values([field("negara", default="${negara_mitra}")], {}) == ({}, {})


# --- the form as a whole -------------------------------------------------------------------------


def test_unknown_keys_are_ignored_and_all_errors_reported_together():
    fields = [
        field("judul", required=None, maxlength="20"),
        field("jumlah", "long", max="5"),
        field("tanggal", "date", required=None),
        field("setuju", "boolean"),
    ]
    values, errors = coerce_values(
        fields, {"judul": "x" * 21, "jumlah": "9", "tanggal": "", "stage": "12", "csrf_token": "t"}
    )
    assert errors == {
        "judul": "Paling banyak 20 karakter",
        "jumlah": "Paling besar 5",
        "tanggal": "Wajib diisi",
    }
    assert values == {"setuju": False}
    assert "stage" not in values and "csrf_token" not in values


def test_valid_form():
    fields = [
        field("nama_mitra", required=None),
        field("jenis", "enum", options=["KSDPL", "KSDLL"], required=None),
        field("tanggal", "date"),
        field("peserta", "long", min="1"),
        field("setuju", "boolean"),
        field("uraian", "textarea"),
    ]
    raw = {
        "nama_mitra": "Kota Fukuoka",
        "jenis": "KSDPL",
        "tanggal": "2027-01-04",
        "peserta": "4",
        "setuju": "on",
        "uraian": "baris 1\r\nbaris 2",
    }
    assert coerce_values(fields, raw) == (
        {
            "nama_mitra": "Kota Fukuoka",
            "jenis": "KSDPL",
            "tanggal": date(2027, 1, 4),
            "peserta": 4,
            "setuju": True,
            "uraian": "baris 1\nbaris 2",
        },
        {},
    )


def test_field_without_type_is_text_and_without_id_is_skipped():
    fields = [{"id": "a", "constraints": {}}, {"label": "tanpa id"}]
    assert coerce_values(fields, {"a": "x"}) == ({"a": "x"}, {})


def test_helpers():
    f = field("a", required=None, readonly=None)
    assert is_required(f) and is_readonly(f)
    assert not is_required(field("b")) and not is_readonly({"id": "c"})
    assert form_value(field("t", "date"), date(2027, 5, 14)) == "2027-05-14"
    assert form_value(field("t", "date"), datetime(2027, 5, 14, 1)) == "2027-05-14"
    assert form_value(field("b", "boolean"), True) == "true"
    assert form_value(field("b", "boolean"), False) == ""
    assert form_value(field("s"), None) == ""
    assert form_value(field("n", "long"), 4) == "4"
    assert display_value(field("t", "date"), "2027-05-14") == "14 Mei 2027"
    assert display_value(field("t", "date"), "bukan tanggal") == "bukan tanggal"
    assert display_value(field("b", "boolean"), False) == "Tidak"
    assert display_value(field("e", "enum", options=["ksdpl"]), "ksdpl") == "KSDPL"
    assert display_value(field("s"), "") == "-"
    assert display_value(field("s"), "teks") == "teks"


def test_an_enum_value_that_is_a_list_or_dict_is_refused_not_a_type_error():
    """Found by tests/reliability/test_hostile_input.py: `[] in {...}` raised TypeError."""
    fields = [{"id": "a", "type": "enum", "options": [{"id": "x"}], "constraints": {}}]
    for value in ([], ["x"], {"x": 1}):
        typed, errors = coerce_values(fields, {"a": value})
        assert typed == {} and errors == {"a": "Pilihan tidak tersedia"}
