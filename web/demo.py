"""`ksdpl demo`: a database someone can log into and click through, with cases at several stages.

Cases are driven through the orchestrator exactly as staff would: start, then complete each ready
task with sample values filled from its form (decisions chosen per case), files uploaded as
small PDFs, the worker run between steps. Running it twice adds nothing twice.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.access import AccessPolicy, Actor
from engine.calendar import TIMEZONES, local_today
from engine.clock import clock
from engine.models import Instance, Region, Task, User
from engine.service import Orchestrator
from engine.store import upgrade

from .accounts import create_user

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
PROCESS_KEY = "ksdpl"

# code, name, level, zone, province
REGIONS = [
    ("32.73", "Kota Bandung", "kota", "WIB", "32"),
    ("51", "Provinsi Bali", "provinsi", "WITA", None),
    ("91.03", "Kabupaten Jayapura", "kabupaten", "WIT", "91"),
]

# username, full name, group, region, password (documented in the README); each gets the address
# <username>@contoh.go.id, so a local SMTP sink shows the mail they would receive
USERS = [
    ("pemda.bandung", "Rina Biro Kerja Sama Bandung", "pemda", "32.73", "Bandung-Pemda-2026"),
    ("kada.bandung", "Wali Kota Bandung", "kepala_daerah", "32.73", "Bandung-Kada-2026"),
    ("dprd.bandung", "Sekretariat DPRD Kota Bandung", "dprd", "32.73", "Bandung-Dprd-2026"),
    ("pemda.bali", "Made Biro Kerja Sama Bali", "pemda", "51", "Bali-Pemda-2026"),
    ("kada.bali", "Gubernur Bali", "kepala_daerah", "51", "Bali-Kada-2026"),
    ("dprd.bali", "Sekretariat DPRD Provinsi Bali", "dprd", "51", "Bali-Dprd-2026"),
    ("kemendagri", "Sekjen Kemendagri (verifikator)", "kemendagri", None, "Kemendagri-2026"),
    ("kemenlu", "Direktorat Kemenlu", "kemenlu", None, "Kemenlu-2026"),
    ("operator", "Operator Sistem", "operator", None, "Operator-2026"),
    ("admin", "Administrator", "admin", None, "Admin-2026"),
]

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class DemoCase:
    key: str  # for the log; the case is found again by its title
    region: str
    start: dict[str, str]
    stop_at: str  # bpmn id of the task the case waits at when the demo is done
    decisions: dict[str, str] = field(default_factory=dict)


CASES = [
    DemoCase(
        "DEMO-1",
        "32.73",
        {
            "judul_kerja_sama": "Kerja sama kota kembar Bandung–Fukuoka",
            "jenis_kerja_sama": "ksdpl",
            "nama_mitra": "Kota Fukuoka",
            "negara_mitra": "JP",
            "tingkat_mitra": "kota_kabupaten",
            "sumber_prakarsa": "pemerintah_daerah",
            "uraian_prakarsa": "Kerja sama pendidikan vokasi dan pengelolaan sampah.",
        },
        stop_at="Task_Penjajakan",
    ),
    DemoCase(
        "DEMO-2",
        "32.73",
        {
            "judul_kerja_sama": "Kerja sama Bandung–Suwon bidang ekonomi kreatif",
            "jenis_kerja_sama": "ksdpl",
            "nama_mitra": "Kota Suwon",
            "negara_mitra": "KR",
            "tingkat_mitra": "kota_kabupaten",
            "sumber_prakarsa": "pemerintah_daerah_luar_negeri",
            "uraian_prakarsa": "Pertukaran pelaku ekonomi kreatif dan pameran bersama.",
        },
        stop_at="Task_KeputusanDprd",
    ),
    DemoCase(
        "DEMO-3",
        "51",
        {
            "judul_kerja_sama": "Kerja sama Bali–Queensland bidang pariwisata berkelanjutan",
            "jenis_kerja_sama": "ksdpl",
            "nama_mitra": "Negara Bagian Queensland",
            "negara_mitra": "AU",
            "tingkat_mitra": "provinsi_negara_bagian",
            "sumber_prakarsa": "pemerintah_daerah",
            "uraian_prakarsa": "Pariwisata berkelanjutan dan konservasi terumbu karang.",
        },
        stop_at="Task_Verifikasi",
    ),
    DemoCase(
        "DEMO-4",
        "51",
        {
            "judul_kerja_sama": "Kerja sama Bali–Zhejiang bidang pertanian",
            "jenis_kerja_sama": "ksdpl",
            "nama_mitra": "Provinsi Zhejiang",
            "negara_mitra": "CN",
            "tingkat_mitra": "provinsi_negara_bagian",
            "sumber_prakarsa": "pemerintah_luar_negeri",
            "uraian_prakarsa": "Teknologi pertanian dan irigasi subak.",
        },
        stop_at="Task_KoordinasiLoi",
    ),
    DemoCase(
        "DEMO-5",
        "32.73",
        {
            "judul_kerja_sama": "Kerja sama Bandung–Braunschweig bidang transportasi perkotaan",
            "jenis_kerja_sama": "ksdpl",
            "nama_mitra": "Kota Braunschweig",
            "negara_mitra": "DE",
            "tingkat_mitra": "kota_kabupaten",
            "sumber_prakarsa": "pemerintah_daerah",
            "uraian_prakarsa": "Transportasi publik dan tata kota.",
        },
        stop_at="Task_KonfirmasiKemenlu",
    ),
    DemoCase(
        "DEMO-6",
        "51",
        {
            "judul_kerja_sama": "Kerja sama Bali–Okinawa bidang kebudayaan",
            "jenis_kerja_sama": "ksdpl",
            "nama_mitra": "Prefektur Okinawa",
            "negara_mitra": "JP",
            "tingkat_mitra": "provinsi_negara_bagian",
            "sumber_prakarsa": "pemerintah_daerah_luar_negeri",
            "uraian_prakarsa": "Pertukaran seni pertunjukan dan pelestarian budaya.",
        },
        stop_at="Task_SusunRencana",
    ),
]

# Values that decide the path, or that a handler checks; everything else is filled from the form.
DECISIONS: dict[str, str] = {
    "hasil_penjajakan": "sepakat",
    "tindak_lanjut_kelayakan": "perbaiki",
    "keputusan_dprd": "setuju",
    "tindak_lanjut_penolakan": "perbaiki",
    "hasil_verifikasi": "susun_naskah",
}


def _sample(
    f: Mapping[str, Any], today: date, variables: Mapping[str, Any], decisions: Mapping[str, str]
) -> Any:
    """A plausible value for one field, within its constraints."""
    field_id, kind = f["id"], f.get("type") or "string"
    constraints = f.get("constraints") or {}
    if field_id in decisions:
        return decisions[field_id]
    if variables.get(field_id) is not None and kind != "file":
        value = variables[field_id]
        return value.isoformat() if isinstance(value, date) else value
    if field_id.endswith("_sampai"):
        return today.replace(year=today.year + 1).isoformat()
    if kind == "boolean":
        return "true"
    if kind == "date":
        return today.isoformat()
    if kind == "long":
        return str(max(1, int(constraints.get("min") or 1)))
    if kind == "enum":
        options = f.get("options") or []
        return options[0]["id"] if options else ""
    text = f"Contoh isian: {f.get('label') or field_id}"
    if field_id.startswith("nomor_surat"):
        text = f"B/{zlib.crc32(field_id.encode()) % 900 + 100}/{today.year}"
    longest = int(constraints.get("maxlength") or 0)
    return text[:longest] if longest else text


def _actor_for(
    policy: AccessPolicy, groups: str, region: str, usernames: Mapping[tuple[str, str | None], str]
) -> Actor:
    for group in (g.strip() for g in groups.split(",")):
        for key in ((group, region), (group, None)):
            if key in usernames:
                return policy.actor(usernames[key], {group}, key[1])
    raise LookupError(f"no demo user for groups {groups!r} in {region}")


def drive(orch: Orchestrator, instance_id: int, case: DemoCase, usernames, max_steps: int = 60) -> str:
    """Complete ready tasks with sample values until `case.stop_at` is ready; returns where it stopped."""
    decisions = {**DECISIONS, **case.decisions}
    for _ in range(max_steps):
        orch.run_due()
        with orch.session() as s:
            instance = s.get(Instance, instance_id)
            if instance.status != "running":
                return instance.status
            tasks = list(
                s.scalars(
                    select(Task)
                    .where(Task.instance_id == instance_id, Task.status == "ready")
                    .order_by(Task.created_at)
                )
            )
            region = s.get(Region, instance.region_code)
            variables = json.loads(instance.variables or "{}")
        if not tasks:
            return "waiting"
        if any(t.bpmn_id == case.stop_at for t in tasks):
            return case.stop_at
        task = tasks[0]
        who = _actor_for(orch.registry.access, task.candidate_groups, instance.region_code, usernames)
        today = local_today(clock.now(), region.timezone if region else "Asia/Jakarta")
        raw: dict[str, Any] = {}
        for f in json.loads(task.form or "[]"):
            if "readonly" in (f.get("constraints") or {}):
                continue
            if f.get("type") == "file":
                raw[f["id"]] = orch.add_document(
                    instance_id,
                    f"{f['id']}.pdf",
                    "application/pdf",
                    DEMO_PDF,
                    who,
                    task_id=task.id,
                    field=f["id"],
                )
            else:
                raw[f["id"]] = _sample(f, today, variables, decisions)
        orch.complete_task(task.id, raw, who)
    return "step limit"


def _refuse_real_accounts(orch: Orchestrator) -> None:
    """A database with accounts of its own is a real deployment: no well-known passwords there."""
    from engine.errors import EngineError

    demo_names = [username for username, *_ in USERS]
    with orch.session() as s:
        others = s.scalars(
            select(User.username).where(User.username.not_in(demo_names)).order_by(User.username).limit(5)
        ).all()
    if others:
        raise EngineError(
            "database already has accounts that are not demo accounts "
            f"({', '.join(others)}): demo data with known passwords is refused; use --force to add it anyway"
        )


def load_demo(
    database_url: str, orch: Orchestrator, with_cases: bool = True, force: bool = False
) -> dict[str, Any]:
    """Everything `ksdpl demo` creates; returns a log and the users with their passwords."""
    log: list[str] = []
    upgrade(database_url)
    if not force:
        _refuse_real_accounts(orch)
    orch.seed_lookups()
    bpmn, dmn = PROCESSES / "ksdpl.bpmn", PROCESSES / "kelayakan.dmn"
    missing = [str(p) for p in (bpmn, dmn) if not p.is_file()]
    if missing:
        from engine.errors import EngineError

        raise EngineError(f"process files missing: {', '.join(missing)}")
    for result in orch.deploy(
        {bpmn.name: bpmn.read_text("utf-8"), dmn.name: dmn.read_text("utf-8")}, user="demo"
    ):
        log.append(f"{'deployed' if result.changed else 'unchanged'} {result.key} version {result.version}")

    with orch.uow() as uow:
        s = uow.session
        for code, name, level, zone, province in REGIONS:
            if s.get(Region, code) is None:
                s.add(
                    Region(
                        code=code, name=name, level=level, timezone=TIMEZONES[zone], province_code=province
                    )
                )
                log.append(f"region {code} {name} ({zone})")
        s.flush()
        for username, name, group, region, password in USERS:
            if s.scalar(select(User.id).where(User.username == username)) is None:
                create_user(
                    s,
                    username,
                    name,
                    [group],
                    password,
                    region,
                    orch.registry.access,
                    f"{username}@contoh.go.id",
                )
                log.append(f"user {username}")
        uow.commit()

    usernames = {(group, region): username for username, _n, group, region, _p in USERS}
    if with_cases:
        for case in CASES:
            title = case.start["judul_kerja_sama"]
            with orch.session() as s:
                exists = s.scalar(select(Instance.id).where(Instance.title == title))
            if exists is not None:
                log.append(f"case {case.key} exists (#{exists})")
                continue
            pemda = _actor_for(orch.registry.access, "pemda", case.region, usernames)
            instance_id = orch.start(PROCESS_KEY, case.region, case.start, actor=pemda)
            where = drive(orch, instance_id, case, usernames)
            log.append(f"case {case.key} #{instance_id}: {title} -> {where}")
    return {
        "log": log,
        "users": [
            {"username": u, "password": p, "groups": g, "region": r, "name": n} for u, n, g, r, p in USERS
        ],
    }
