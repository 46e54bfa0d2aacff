"""Stage 5: DPRD approval within N working days, or deemed approval when it stays silent."""

from __future__ import annotations

from typing import Any

from engine.registry import HandlerContext
from engine.scripting import as_date

from .checks import Errors, tanggal
from .registry import registry


@registry.user_task(
    "pengajuan-dprd",
    label="Pengajuan ke DPRD",
    description="Tanggal diterima DPRD tidak sebelum tanggal surat dan tidak setelah hari ini; "
    "mengosongkan keputusan putaran sebelumnya.",
)
def pengajuan_dprd(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    errors.not_after_today(v, "tanggal_diterima_dprd", ctx.today, "Tanggal diterima")
    errors.not_before(v, "tanggal_diterima_dprd", "tanggal_surat_pengajuan_dprd", "tanggal surat pengajuan")
    errors.raise_if_any()
    return {
        "keputusan_dprd": None,
        "nomor_surat_keputusan_dprd": None,
        "tanggal_surat_keputusan_dprd": None,
        "dokumen_keputusan_dprd": None,
        "alasan_penolakan_dprd": None,
        "dprd_dianggap_menyetujui": False,
    }


def _batas(ctx: HandlerContext) -> dict[str, Any]:
    """The DPRD's deadline on the region's working-day calendar as it stands, and whether a year
    in the window still lacks its cuti bersama decree."""
    try:
        days = int(ctx.properties["hari_kerja"])
    except (KeyError, ValueError) as err:
        raise ValueError("properti 'hari_kerja' (bilangan bulat) belum diisi pada tugas ini") from err
    received = ctx.variables["tanggal_diterima_dprd"]
    due = ctx.calendar.add_working_days(received, days)
    return {"batas_dprd": due, "batas_dprd_sementara": ctx.calendar.is_provisional(received, due)}


def batas_dprd_berubah(ctx: HandlerContext) -> dict[str, Any]:
    """A calendar decree while the DPRD decides: the deadline again, and the DPRD told if it moved."""
    values = _batas(ctx)
    before = ctx.variables.get("batas_dprd")
    if before is not None and as_date(before) != values["batas_dprd"]:
        ctx.notify(
            "dprd",
            "Batas waktu persetujuan DPRD berubah",
            f"Hari kerja diubah oleh ketetapan kalender: keputusan paling lambat "
            f"{tanggal(values['batas_dprd'])} (sebelumnya {tanggal(as_date(before))}).",
        )
    return values


@registry.service(
    "ksdpl.hitung-batas-dprd",
    label="Hitung batas waktu DPRD",
    description="batas_dprd = hari kerja ke-N setelah tanggal diterima DPRD; N adalah properti "
    "'hari_kerja' pada tugas ini (Permendagri 25/2020: 45). Dihitung ulang bila kalender kerja diubah.",
    properties={"hari_kerja": "Jumlah hari kerja DPRD untuk memutus (Permendagri 25/2020: 45)"},
    calendar_derived={"batas_dprd": "Batas keputusan DPRD", "batas_dprd_sementara": ""},
    recompute=batas_dprd_berubah,
)
def hitung_batas_dprd(ctx: HandlerContext):
    values = _batas(ctx)
    received, due, days = (
        ctx.variables["tanggal_diterima_dprd"],
        values["batas_dprd"],
        int(ctx.properties["hari_kerja"]),
    )
    ctx.notify(
        "dprd",
        "Rencana kerja sama menunggu persetujuan DPRD",
        f"Diterima {tanggal(received)}; keputusan paling lambat {tanggal(due)} ({days} hari kerja). "
        "Tanpa keputusan sampai batas itu, rencana dianggap disetujui.",
    )
    return {**values, "batas_dprd_hari_kerja": days}


@registry.user_task(
    "keputusan-dprd",
    label="Keputusan DPRD",
    description="Tanggal surat keputusan antara tanggal diterima dan hari ini; alasan wajib bila menolak.",
)
def keputusan_dprd(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    errors.not_after_today(v, "tanggal_surat_keputusan_dprd", ctx.today, "Tanggal surat")
    errors.not_before(v, "tanggal_surat_keputusan_dprd", "tanggal_diterima_dprd", "rencana diterima")
    if v.get("keputusan_dprd") == "tolak" and not (v.get("alasan_penolakan_dprd") or "").strip():
        errors.add("alasan_penolakan_dprd", "Wajib diisi bila DPRD menolak")
    errors.raise_if_any()
    return {"dprd_dianggap_menyetujui": False}


@registry.service(
    "ksdpl.dianggap-disetujui",
    label="Dianggap disetujui DPRD",
    description="DPRD tidak memutus sampai batas waktu: rencana dianggap disetujui.",
)
def dianggap_disetujui(ctx: HandlerContext):
    v = ctx.variables
    due = v.get("batas_dprd")
    if v.get("tanggal_diterima_dprd") and v.get("batas_dprd_hari_kerja"):
        # on today's calendar, as the timer was: a decree entered since may have moved the day
        due = ctx.calendar.add_working_days(v["tanggal_diterima_dprd"], int(v["batas_dprd_hari_kerja"]))
    body = (
        f"DPRD tidak memberi keputusan sampai {tanggal(due) if due else 'batas waktu'}; rencana kerja sama "
        "dianggap disetujui. Kepala Daerah menyampaikan surat tindak lanjut kepada Menteri Dalam Negeri."
    )
    for group in ("kepala_daerah", "pemda", "dprd"):
        ctx.notify(group, "Rencana kerja sama dianggap disetujui DPRD", body)
    return {
        "dprd_dianggap_menyetujui": True,
        "keputusan_dprd": "dianggap_setuju",
        "tanggal_dianggap_disetujui": ctx.today,
    }
