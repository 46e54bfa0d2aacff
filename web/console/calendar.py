"""Console: the working-day calendar per year and region, decrees with their number, and the
progress of re-evaluating the deadlines they move."""

from __future__ import annotations

from calendar import monthrange
from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from engine.clock import clock
from engine.errors import EngineError, ValidationFailed
from engine.forms import BULAN
from engine.ids import parse_id
from engine.models import CalendarOverride, Region

from ..db import db, fresh, orchestrator
from ..views import calendar_for
from . import bp
from .queries import WIB, region_choices


@bp.get("/kalender")
def calendar() -> ResponseReturnValue:
    session = db()
    today = clock.now().astimezone().date()
    year_arg = request.args.get("tahun", "")
    asked = parse_id(year_arg)
    year = asked if asked is not None and 2000 <= asked <= 2100 else today.year
    region_code = request.args.get("wilayah") or None
    region = session.get(Region, region_code) if region_code else None
    if region_code and region is None:
        abort(404)
    cal = calendar_for(session, region_code)
    months = []
    for month in range(1, 13):
        last = date(year, month, monthrange(year, month)[1])
        working = sum(1 for d in range(1, last.day + 1) if cal.is_working_day(date(year, month, d)))
        months.append((BULAN[month - 1], working, last.day - working))
    holidays = cal.holidays_between(date(year, 1, 1), date(year, 12, 31))
    scope = (
        CalendarOverride.region_code.is_(None)
        if region_code is None
        else (CalendarOverride.region_code == region_code)
    )
    overrides = session.scalars(
        select(CalendarOverride)
        .where(scope, CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
        .order_by(CalendarOverride.day)
    ).all()
    regions = region_choices(session)
    return render_template(
        "console/calendar.html",
        year=year,
        region=region,
        regions=regions,
        months=months,
        total=sum(m[1] for m in months),
        holidays=holidays,
        overrides=overrides,
        decrees=orchestrator().calendar_status(20),
        tz=region.timezone if region else WIB,
    )


@bp.post("/kalender")
def add_decree() -> ResponseReturnValue:
    region_code = request.form.get("wilayah") or None
    back = url_for("console.calendar", wilayah=region_code, tahun=request.form.get("tahun"))
    try:
        day = date.fromisoformat(request.form.get("tanggal", ""))
    except ValueError:
        flash("Tanggal tidak valid", "galat")
        return redirect(back)
    holiday = request.form.get("jenis") == "libur"
    try:
        queued = orchestrator().decree(
            g.actor,
            day,
            holiday,
            region_code,
            request.form.get("nomor", ""),
            request.form.get("keterangan", ""),
        )
    except ValidationFailed as err:
        flash("; ".join(err.errors.values()), "galat")
    except EngineError as err:
        if err.status == 403:
            abort(403)
        flash(str(err), "galat")
    else:
        what = "hari libur" if holiday else "hari kerja"
        flash(
            f"{day.isoformat()} menjadi {what}. {queued.cases} kasus berjalan dihitung ulang oleh sistem.",
            "sukses",
        )
    fresh()
    return redirect(back)


@bp.post("/kalender/<int:decree_id>/ulang")
def retry_decree(decree_id: int) -> ResponseReturnValue:
    try:
        retried = orchestrator().retry_decree(decree_id, g.actor)
    except EngineError as err:
        abort(err.status)
    flash(f"{retried} kasus dihitung ulang lagi.", "sukses")
    return redirect(url_for("console.calendar"))
