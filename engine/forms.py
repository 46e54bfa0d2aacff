"""Form values from `camunda:formData`: typed and checked the same way for the web and the CLI.

A browser and a terminal both send strings; the diagram says what each field means. One function
turns them into typed case variables and Indonesian messages per field, so the two front ends
never disagree about what is valid. The engine calls it before any handler sees the values.

Field dicts are what `engine.parser.read_form_fields` produces:
`{"id", "label", "type", "default", "constraints": {name: config_or_None}, "options", "properties"}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .ids import parse_id

__all__ = [
    "BULAN",
    "format_day",
    "FIELD_TYPES",
    "MSG_READONLY",
    "MSG_REQUIRED",
    "coerce_values",
    "describe",
    "display_value",
    "form_value",
    "is_readonly",
    "is_required",
]

FIELD_TYPES = ("string", "textarea", "long", "boolean", "date", "enum", "file")

MSG_REQUIRED = "Wajib diisi"
MSG_READONLY = "Isian ini tidak dapat diubah"
MSG_INTEGER = "Harus berupa bilangan bulat"
MSG_DATE = "Tanggal tidak valid (format TTTT-BB-HH)"
MSG_CHOICE = "Pilihan tidak tersedia"
MSG_BOOLEAN = "Harus ya atau tidak"
MSG_FILE = "Dokumen tidak valid"
MSG_TEXT = "Harus berupa teks"

_TRUE = frozenset({"true", "on", "1", "ya", "yes", "y"})
_FALSE = frozenset({"false", "off", "0", "tidak", "no", "n", ""})
_INTEGER = re.compile(r"[+-]?\d+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DMY_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# Characters a text field never needs; NUL in particular breaks PostgreSQL text columns.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


class _Invalid(Exception):
    """One field's value is wrong; the message is shown next to the field."""


def is_required(field: Mapping[str, Any]) -> bool:
    return "required" in (field.get("constraints") or {})


def is_readonly(field: Mapping[str, Any]) -> bool:
    return "readonly" in (field.get("constraints") or {})


def _is_expression(value: Any) -> bool:
    """A Camunda default such as `${nama_mitra}`: resolved by the engine, not a literal."""
    return isinstance(value, str) and "${" in value


def _int_config(field: Mapping[str, Any], name: str) -> int | None:
    """A numeric constraint's config, or None when absent or unreadable (deploy checks catch those)."""
    config = (field.get("constraints") or {}).get(name)
    try:
        return int(str(config).strip()) if config is not None else None
    except ValueError:
        return None


def _date_config(field: Mapping[str, Any], name: str) -> date | None:
    config = (field.get("constraints") or {}).get(name)
    if config is None:
        return None
    try:
        return _parse_date(config)
    except _Invalid:
        return None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise _Invalid(MSG_BOOLEAN)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Invalid(MSG_BOOLEAN)


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):  # bool is an int subclass; True is not a count
        raise _Invalid(MSG_INTEGER)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise _Invalid(MSG_INTEGER)


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if match := _ISO_DATE.fullmatch(text):
                return date(int(match[1]), int(match[2]), int(match[3]))
            if match := _DMY_DATE.fullmatch(text):  # Camunda's own forms send dd/MM/yyyy
                return date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            pass  # 2026-02-30 and friends
    raise _Invalid(MSG_DATE)


def _parse_text(value: Any, multiline: bool) -> str:
    if not isinstance(value, str):
        if isinstance(value, bool | int | float):
            value = str(value)
        else:
            raise _Invalid(MSG_TEXT)
    text = value.replace("\r\n", "\n").replace("\r", "\n")  # browsers send CRLF; count as one
    if not multiline:
        text = text.replace("\n", " ")
    return _CONTROL.sub("", text).strip()


def format_day(day: date) -> str:
    """A date as Indonesian readers write it: 14 Mei 2027."""
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"


def _coerce_one(field: Mapping[str, Any], value: Any) -> Any:
    """Type one non-blank value and check its constraints; raise `_Invalid` with the message."""
    kind = field.get("type") or "string"
    if kind == "boolean":
        return _parse_bool(value)
    if kind == "long":
        number = _parse_int(value)
        low, high = _int_config(field, "min"), _int_config(field, "max")
        if low is not None and number < low:
            raise _Invalid(f"Paling kecil {low}")
        if high is not None and number > high:
            raise _Invalid(f"Paling besar {high}")
        return number
    if kind == "date":
        day = _parse_date(value)
        earliest, latest = _date_config(field, "min"), _date_config(field, "max")
        if earliest is not None and day < earliest:
            raise _Invalid(f"Paling awal {format_day(earliest)}")
        if latest is not None and day > latest:
            raise _Invalid(f"Paling akhir {format_day(latest)}")
        return day
    if kind == "enum":
        choice = value.strip() if isinstance(value, str) else value
        if not isinstance(choice, str | int | float) or choice not in {
            option.get("id") for option in field.get("options") or () if isinstance(option.get("id"), str)
        }:  # a list or a dict is no choice (and cannot even be looked up)
            raise _Invalid(MSG_CHOICE)
        return choice
    if kind == "file":
        document_id = parse_id(value)
        if document_id is None:  # not a number, or past any row's id (never an overflow later)
            raise _Invalid(MSG_FILE)
        return document_id
    # string, textarea and any custom type the engine does not know: text
    text = _parse_text(value, multiline=kind == "textarea")
    shortest, longest = _int_config(field, "minlength"), _int_config(field, "maxlength")
    if text and shortest is not None and len(text) < shortest:
        raise _Invalid(f"Paling sedikit {shortest} karakter")
    if longest is not None and len(text) > longest:
        raise _Invalid(f"Paling banyak {longest} karakter")
    return text


def _default(field: Mapping[str, Any]) -> Any:
    """The field's literal default, typed; None when there is none or it is an expression."""
    default = field.get("default")
    if _is_blank(default) or _is_expression(default):
        return None
    try:
        return _coerce_one(field, default)
    except _Invalid:
        return None


def coerce_values(fields: list[dict], raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values for every field present or required, and `{field_id: message}` for the wrong ones.

    Rules that are easy to get wrong:
    - a boolean that is missing is False (an unticked checkbox sends nothing), never "Wajib diisi";
    - a key that is absent takes the field's literal default (the CLI may omit it); a key sent
      blank means "no value" (a cleared input) and fails `required`;
    - a readonly field keeps its default: sending another value is refused;
    - keys that are not fields are ignored, so a forged extra input cannot set a case variable.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        field_id = field.get("id")
        if not field_id:
            continue
        kind = field.get("type") or "string"
        present = field_id in raw
        value = raw.get(field_id)
        try:
            if is_readonly(field):
                default = _default(field)
                changed = present and not _is_blank(value)
                if changed and (_is_expression(field.get("default")) or _coerce_one(field, value) != default):
                    raise _Invalid(MSG_READONLY)
                if default is not None:
                    values[field_id] = default
                continue
            if kind == "boolean":
                values[field_id] = (
                    _parse_bool(value) if present and value is not None else bool(_default(field))
                )
                continue
            if not present:
                default = _default(field)
                if default is not None:
                    values[field_id] = default
                elif is_required(field):
                    raise _Invalid(MSG_REQUIRED)
                continue
            if _is_blank(value):
                if is_required(field):
                    raise _Invalid(MSG_REQUIRED)
                values[field_id] = None
                continue
            typed = _coerce_one(field, value)
            if typed == "" and is_required(field):  # only control characters or spaces
                raise _Invalid(MSG_REQUIRED)
            values[field_id] = typed
        except _Invalid as problem:
            errors[field_id] = str(problem)
    return values, errors


def form_value(field: Mapping[str, Any], value: Any) -> str:
    """How a value is put back into an HTML input: ISO dates, "true" for booleans, "" for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def display_value(field: Mapping[str, Any], value: Any) -> str:
    """A value as a person reads it (Indonesian dates, Ya/Tidak, the enum option's name)."""
    if value is None or value == "":
        return "-"
    kind = field.get("type") or "string"
    if kind == "boolean" or isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if kind == "date":
        try:
            return format_day(_parse_date(value))
        except _Invalid:
            return str(value)
    if kind == "enum":
        for option in field.get("options") or ():
            if option.get("id") == value:
                return str(option.get("name") or value)
    return str(value)


def describe(field: Mapping[str, Any]) -> dict[str, Any]:
    """A field as the API and `ksdpl form` describe it: type, required, allowed values."""
    constraints = field.get("constraints") or {}
    return {
        "id": field["id"],
        "label": field.get("label") or field["id"],
        "type": field.get("type") or "string",
        "required": "required" in constraints,
        "readonly": "readonly" in constraints,
        "default": field.get("default"),
        "constraints": {k: v for k, v in constraints.items() if k not in ("required", "readonly")},
        "options": [{"id": o["id"], "name": o.get("name") or o["id"]} for o in field.get("options") or []],
    }


VARIABLE_TYPES = ("string", "boolean", "long", "integer", "double", "date", "json")


def typed_variable(kind: str, text: str) -> Any:
    """A process variable given as text with its type (`--var disetujui:boolean=true`), as
    Camunda's REST API takes `{"value": ..., "type": ...}`; raises ValueError saying what is wrong."""
    import json

    kind = kind.strip().lower()
    if kind == "string":
        return text
    if kind == "boolean":
        if text.strip().lower() not in ("true", "false"):
            raise ValueError(f"'{text}' is not true or false")
        return text.strip().lower() == "true"
    if kind in ("long", "integer"):
        return int(text)
    if kind == "double":
        return float(text)
    if kind == "date":
        return date.fromisoformat(text.strip())
    if kind == "json":
        return json.loads(text)
    raise ValueError(f"unknown type '{kind}'; use one of {', '.join(VARIABLE_TYPES)}")
