"""The WSGI app for production servers: `gunicorn 'web.wsgi:app'` (settings from KSDPL_* variables)."""

from __future__ import annotations

import gc

from . import create_app

app = create_app()
# The app's modules, handlers and settings live as long as the process: moved out of the cyclic
# collector's reach, a full collection walks about 40,000 objects instead of 140,000 and stops the
# process for 10-20 ms instead of 80-170 ms (measured in a process serving the inbox), every
# request in flight in it waiting that long.
gc.freeze()
