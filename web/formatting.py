"""How dates, deadlines, groups and stages read on screen, in Indonesian and the region's time zone.

A case belongs to a region, and its people read times on their own clock (WIB, WITA or WIT), so
every instant shown goes through here with the case's time zone, never the server's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from engine.calendar import TIMEZONES, WorkingCalendar, deadline_day, local_today, zone_label
from engine.forms import format_day

from .counting import shown_count

STATUS_LABELS = {"running": "Berjalan", "completed": "Selesai", "cancelled": "Dibatalkan"}

DUE_SOON_WORKING_DAYS = 5


def stage_label(stage: int | None, names: Mapping[int, str]) -> str:
    """'5. Persetujuan DPRD' with the names the case's deployed version gives its stages."""
    if stage is None:
        return "-"
    name = names.get(stage)
    return f"{stage}. {name}" if name else str(stage)


def group_label(group: str, labels: Mapping[str, str]) -> str:
    return labels.get(group, group)


def groups_label(groups: str | list[str] | tuple[str, ...] | None, labels: Mapping[str, str]) -> str:
    """'pemda,dprd' -> 'Pemerintah Daerah, DPRD' (the handler package's labels)."""
    if groups is None:
        return "-"
    items = [g.strip() for g in groups.split(",")] if isinstance(groups, str) else list(groups)
    return ", ".join(group_label(g, labels) for g in items if g) or "-"


def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(TIMEZONES.get(tz, tz))


def format_date(day: date | datetime | None, tz: str = "Asia/Jakarta") -> str:
    """'14 Mei 2027'; an instant is first moved to `tz`."""
    if day is None:
        return "-"
    if isinstance(day, datetime):
        day = day.astimezone(_zone(tz)).date() if day.tzinfo else day.date()
    return format_day(day)


def format_datetime(moment: datetime | None, tz: str = "Asia/Jakarta") -> str:
    """'14 Mei 2027 pukul 10.30 WIB' in the region's time zone."""
    if moment is None:
        return "-"
    local = moment.astimezone(_zone(tz))
    return f"{format_date(local.date())} pukul {local:%H.%M} {zone_label(TIMEZONES.get(tz, tz))}"


@dataclass(frozen=True)
class Deadline:
    """A due instant as people read it: the last day, working days left, late or soon."""

    due_at: datetime
    day: date
    label: str
    working_days_left: int
    overdue: bool
    due_soon: bool
    provisional: bool

    @property
    def left_label(self) -> str:
        if self.overdue:
            late = -self.working_days_left
            return f"Terlambat {late} hari kerja" if late > 0 else "Terlambat"
        if self.working_days_left == 0:
            return "Hari ini"
        return f"{self.working_days_left} hari kerja lagi"


def due_label(due_at: datetime, tz: str) -> str:
    """A due instant on one clock: '13 Juli 2027 WIB' when it ends that day (00.00 the next),
    else with the time, '13 Juli 2027 pukul 22.00 WIB'."""
    tz_name = TIMEZONES.get(tz, tz)
    local = due_at.astimezone(_zone(tz_name))
    label = format_date(deadline_day(due_at, tz_name))
    if local.time() != time(0):
        label = f"{label} pukul {local:%H.%M}"
    return f"{label} {zone_label(tz_name)}"


def deadline(
    due_at: datetime | None,
    tz: str,
    now: datetime,
    calendar: WorkingCalendar,
    viewer_tz: str | None = None,
) -> Deadline | None:
    """Working days from the region's today to the deadline's last day (Indonesian calendar).

    The day is the region's (the rule counts its working days); a viewer on another clock also
    reads the same instant on theirs: "14 Mei 2027 WITA (14 Mei 2027 pukul 23.00 WIB)"."""
    if due_at is None:
        return None
    tz_name = TIMEZONES.get(tz, tz)
    day = deadline_day(due_at, tz_name)
    today = local_today(now, tz_name)
    left = calendar.working_days_between(today, day)
    overdue = now >= due_at
    label = due_label(due_at, tz_name)
    viewer_zone = TIMEZONES.get(viewer_tz, viewer_tz) if viewer_tz else tz_name
    if viewer_zone != tz_name:
        label = f"{label} ({due_label(due_at, viewer_zone)})"
    return Deadline(
        due_at=due_at,
        day=day,
        label=label,
        working_days_left=left,
        overdue=overdue,
        due_soon=not overdue and left <= DUE_SOON_WORKING_DAYS,
        provisional=calendar.is_provisional(today, day),
    )


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    megabytes = size / (1024 * 1024)
    if megabytes == int(megabytes):
        return f"{int(megabytes)} MB"
    return f"{megabytes:.1f} MB".replace(".", ",")


def lower_first(text: str) -> str:
    """'Persetujuan DPRD' -> 'persetujuan DPRD' for use mid-sentence; acronyms stay as they are."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def register(app: Any, orchestrator: Any) -> None:
    """Jinja filters and globals used by every template. Group labels and region levels are the
    handler package's (`registry.access`); stage names are each deployed version's."""
    from flask import g

    from .db import viewer_timezone

    policy = orchestrator.registry.access
    app.jinja_env.filters.update(
        tanggal=format_date,
        # without a zone: the viewer's own (their region's, WIB for national offices)
        waktu=lambda moment, tz=None: format_datetime(moment, tz or viewer_timezone()),
        grup=lambda groups: groups_label(groups, policy.labels),
        tahap=lambda stage, definition_id: stage_label(stage, orchestrator.stage_names(definition_id)),
        ukuran=format_size,
        jumlah=shown_count,  # a list's count: "lebih dari 1.000" past the cap
        zona=lambda tz: zone_label(TIMEZONES.get(tz, tz)),
    )
    app.jinja_env.globals.update(
        stage_names=orchestrator.stage_names,
        GROUP_LABELS=policy.labels,
        LEVEL_LABELS=policy.region_levels,
        STATUS_LABELS=STATUS_LABELS,
    )
    app.context_processor(lambda: {"viewer_tz": viewer_timezone()} if "actor" in g else {})
