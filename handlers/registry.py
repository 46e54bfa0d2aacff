"""The KSDPL handler registry: every module of this package registers its handlers here."""

from engine.registry import HandlerRegistry

registry = HandlerRegistry("ksdpl")
