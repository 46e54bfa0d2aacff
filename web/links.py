"""Links to the rows of a list page, each built by filling one id into a URL built once.

`url_for` walks the URL map, the URL defaults and the request context on every call: the inbox's
rows called it three times each, 64 calls a page and 8 % of the page's time (cProfile, stop 21).
Every list page (inbox, case lists, console queues, notifications) asks `links(endpoint, name)`
once per kind of row link and calls the result per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import url_for

_MARK = 7919  # a value every converter writes as these digits (int, string, path)
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")  # written as they are by every converter: ids


def links(endpoint: str, name: str) -> Callable[[int | str], str]:
    """`url_for(endpoint, **{name: value})` for many values. A value of letters, digits and
    `_.~-` (an id) goes into the URL as it is; any other, or every value where the URL holds the
    marker's digits elsewhere, goes through `url_for` and its escaping."""
    built = url_for(endpoint, **{name: _MARK})
    head, mark, tail = built.partition(str(_MARK))
    if not mark or str(_MARK) in tail:
        return lambda value: url_for(endpoint, **{name: value})

    def link(value: int | str) -> str:
        text = str(value)
        return f"{head}{text}{tail}" if _PLAIN.fullmatch(text) else url_for(endpoint, **{name: value})

    return link
