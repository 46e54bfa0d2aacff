"""Stage 3: the Letter of Intent, valid for one year from signing, and its lapse warning."""

from __future__ import annotations

from datetime import date

from engine.registry import HandlerContext
from engine.scripting import add_years

from .checks import Errors, tanggal
from .registry import registry


@registry.user_task(
    "loi",
    label="LoI ditandatangani",
    description="Masa berlaku LoI tepat satu tahun sejak penandatanganan, setelah koordinasi "
    "dengan Mendagri dan Menlu.",
)
def loi(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    signed: date | None = v.get("tanggal_penandatanganan_loi")
    errors.not_after_today(v, "tanggal_penandatanganan_loi", ctx.today, "Tanggal penandatanganan")
    if signed is not None:
        if v.get("masa_berlaku_loi_mulai") != signed:
            errors.add(
                "masa_berlaku_loi_mulai",
                f"Masa berlaku dimulai pada tanggal penandatanganan ({tanggal(signed)})",
            )
        one_year = add_years(signed, 1)
        if v.get("masa_berlaku_loi_sampai") != one_year:
            errors.add(
                "masa_berlaku_loi_sampai",
                f"Masa berlaku LoI satu tahun sejak penandatanganan: sampai {tanggal(one_year)}",
            )
        for field, minister in (
            ("tanggal_koordinasi_mendagri", "Mendagri"),
            ("tanggal_koordinasi_menlu", "Menlu"),
        ):
            coordinated = v.get(field)
            if isinstance(coordinated, date) and signed < coordinated:
                errors.add(
                    "tanggal_penandatanganan_loi",
                    f"Penandatanganan harus setelah koordinasi dengan {minister} ({tanggal(coordinated)})",
                )
    errors.raise_if_any()
    return {}


@registry.service(
    "ksdpl.peringatan-loi",
    label="Peringatan masa berlaku LoI",
    description="Memberi tahu Pemda dan Kepala Daerah 30 hari sebelum LoI berakhir.",
)
def peringatan_loi(ctx: HandlerContext):
    until = ctx.variables["masa_berlaku_loi_sampai"]
    body = f"LoI '{ctx.variables.get('judul_loi', '')}' berakhir pada {tanggal(until)}."
    for group in ("pemda", "kepala_daerah"):
        ctx.notify(group, "Masa berlaku LoI segera berakhir", body)
    return {"loi_segera_berakhir": True}


@registry.service(
    "ksdpl.loi-kedaluwarsa",
    label="LoI kedaluwarsa",
    description="Menandai LoI yang berakhir sebelum naskah kerja sama ditandatangani.",
)
def loi_kedaluwarsa(ctx: HandlerContext):
    until = ctx.variables["masa_berlaku_loi_sampai"]
    body = f"LoI berakhir pada {tanggal(until)} sebelum naskah kerja sama ditandatangani."
    for group in ("pemda", "kepala_daerah", "kemendagri"):
        ctx.notify(group, "LoI kedaluwarsa", body)
    return {"loi_kedaluwarsa": True, "tanggal_loi_kedaluwarsa": ctx.today}
