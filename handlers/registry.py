"""The KSDPL handler registry: every module of this package registers its handlers here."""

from pathlib import Path

from engine.registry import HandlerRegistry

registry = HandlerRegistry(
    "ksdpl",
    letter_templates=Path(__file__).resolve().parent / "templates" / "letters",
    title="KSDPL",
    mail_footer="Pesan otomatis dari sistem KSDPL (Permendagri No. 25 Tahun 2020); mohon tidak dibalas.",
)
# The staff case list searches and filters on these, copied to columns of the case.
registry.list_columns = {"partner": "nama_mitra", "country": "negara_mitra", "kind": "jenis_kerja_sama"}
