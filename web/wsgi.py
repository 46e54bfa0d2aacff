"""The WSGI app for production servers: `gunicorn 'web.wsgi:app'` (settings from KSDPL_* variables)."""

from __future__ import annotations

from . import create_app

app = create_app()
