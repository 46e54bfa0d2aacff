"""Console pages about the installation: deployments (versions, upload with findings, download),
the working-day calendar with decrees, and (admins only) accounts and regions."""

from __future__ import annotations

import io
import zipfile
from calendar import monthrange
from datetime import date

from flask import Response, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from engine.calendar import TIMEZONES
from engine.clock import clock
from engine.errors import DeploymentRejected, EngineError, ValidationFailed
from engine.forms import BULAN
from engine.models import AuditEvent, CalendarOverride, Instance, ProcessDefinition, Region, User
from engine.runtime import dumps

from ..accounts import AccountError, create_user, list_users, set_active, set_groups, set_password
from ..db import access, db, fresh, orchestrator
from ..views import calendar_for
from . import admin_only, bp
from .queries import WIB

MAX_DEPLOY_BYTES = 5 * 1024 * 1024
MAX_BULK = 200  # cases or incidents one bulk action takes


# --- deployments -----------------------------------------------------------------------------------


def finding_rows(problems: list[str]) -> list[tuple[str, str, str]]:
    """`file: element-id: message` -> (file, element, message); the element may be `None`/`-`."""
    rows = []
    for problem in problems:
        parts = problem.split(": ", 2)
        while len(parts) < 3:
            parts.insert(1, "-")
        file, element, message = parts
        rows.append((file, "-" if element in ("None", "") else element, message))
    return rows


def _versions():
    counts = dict(
        db()
        .execute(
            select(Instance.definition_id, func.count())
            .where(Instance.status == "running")
            .group_by(Instance.definition_id)
        )
        .all()
    )
    definitions = (
        db()
        .scalars(
            select(ProcessDefinition)
            .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
            .limit(500)
        )
        .all()
    )
    return [(d, counts.get(d.id, 0)) for d in definitions]


@bp.get("/deploy")
def deployments() -> ResponseReturnValue:
    return render_template("console/deployments.html", versions=_versions(), findings=[], results=[])


@bp.post("/deploy")
def deploy() -> ResponseReturnValue:
    files: dict[str, bytes] = {}
    for upload in request.files.getlist("berkas"):
        if not upload or not upload.filename:
            continue
        name = upload.filename.rsplit("/", 1)[-1]
        if not name.lower().endswith((".bpmn", ".dmn")):
            flash(f"{name}: hanya berkas .bpmn dan .dmn yang dapat di-deploy", "galat")
            return render_template(
                "console/deployments.html", versions=_versions(), findings=[], results=[]
            ), 422
        content = upload.read(MAX_DEPLOY_BYTES + 1)
        if len(content) > MAX_DEPLOY_BYTES:
            abort(413)
        files[name] = content
    if not files:
        flash("Pilih paling sedikit satu berkas .bpmn atau .dmn", "galat")
        return render_template("console/deployments.html", versions=_versions(), findings=[], results=[]), 422
    try:
        results = orchestrator().deploy_as(files, g.actor)
    except DeploymentRejected as err:
        return render_template(
            "console/deployments.html", versions=_versions(), findings=finding_rows(err.problems), results=[]
        ), 422
    except UnicodeDecodeError:
        flash("Berkas bukan teks UTF-8", "galat")
        return render_template("console/deployments.html", versions=_versions(), findings=[], results=[]), 422
    except EngineError as err:
        abort(err.status)
    fresh()
    return render_template("console/deployments.html", versions=_versions(), findings=[], results=results)


@bp.get("/deploy/<int:definition_id>/unduh")
def download(definition_id: int) -> ResponseReturnValue:
    try:
        definition, files = orchestrator().definition_files(definition_id)
    except EngineError:
        abort(404)
    if len(files) == 1:
        ((name, text),) = files.items()
        return Response(
            text,
            mimetype="application/xml",
            headers={"Content-Disposition": f'attachment; filename="v{definition.version}-{name}"'},
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{definition.key}-v{definition.version}.zip",
    )


@bp.route("/deploy/<int:definition_id>/pindah", methods=["GET", "POST"])
def migrate(definition_id: int) -> ResponseReturnValue:
    """Move selected running cases of older (or other) versions to this one."""
    target = db().get(ProcessDefinition, definition_id)
    if target is None:
        abort(404)
    results: list[tuple[int, bool, str]] = []
    if request.method == "POST":
        reason = request.form.get("alasan", "")
        chosen = [int(i) for i in request.form.getlist("kasus") if i.isdigit()][:MAX_BULK]
        if not chosen:
            flash("Pilih paling sedikit satu kasus", "galat")
        for instance_id in chosen:
            try:
                version = orchestrator().migrate(instance_id, definition_id, g.actor, reason)
            except ValidationFailed as err:
                results.append((instance_id, False, "; ".join(err.errors.values())))
            except EngineError as err:
                if err.status == 403:
                    abort(403)
                results.append((instance_id, False, str(err)))
            else:
                results.append((instance_id, True, f"dipindah ke versi {version}"))
        fresh()
    cases = (
        db()
        .scalars(
            select(Instance)
            .where(
                Instance.process_key == target.key,
                Instance.definition_id != target.id,
                Instance.status == "running",
            )
            .order_by(Instance.process_version, Instance.id)
            .limit(MAX_BULK)
        )
        .all()
    )
    status = 422 if results and not any(ok for _i, ok, _m in results) else 200
    return render_template("console/migrate.html", target=target, cases=cases, results=results), status


# --- calendar -----------------------------------------------------------------------------------------


@bp.get("/kalender")
def calendar() -> ResponseReturnValue:
    session = db()
    today = clock.now().astimezone().date()
    year_arg = request.args.get("tahun", "")
    year = int(year_arg) if year_arg.isdigit() and 2000 <= int(year_arg) <= 2100 else today.year
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
    regions = session.execute(select(Region.code, Region.name).order_by(Region.name)).all()
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


# --- accounts and regions (admins) ---------------------------------------------------------------------


def _audit_admin(action: str, **detail) -> None:
    with orchestrator().uow() as uow:
        uow.session.add(
            AuditEvent(at=clock.now(), actor=g.actor.username, action=action, detail=dumps(detail))
        )
        uow.commit()


def _account_change(apply, success: str, **audit) -> None:
    """One account change in its own transaction, audited; a refusal becomes a flash message."""
    with orchestrator().uow() as uow:
        try:
            apply(uow.session)
        except AccountError as err:
            flash(str(err), "galat")
            return
        uow.session.add(
            AuditEvent(at=clock.now(), actor=g.actor.username, action="account", detail=dumps(audit))
        )
        uow.commit()
    fresh()
    flash(success, "sukses")


@bp.get("/akun")
def accounts() -> ResponseReturnValue:
    admin_only()
    regions = db().execute(select(Region.code, Region.name).order_by(Region.name)).all()
    return render_template(
        "console/accounts.html", users=list_users(db()), regions=regions, groups=sorted(access().groups)
    )


@bp.post("/akun")
def create_account() -> ResponseReturnValue:
    admin_only()
    form = request.form
    username = form.get("username", "")
    _account_change(
        lambda s: create_user(
            s,
            username,
            form.get("nama", ""),
            form.getlist("grup"),
            form.get("sandi", ""),
            form.get("wilayah") or None,
            access(),
            form.get("email") or None,
        ),
        f"Akun {username} dibuat.",
        change="create",
        username=username,
    )
    return redirect(url_for("console.accounts"))


@bp.post("/akun/<username>/aktif")
def toggle_account(username: str) -> ResponseReturnValue:
    admin_only()
    active = request.form.get("aktif") == "1"
    if username == g.actor.username and not active:
        flash("Anda tidak dapat menonaktifkan akun Anda sendiri", "galat")
        return redirect(url_for("console.accounts"))
    _account_change(
        lambda s: set_active(s, username, active),
        f"Akun {username} {'diaktifkan' if active else 'dinonaktifkan'}.",
        change="activate" if active else "disable",
        username=username,
    )
    return redirect(url_for("console.accounts"))


@bp.post("/akun/<username>/sandi")
def reset_password(username: str) -> ResponseReturnValue:
    admin_only()
    _account_change(
        lambda s: set_password(s, username, request.form.get("sandi", "")),
        f"Kata sandi {username} diganti.",
        change="password",
        username=username,
    )
    return redirect(url_for("console.accounts"))


@bp.post("/akun/<username>/grup")
def change_groups(username: str) -> ResponseReturnValue:
    admin_only()
    groups = request.form.getlist("grup")
    region_code = request.form.get("wilayah") or None
    _account_change(
        lambda s: set_groups(s, username, groups, region_code, access()),
        f"Grup dan wilayah {username} diubah.",
        change="groups",
        username=username,
        groups=groups,
        region=region_code,
    )
    return redirect(url_for("console.accounts"))


@bp.get("/wilayah")
def regions() -> ResponseReturnValue:
    admin_only()
    rows = (
        db()
        .execute(
            select(Region, func.count(User.id))
            .outerjoin(User, (User.region_code == Region.code) & User.active)
            .group_by(Region.code)
            .order_by(Region.name)
        )
        .all()
    )
    return render_template("console/regions.html", rows=rows, levels=access().region_levels, zones=TIMEZONES)


@bp.post("/wilayah")
def add_region() -> ResponseReturnValue:
    admin_only()
    form = request.form
    code, name = form.get("kode", "").strip()[:20], form.get("nama", "").strip()[:200]
    level, zone = form.get("tingkat", ""), form.get("zona", "")
    levels = access().region_levels
    problem = None
    if not code or not name:
        problem = "Kode dan nama wilayah wajib diisi"
    elif levels and level not in levels:
        problem = "Tingkat wilayah tidak dikenal"
    elif zone not in TIMEZONES:
        problem = "Zona waktu tidak dikenal"
    elif db().get(Region, code) is not None:
        problem = f"Wilayah {code} sudah ada"
    if problem:
        flash(problem, "galat")
        return redirect(url_for("console.regions"))
    with orchestrator().uow() as uow:
        uow.session.add(
            Region(
                code=code,
                name=name,
                level=level,
                timezone=TIMEZONES[zone],
                province_code=form.get("provinsi", "").strip()[:20] or None,
            )
        )
        uow.commit()
    _audit_admin("region", code=code, name=name)
    fresh()
    flash(f"Wilayah {name} ditambahkan.", "sukses")
    return redirect(url_for("console.regions"))
