"""Settings of the engine from the environment, and the handler registry they name.

`KSDPL_DATABASE_URL` (default: `ksdpl.db` in the working directory), `KSDPL_TIMEZONE` (default
`Asia/Jakarta`), `KSDPL_HANDLERS` (the module whose `registry` holds the handlers, default
`handlers`: the engine imports it by name so it never depends on one process's code),
`KSDPL_WARM_CASES` (how many saved workflows a process keeps for its next step on the same case,
default 32, 0 for none: `engine.warm`).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import HandlerRegistry

WARM_CASES = 32  # a workflow at stage 11 holds about 60 KB (tracemalloc)


@dataclass(frozen=True)
class Settings:
    database_url: str
    timezone: str
    handlers: str
    warm_cases: int = WARM_CASES

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("KSDPL_DATABASE_URL") or f"sqlite:///{os.path.abspath('ksdpl.db')}",
            timezone=os.environ.get("KSDPL_TIMEZONE", "Asia/Jakarta"),
            handlers=os.environ.get("KSDPL_HANDLERS", "handlers"),
            warm_cases=_count("KSDPL_WARM_CASES", WARM_CASES),
        )

    def registry(self) -> HandlerRegistry:
        return importlib.import_module(self.handlers).registry


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number, 0 or more, not {raw!r}")
    return int(raw)
