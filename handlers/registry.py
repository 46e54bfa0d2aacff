"""The KSDPL handler registry: every module of this package registers its handlers here."""

from pathlib import Path

from engine.registry import HandlerRegistry

registry = HandlerRegistry(letter_templates=Path(__file__).resolve().parent / "templates" / "letters")
