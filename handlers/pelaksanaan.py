"""Stages 11-12: the yearly activity plan and report, on calendar dates, with overdue reports."""

from __future__ import annotations

from datetime import timedelta

from engine.registry import HandlerContext
from engine.scripting import add_years

from .checks import Errors, tanggal
from .registry import registry

PLAN_DAYS = timedelta(
    days=30
)  # the plan is due 30 days into the year; the report window opens 30 days before


@registry.service(
    "ksdpl.jadwal-laporan-tahunan",
    label="Jadwal rencana dan laporan tahunan",
    description="Tahun pelaksanaan ke-k dihitung dari tanggal mulai berlaku dengan add_years "
    "(tanpa pergeseran 365 hari).",
    outputs=(
        "tahun_pelaksanaan_ke",
        "periode_mulai_tahunan",
        "periode_sampai_tahunan",
        "batas_rencana_tahunan",
        "mulai_laporan_tahunan",
        "batas_laporan_tahunan",
        "ada_tahun_berikutnya",
        "laporan_terlambat",
    ),
)
def jadwal_laporan_tahunan(ctx: HandlerContext):
    v = ctx.variables
    start, end = v["masa_berlaku_naskah_mulai"], v["masa_berlaku_naskah_sampai"]
    year = int(v.get("tahun_pelaksanaan_ke") or 0) + 1
    period_start = add_years(start, year - 1)
    period_end = min(add_years(start, year) - timedelta(days=1), end)
    plan_due = min(period_start + PLAN_DAYS, period_end)
    ctx.notify("pemda", f"Rencana kegiatan tahunan ke-{year}", f"Paling lambat {tanggal(plan_due)}.")
    return {
        "tahun_pelaksanaan_ke": year,
        "periode_mulai_tahunan": period_start,
        "periode_sampai_tahunan": period_end,
        "batas_rencana_tahunan": plan_due,
        "mulai_laporan_tahunan": max(period_end - PLAN_DAYS, period_start),
        "batas_laporan_tahunan": period_end,
        "ada_tahun_berikutnya": add_years(start, year) <= end,
        "laporan_terlambat": False,
    }


@registry.user_task(
    "laporan-tahunan",
    label="Laporan tahunan",
    description="Mencatat ketepatan waktu dan riwayat laporan tahunan.",
)
def laporan_tahunan(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    errors.not_after_today(v, "tanggal_surat_laporan_tahunan", ctx.today, "Tanggal surat")
    errors.raise_if_any()
    on_time = ctx.today <= v["batas_laporan_tahunan"]
    history = list(v.get("riwayat_laporan_tahunan") or [])
    history.append(
        {
            "tahun_ke": v.get("tahun_pelaksanaan_ke"),
            "periode_mulai": v.get("periode_mulai_tahunan"),
            "periode_sampai": v.get("periode_sampai_tahunan"),
            "tanggal_disampaikan": ctx.today,
            "tepat_waktu": on_time,
        }
    )
    return {
        "laporan_terlambat": False,
        "laporan_tahunan_tepat_waktu": on_time,
        "riwayat_laporan_tahunan": history,
    }


@registry.service(
    "ksdpl.laporan-terlambat",
    label="Laporan tahunan terlambat",
    description="Menandai laporan tahunan yang melewati batas dan memberi tahu Pemda dan Kemendagri.",
)
def laporan_terlambat(ctx: HandlerContext):
    year = ctx.variables.get("tahun_pelaksanaan_ke")
    due = ctx.variables.get("batas_laporan_tahunan")
    body = f"Laporan tahunan ke-{year} belum disampaikan; batasnya {tanggal(due) if due else '-'}."
    for group in ("pemda", "kemendagri"):
        ctx.notify(group, "Laporan tahunan terlambat", body)
    return {"laporan_terlambat": True, "laporan_terlambat_tahun_ke": year}
