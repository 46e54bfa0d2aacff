"""Console, admins only: accounts (create, disable, reset password, groups and region) and
regions. Every change is one transaction with its audit event."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from engine.calendar import TIMEZONES
from engine.clock import clock
from engine.jsonvalues import dumps
from engine.models import AuditEvent, Region, User

from .. import counting
from ..accounts import (
    AccountError,
    account_info,
    account_page,
    create_user,
    set_active,
    set_groups,
    set_password,
)
from ..db import access, db, fresh, orchestrator
from . import admin_only, bp
from .queries import region_choices


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


def _back_to(username: str) -> ResponseReturnValue:
    """After a change: the account's page, or the list when there is no such account."""
    if account_info(db(), username) is None:
        return redirect(url_for("console.accounts"))
    return redirect(url_for("console.account", username=username))


@bp.get("/akun")
def accounts() -> ResponseReturnValue:
    """A page of accounts, found by name or region; each opens its own page to change it."""
    admin_only()
    text, region = request.args.get("q", "")[:200], request.args.get("wilayah", "")[:20]
    page = account_page(db(), text, region, counting.asked_page(request.args.get("halaman")))
    return render_template(
        "console/accounts.html",
        page=page,
        q=text,
        region=region,
        regions=region_choices(db()),
        groups=sorted(access().groups),
    )


@bp.get("/akun/<username>")
def account(username: str) -> ResponseReturnValue:
    admin_only()
    user = account_info(db(), username)
    if user is None:
        abort(404)
    return render_template(
        "console/account.html", u=user, regions=region_choices(db()), groups=sorted(access().groups)
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
        return _back_to(username)
    _account_change(
        lambda s: set_active(s, username, active),
        f"Akun {username} {'diaktifkan' if active else 'dinonaktifkan'}.",
        change="activate" if active else "disable",
        username=username,
    )
    return _back_to(username)


@bp.post("/akun/<username>/sandi")
def reset_password(username: str) -> ResponseReturnValue:
    admin_only()
    _account_change(
        lambda s: set_password(s, username, request.form.get("sandi", "")),
        f"Kata sandi {username} diganti.",
        change="password",
        username=username,
    )
    return _back_to(username)


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
    return _back_to(username)


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
