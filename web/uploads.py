"""Checks on an uploaded file before it is stored: size, extension, and that the bytes match it.

The browser's content type is not trusted: the stored type comes from the extension, and the
first bytes must look like that kind of file, so a renamed HTML page is not served back as a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from engine.documents import (
    ACCEPT,
    KINDS_LABEL,
    DocumentRefused,
    clean_filename,
    document_type,
    extension_type,
)

from .formatting import format_size

__all__ = ["ACCEPT", "KINDS_LABEL", "Upload", "UploadRefused", "clean_filename", "read_upload"]

UploadRefused = DocumentRefused


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def read_upload(storage: FileStorage | None, max_bytes: int) -> Upload | None:
    """The checked upload, None when no file was chosen; `UploadRefused` with a message otherwise."""
    if storage is None or not storage.filename:
        return None
    filename = clean_filename(storage.filename)
    extension_type(filename)
    content = storage.stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise UploadRefused(f"Berkas terlalu besar (paling besar {format_size(max_bytes)})")
    return Upload(filename, document_type(filename, content), content)
