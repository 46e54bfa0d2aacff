"""What may be stored as a case document: the file kinds, and that the bytes match the kind.

The stored type comes from the extension and the first bytes must look like that kind of file,
so a renamed HTML page is not served back as a PDF. The web upload and the import both check
documents here.
"""

from __future__ import annotations

import os
import re

from .text import single_line

ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
ACCEPT = ",".join(f".{ext}" for ext in ALLOWED)
KINDS_LABEL = "PDF, DOC, DOCX, ODT, JPG, PNG"


class DocumentRefused(ValueError):
    """The file cannot be stored; the message is shown next to the field."""


def clean_filename(name: str) -> str:
    """The file's own name without any path, control or bidi characters, at most 200 characters."""
    name = single_line(name.replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\"<>|:*?]", "", name).strip(" .")
    stem, ext = os.path.splitext(name)
    return (stem[: 200 - len(ext)] + ext) or "berkas"


def extension_type(filename: str) -> str:
    """The content type an allowed extension stands for; `DocumentRefused` for any other."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise DocumentRefused(f"Jenis berkas tidak diizinkan (hanya {KINDS_LABEL})")
    return ALLOWED[ext][0]


def document_type(filename: str, content: bytes) -> str:
    """The content type to store for a file, after checking its kind and its first bytes."""
    content_type = extension_type(filename)
    if not content:
        raise DocumentRefused("Berkas kosong")
    ext = filename.rsplit(".", 1)[-1].lower()
    if not content.startswith(ALLOWED[ext][1]):
        raise DocumentRefused(f"Isi berkas tidak sesuai dengan jenis .{ext}")
    return content_type
