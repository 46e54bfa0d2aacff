"""Stages 6-10: submission, verification, the Naskah, the inter-ministerial meeting, signing."""

from __future__ import annotations

from engine.registry import HandlerContext

from .checks import Errors, tanggal
from .registry import registry


def _end_after_start(v, errors: Errors) -> None:
    errors.not_before(
        v,
        "masa_berlaku_naskah_sampai",
        "masa_berlaku_naskah_mulai",
        "tanggal mulai berlaku",
        strictly_after=True,
    )


@registry.service("ksdpl.notifikasi-rencana-masuk", label="Beri tahu Kemendagri: rencana masuk")
def notifikasi_rencana_masuk(ctx: HandlerContext):
    deemed = " (dianggap disetujui DPRD)" if ctx.variables.get("dprd_dianggap_menyetujui") else ""
    ctx.notify(
        "kemendagri",
        "Rencana kerja sama menunggu verifikasi",
        f"{ctx.variables.get('judul_kerja_sama', '')}{deemed}",
    )
    return {}


@registry.service("ksdpl.notifikasi-pertimbangan", label="Beri tahu Daerah: pertimbangan")
def notifikasi_pertimbangan(ctx: HandlerContext):
    v = ctx.variables
    follow_up = (
        "memperbaiki rencana kerja sama" if v.get("hasil_verifikasi") == "revisi" else "menyusun naskah"
    )
    letter = v.get("tanggal_surat_pertimbangan")
    body = f"Surat {v.get('nomor_surat_pertimbangan', '')}" + (
        f" tanggal {tanggal(letter)}" if letter else ""
    )
    for group in ("kepala_daerah", "pemda"):
        ctx.notify(group, f"Pertimbangan Kemendagri: {follow_up}", body)
    return {}


@registry.service("ksdpl.notifikasi-naskah-masuk", label="Beri tahu Kemendagri: naskah masuk")
def notifikasi_naskah_masuk(ctx: HandlerContext):
    ctx.notify("kemendagri", "Rancangan naskah menunggu pembahasan", ctx.variables.get("judul_naskah", ""))
    return {}


@registry.user_task("naskah", label="Rancangan naskah", description="Akhir masa berlaku setelah awalnya.")
def naskah(ctx: HandlerContext):
    errors = Errors()
    _end_after_start(ctx.variables, errors)
    errors.raise_if_any()
    return {}


@registry.user_task(
    "rapat-pembahasan",
    label="Rapat pembahasan",
    description="Keempat unsur peserta; unsur kabupaten/kota hanya untuk Daerah kabupaten/kota.",
)
def rapat_pembahasan(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    errors.not_after_today(v, "tanggal_rapat_pembahasan", ctx.today, "Tanggal rapat")
    regency = ctx.region is not None and ctx.region.level in {"kabupaten", "kota"}
    if regency and not (v.get("peserta_pemda_kabupaten_kota") or "").strip():
        errors.add("peserta_pemda_kabupaten_kota", "Wajib diisi: Daerah ini adalah kabupaten/kota")
    errors.raise_if_any()
    return {}


@registry.user_task(
    "penandatanganan-naskah",
    label="Penandatanganan naskah",
    description="Ditandatangani setelah surat persetujuan Mendagri; masa berlaku berurutan.",
)
def penandatanganan_naskah(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    _end_after_start(v, errors)
    errors.not_after_today(v, "tanggal_penandatanganan_naskah", ctx.today, "Tanggal penandatanganan")
    errors.not_before(
        v,
        "tanggal_penandatanganan_naskah",
        "tanggal_surat_persetujuan_mendagri",
        "surat persetujuan Mendagri",
    )
    errors.raise_if_any()
    return {"tahun_pelaksanaan_ke": 0}
