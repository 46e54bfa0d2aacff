"""What a person may choose about how they are told, in a module light enough for the CLI's
option lists (the delivery code that acts on it imports the database and the workflow engine)."""

from __future__ import annotations

# e-mail per notification, a daily digest, or none (the app shows every notification anyway)
NOTIFY_MODES = {"each": "Setiap pemberitahuan", "digest": "Ringkasan harian", "none": "Tidak dikirim"}
