"""The KSDPL handler registry: every module of this package registers its handlers here."""

from pathlib import Path

from engine.registry import HandlerRegistry

registry = HandlerRegistry(
    "ksdpl",
    letter_templates=Path(__file__).resolve().parent / "templates" / "letters",
    title="KSDPL",
    mail_footer="Pesan otomatis dari sistem KSDPL (Permendagri No. 25 Tahun 2020); mohon tidak dibalas.",
)
