"""The KSDPL handlers: one function per service topic and per user-task handler named in
`processes/ksdpl.bpmn`. Importing this package registers them all in `registry`."""

from . import dprd, kelayakan, letters, loi, naskah, pelaksanaan  # noqa: F401  (each registers its handlers)
from .registry import registry

__all__ = ["registry"]
