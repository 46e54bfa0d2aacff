"""Checks on an uploaded file before it is stored: size, extension, and that the bytes match it.

The browser's content type is not trusted: the stored type comes from the extension, and the
first bytes must look like that kind of file, so a renamed HTML page is not served back as a PDF.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from .formatting import format_size

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


class UploadRefused(ValueError):
    """The file cannot be stored; the message is shown next to the field."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def clean_filename(name: str) -> str:
    """The file's own name without any path or control characters, at most 200 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    stem, ext = os.path.splitext(name)
    return (stem[: 200 - len(ext)] + ext) or "berkas"


def read_upload(storage: FileStorage | None, max_bytes: int) -> Upload | None:
    """The checked upload, None when no file was chosen; `UploadRefused` with a message otherwise."""
    if storage is None or not storage.filename:
        return None
    filename = clean_filename(storage.filename)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise UploadRefused(f"Jenis berkas tidak diizinkan (hanya {KINDS_LABEL})")
    content = storage.stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise UploadRefused(f"Berkas terlalu besar (paling besar {format_size(max_bytes)})")
    if not content:
        raise UploadRefused("Berkas kosong")
    content_type, signatures = ALLOWED[ext]
    if not content.startswith(signatures):
        raise UploadRefused(f"Isi berkas tidak sesuai dengan jenis .{ext}")
    return Upload(filename, content_type, content)
