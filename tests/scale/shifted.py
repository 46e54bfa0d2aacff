"""Run `ksdpl ...` or `gunicorn ...` with the engine clock ahead of real time by the seconds in
the file named by KSDPL_TEST_CLOCK_SHIFT, read on every `clock.now()`: a test moves time for its
server and worker processes at once, as `clock.set` moves it in its own process.

    python -m tests.scale.shifted ksdpl worker --interval 1
    python -m tests.scale.shifted gunicorn -w 1 -b 127.0.0.1:8000 web.wsgi:app
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.clock import clock

SHIFT = Path(os.environ["KSDPL_TEST_CLOCK_SHIFT"])


def shifted_now() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=float(SHIFT.read_text() or 0))


def main() -> None:
    clock.now = shifted_now  # type: ignore[method-assign]  # before gunicorn forks its worker
    program, *args = sys.argv[1:]
    if program == "ksdpl":
        from web.cli import main as ksdpl

        ksdpl(args)
    elif program == "gunicorn":
        from gunicorn.app.wsgiapp import run

        sys.argv = ["gunicorn", *args]
        run()
    else:
        raise SystemExit(f"shifted: ksdpl or gunicorn, not {program}")


if __name__ == "__main__":
    main()
