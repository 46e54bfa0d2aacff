"""Text people typed, made safe to store and show: no bidi overrides, no invisible or control
characters. One function per shape, used wherever a name, title or comment is stored.

U+202E (RIGHT-TO-LEFT OVERRIDE) in a file name flips how its row reads ("laporan‮fdp.exe"
shows as "laporanexe.pdf"); zero-width and other format characters make two names look alike.
Unicode categories Cc (controls), Cf (format: bidi embeddings, overrides, isolates, marks,
zero-width characters), Cs/Co (surrogates, private use) and Zl/Zp (line and paragraph separators)
are removed; a single line also turns tabs and line breaks into spaces.
"""

from __future__ import annotations

import unicodedata

_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _clean(text: str, keep: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in _DROPPED)


def single_line(text: str | None) -> str:
    """A name or title: one line, no control or format characters, outer spaces trimmed."""
    if not text:
        return ""
    text = "".join(" " if ch in "\t\r\n\v\f\x85\u2028\u2029" else ch for ch in text)
    return _clean(text, "").strip()


def multi_line(text: str | None) -> str:
    """A comment or remark: line breaks and tabs kept, every other control or format character gone."""
    if not text:
        return ""
    return _clean(text.replace("\r\n", "\n").replace("\r", "\n"), "\n\t").strip()
