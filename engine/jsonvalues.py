"""JSON for values that are not JSON types (dates, decimals, UUIDs, sets): case variables, the
CLI's output. A module of its own so the CLI can print without importing the workflow engine."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def json_default(value: Any) -> Any:
    """JSON for case variables shown on screens and in the CLI."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def dumps(value: Any) -> str:
    return json.dumps(value, default=json_default, ensure_ascii=False)
