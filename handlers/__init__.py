"""The KSDPL handlers: one function per service topic and per user-task handler named in
`processes/ksdpl.bpmn`, and who is who (`access`). Importing this package registers them all in
`registry`."""

from . import access, dprd, kelayakan, letters, loi, naskah, pelaksanaan  # noqa: F401  (each registers itself)
from .registry import registry

__all__ = ["registry"]
