"""Row ids as they arrive from outside (URLs, form fields, the CLI): numbers in the columns' range.

The integer primary keys are 32-bit on PostgreSQL; a bigger number cannot name a row, and passing
it on makes the driver fail (SQLite: OverflowError past 64 bits, PostgreSQL: out of range), which
would be a 500 instead of "not found".
"""

from __future__ import annotations

import re
from typing import Any

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(value: Any) -> int | None:
    """The id `value` names, or None when it cannot name a row (not a number, 0, out of range)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_ID else None
