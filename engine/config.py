"""Settings from the environment; nothing else reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    timezone: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("KSDPL_DATABASE_URL") or f"sqlite:///{os.path.abspath('ksdpl.db')}",
            timezone=os.environ.get("KSDPL_TIMEZONE", "Asia/Jakarta"),
        )
