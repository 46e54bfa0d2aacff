"""Letters the system drafts from a case: the LoI, the cooperation plan, the draft Naskah, the
follow-up letter after deemed DPRD approval, the annual activity plan and the annual report.

Each is offered on the tasks whose form asks for the document it drafts (its `field`), and
filled from the case's variables plus what that form holds now. The templates (.docx, docxtpl
tags such as `{{ judul_kerja_sama }}`) are in `templates/letters/` beside this module; an operator
replaces one by putting a file of the same name in the folder `KSDPL_LETTER_TEMPLATES` names
(`ksdpl letter-templates DIR` writes the defaults there to start from). The values each
template may use are the keys the functions below return; a value not known yet is a dotted
blank, as in a paper draft.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from babel import Locale

from engine.registry import HandlerContext

from .checks import tanggal
from .registry import registry

BLANK = "……………"
KIND = {
    "ksdpl": "Kerja Sama Daerah dengan Pemerintah Daerah di Luar Negeri",
    "ksdll": "Kerja Sama Daerah dengan Lembaga di Luar Negeri",
}
HEAD_OF_REGION = {"provinsi": "Gubernur", "kabupaten": "Bupati", "kota": "Wali Kota"}
REGION_WORDS = {"provinsi": "Provinsi", "kabupaten": "Kabupaten", "kota": "Kota"}


@cache
def _countries() -> dict[str, str]:
    return dict(Locale("id").territories)


def text(value: Any) -> Any:
    """A value as the letter prints it: dates in words, long text with its line breaks, blanks dotted."""
    if value is None or value == "":
        return BLANK
    if isinstance(value, date):
        return tanggal(value)
    if isinstance(value, str) and "\n" in value:
        from docxtpl import Listing  # loaded with the first letter, not with every handler

        return Listing(value.replace("\r\n", "\n"))
    return value


def country(code: str | None) -> str:
    """'JP' -> 'Jepang' (ISO 3166 names in Indonesian, from the CLDR)."""
    return _countries().get((code or "").upper(), code or BLANK)


def common(ctx: HandlerContext) -> dict[str, Any]:
    """What every letter names: the region, its head, the partner, the date and the blanks."""
    v = ctx.variables
    level = ctx.region.level if ctx.region else ""
    region_name = ctx.region.name if ctx.region else BLANK
    place = region_name.removeprefix(REGION_WORDS.get(level, "")).strip() or region_name
    head = f"{HEAD_OF_REGION.get(level, 'Kepala Daerah')} {place}"
    partner = v.get("lembaga_mitra") if v.get("jenis_kerja_sama") == "ksdll" else v.get("nama_mitra")
    return {
        "daerah": region_name,
        "pemerintah_daerah": f"Pemerintah {region_name}",
        "PEMERINTAH_DAERAH": f"PEMERINTAH {region_name.upper()}",
        "kepala_daerah": head,
        "KEPALA_DAERAH": head.upper(),
        "tempat_surat": place,
        "tanggal_surat": tanggal(ctx.today),
        "tahun": ctx.today.year,
        "nomor_surat": "……/……/……/" + str(ctx.today.year),
        "nama_penandatangan": "(………………………………)",
        "judul_kerja_sama": text(v.get("judul_kerja_sama")),
        "jenis_kerja_sama": KIND.get(v.get("jenis_kerja_sama") or "", BLANK),
        "mitra": text(partner),
        "MITRA": str(text(partner)).upper(),
        "negara_mitra": country(v.get("negara_mitra")),
        "NEGARA_MITRA": country(v.get("negara_mitra")).upper(),
        "nomor_kasus": ctx.instance_id,
    }


def values(ctx: HandlerContext, *names: str) -> dict[str, Any]:
    return {name: text(ctx.variables.get(name)) for name in names}


@registry.letter("rancangan-loi", "Rancangan Letter of Intent", "dokumen_rancangan_loi", "rancangan-loi.docx")
def rancangan_loi(ctx: HandlerContext) -> dict[str, Any]:
    v = ctx.variables
    return {
        **common(ctx),
        **values(ctx, "judul_loi", "subjek_loi", "maksud_tujuan_loi", "ruang_lingkup_loi"),
        "JUDUL_LOI": str(text(v.get("judul_loi") or v.get("judul_kerja_sama"))).upper(),
        "tempat_penandatanganan_loi": text(v.get("tempat_penandatanganan_loi")),
        "tanggal_penandatanganan_loi": text(v.get("tanggal_penandatanganan_loi")),
    }


@registry.letter(
    "rencana-kerja-sama", "Rencana Kerja Sama", "dokumen_rencana_kerja_sama", "rencana-kerja-sama.docx"
)
def rencana_kerja_sama(ctx: HandlerContext) -> dict[str, Any]:
    return {
        **common(ctx),
        **values(
            ctx,
            "subjek_rencana",
            "latar_belakang_rencana",
            "maksud_tujuan_sasaran_rencana",
            "objek_rencana",
            "ruang_lingkup_rencana",
            "sumber_pembiayaan_rencana",
            "jangka_waktu_pelaksanaan_rencana",
            "judul_loi",
            "tanggal_penandatanganan_loi",
            "masa_berlaku_loi_sampai",
        ),
    }


@registry.letter(
    "rancangan-naskah", "Rancangan Naskah Kerja Sama", "dokumen_rancangan_naskah", "rancangan-naskah.docx"
)
def rancangan_naskah(ctx: HandlerContext) -> dict[str, Any]:
    v = ctx.variables
    return {
        **common(ctx),
        **values(
            ctx,
            "judul_naskah",
            "subjek_naskah",
            "maksud_tujuan_naskah",
            "ruang_lingkup_naskah",
            "pelaksanaan_naskah",
            "pembiayaan_naskah",
            "kelompok_kerja_bersama_naskah",
            "penyelesaian_perselisihan_naskah",
            "amandemen_naskah",
            "masa_berlaku_naskah_mulai",
            "masa_berlaku_naskah_sampai",
            "perpanjangan_pengakhiran_naskah",
            "rencana_tanggal_penandatanganan_naskah",
            "rencana_tempat_penandatanganan_naskah",
        ),
        "JUDUL_NASKAH": str(text(v.get("judul_naskah") or v.get("judul_kerja_sama"))).upper(),
    }


@registry.letter(
    "surat-tindak-lanjut-mendagri",
    "Surat Permohonan Tindak Lanjut kepada Menteri Dalam Negeri",
    "dokumen_surat_tindak_lanjut_mendagri",
    "surat-tindak-lanjut-mendagri.docx",
    fills_field=False,  # the field takes the signed letter
)
def surat_tindak_lanjut(ctx: HandlerContext) -> dict[str, Any]:
    v = ctx.variables
    due = v.get("batas_dprd")
    if v.get("tanggal_diterima_dprd") and v.get("batas_dprd_hari_kerja"):
        due = ctx.calendar.add_working_days(v["tanggal_diterima_dprd"], int(v["batas_dprd_hari_kerja"]))
    return {
        **common(ctx),
        **values(
            ctx,
            "nomor_surat_pengajuan_dprd",
            "tanggal_surat_pengajuan_dprd",
            "tanggal_diterima_dprd",
            "batas_dprd_hari_kerja",
            "tanggal_dianggap_disetujui",
            "judul_loi",
            "tanggal_penandatanganan_loi",
        ),
        "batas_dprd": text(due),
    }


@registry.letter(
    "rencana-kegiatan-tahunan",
    "Rencana Kegiatan Tahunan",
    "dokumen_rencana_kegiatan_tahunan",
    "rencana-kegiatan-tahunan.docx",
)
def rencana_kegiatan_tahunan(ctx: HandlerContext) -> dict[str, Any]:
    return {
        **common(ctx),
        **values(
            ctx,
            "tahun_pelaksanaan_ke",
            "periode_mulai_tahunan",
            "periode_sampai_tahunan",
            "batas_rencana_tahunan",
            "uraian_kegiatan_tahunan",
            "peran_para_pihak",
            "hasil_yang_diharapkan",
            "rencana_pembiayaan_tahunan",
            "judul_naskah",
            "tanggal_penandatanganan_naskah",
        ),
    }


@registry.letter("laporan-tahunan", "Laporan Tahunan", "dokumen_laporan_tahunan", "laporan-tahunan.docx")
def laporan_tahunan(ctx: HandlerContext) -> dict[str, Any]:
    return {
        **common(ctx),
        **values(
            ctx,
            "tahun_pelaksanaan_ke",
            "periode_mulai_tahunan",
            "periode_sampai_tahunan",
            "batas_laporan_tahunan",
            "hasil_pelaksanaan_tahunan",
            "nomor_surat_laporan_tahunan",
            "tanggal_surat_laporan_tahunan",
            "uraian_kegiatan_tahunan",
            "judul_naskah",
            "tanggal_penandatanganan_naskah",
        ),
    }
