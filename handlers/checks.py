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

    def not_before(
        self, values, field: str, earlier: str, what: str, *, strictly_after: bool = False
    ) -> None:
        """`field` may not be a date before `earlier` (with `strictly_after`, not on it either);
        `what` names the earlier date in the message."""
        first, second = values.get(earlier), values.get(field)
        if not (isinstance(first, date) and isinstance(second, date)):
            return
        if strictly_after and second <= first:
            self.add(field, f"Harus setelah {what} ({tanggal(first)})")
        elif second < first:
            self.add(field, f"Tidak boleh sebelum {what} ({tanggal(first)})")

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(self.fields)
