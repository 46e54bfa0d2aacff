"""Small helpers shared by the handlers: collecting field errors and wording dates."""

from __future__ import annotations

from datetime import date

from engine.errors import ValidationFailed
from engine.forms import format_day as tanggal

__all__ = ["Errors", "tanggal"]


class Errors:
    """Collect every problem of a form before refusing it, so the user sees them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def not_after_today(self, values, field: str, today: date, label: str = "Tanggal") -> None:
        day = values.get(field)
        if isinstance(day, date) and day > today:
            self.add(field, f"{label} tidak boleh setelah hari ini ({tanggal(today)})")

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(self.fields)
