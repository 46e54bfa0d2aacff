"""Stages 1-2: exploration, and the seven prerequisites checked before the LoI."""

from __future__ import annotations

import re

from engine.registry import HandlerContext

from .checks import Errors
from .registry import registry

# States Indonesia keeps no diplomatic relations with (ISO 3166 alpha-2); operators edit the list
# with `ksdpl lookup add/remove negara_tanpa_hubungan_diplomatik ...` when that changes.
NO_RELATIONS = registry.lookup_list(
    "negara_tanpa_hubungan_diplomatik",
    {
        "IL": "Israel",
        "TW": "Taiwan (tidak diakui sebagai negara; hubungan tidak resmi)",
        "XK": "Kosovo (tidak diakui)",
    },
)
MECHANISMS = (
    "mekanisme_komunikasi_media",
    "mekanisme_penggalian_informasi",
    "mekanisme_kunjungan_langsung",
    "mekanisme_undangan_kunjungan",
)
PARTNER_LEVEL = {
    "provinsi": "provinsi_negara_bagian",
    "kabupaten": "kota_kabupaten",
    "kota": "kota_kabupaten",
}


@registry.user_task(
    "penjajakan",
    label="Penjajakan",
    description="Memastikan paling sedikit satu mekanisme penjajakan dicatat.",
)
def penjajakan(ctx: HandlerContext):
    if not any(ctx.variables.get(name) for name in MECHANISMS):
        errors = Errors()
        errors.add(MECHANISMS[0], "Pilih paling sedikit satu mekanisme penjajakan")
        errors.raise_if_any()
    return {}


@registry.user_task(
    "persyaratan",
    label="Periksa persyaratan",
    description="Kode negara, jenis mitra, dan kesetaraan tingkat mitra dengan tingkat Daerah.",
)
def persyaratan(ctx: HandlerContext):
    v = ctx.variables
    errors = Errors()
    country = (v.get("negara_mitra") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        errors.add("negara_mitra", "Gunakan kode negara dua huruf (ISO 3166), misalnya JP atau KR")
    kind, level = v.get("jenis_kerja_sama"), v.get("tingkat_mitra")
    if kind == "ksdll":
        if not v.get("lembaga_mitra"):
            errors.add("lembaga_mitra", "Wajib diisi untuk kerja sama dengan lembaga di luar negeri (KSDLL)")
        if level != "lembaga":
            errors.add("tingkat_mitra", "Mitra KSDLL adalah lembaga")
    elif level == "lembaga":
        errors.add("tingkat_mitra", "Mitra KSDPL adalah pemerintah daerah di luar negeri, bukan lembaga")
    elif v.get("kesetaraan_status") and ctx.region and PARTNER_LEVEL.get(ctx.region.level) != level:
        errors.add(
            "kesetaraan_status",
            f"Tingkat mitra tidak setara dengan tingkat Daerah ({ctx.region.level}); "
            "kosongkan centang ini bila memang tidak setara",
        )
    errors.raise_if_any()
    return {"negara_mitra": country}


@registry.service(
    "ksdpl.cek-hubungan-diplomatik",
    label="Cek hubungan diplomatik",
    description="Membandingkan negara mitra dengan daftar negara tanpa hubungan diplomatik "
    f"(daftar '{NO_RELATIONS}' yang dikelola operator).",
)
def cek_hubungan_diplomatik(ctx: HandlerContext):
    country = (ctx.variables.get("negara_mitra") or "").upper()
    return {"hubungan_diplomatik": country not in ctx.lookups(NO_RELATIONS)}


@registry.service(
    "ksdpl.ringkas-kelayakan",
    label="Ringkas hasil kelayakan",
    description="Menyimpulkan keluaran tabel keputusan kelayakan (COLLECT) menjadi layak ya/tidak "
    "beserta alasan yang tidak terpenuhi.",
)
def ringkas_kelayakan(ctx: HandlerContext):
    results = list(ctx.variables.get("layak") or [])
    reasons = list(ctx.variables.get("alasan") or [])
    failing = [reason for ok, reason in zip(results, reasons, strict=False) if not ok]
    eligible = bool(results) and all(results)
    if not eligible:
        ctx.notify("pemda", "Persyaratan kerja sama belum terpenuhi", "\n".join(failing))
    return {"layak": eligible, "alasan_tidak_layak": failing}
