"""Settings of the engine from the environment, and the handler registry they name.

`KSDPL_DATABASE_URL` (default: `ksdpl.db` in the working directory), `KSDPL_TIMEZONE` (default
`Asia/Jakarta`), `KSDPL_HANDLERS` (the module whose `registry` holds the handlers, default
`handlers`: the engine imports it by name so it never depends on one process's code).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import HandlerRegistry


@dataclass(frozen=True)
class Settings:
    database_url: str
    timezone: str
    handlers: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("KSDPL_DATABASE_URL") or f"sqlite:///{os.path.abspath('ksdpl.db')}",
            timezone=os.environ.get("KSDPL_TIMEZONE", "Asia/Jakarta"),
            handlers=os.environ.get("KSDPL_HANDLERS", "handlers"),
        )

    def registry(self) -> HandlerRegistry:
        return importlib.import_module(self.handlers).registry
