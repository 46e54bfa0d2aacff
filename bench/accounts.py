"""Cost of the admin's accounts page as accounts and regions pile up (a national deployment: 552
regions, a handful of accounts each).

    python bench/accounts.py [--accounts 100 3000] [--regions 552] [--requests 10] [--pg URL]

One database gets `--regions` regions, then accounts spread over them, written in bulk up to
each size in turn (at `--pg`, an empty PostgreSQL database; else SQLite). Timed through Flask
(an admin logged in once, then GET): the first page, a search for one account by name and one
region's accounts. Prints the median per page and size, the bytes of the page, and the ratio
of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console import time_pages  # noqa: E402  (the benches' shared helpers)
from sqlalchemy import func, insert, select  # noqa: E402

from engine.clock import clock  # noqa: E402
from engine.models import Region, User  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from handlers import registry as ksdpl  # noqa: E402
from web.accounts import hash_password  # noqa: E402

PASSWORD = "rahasia-bench-1"
PAGES = {
    "first page": "/konsol/akun",
    "search": "/konsol/akun?q=staf+nomor+17",  # staf 17, 170-179, 1700-1799: a name's digits
    "a region": "/konsol/akun?wilayah=R0007",
}


def setup(url: str, regions: int) -> Orchestrator:
    """The regions and the admin, written in bulk."""
    upgrade(url)
    orch = Orchestrator(url, ksdpl)
    with orch.db.begin() as conn:
        conn.execute(
            insert(Region),
            [
                {
                    "code": f"R{r:04d}",
                    "name": f"Kabupaten {r:04d}",
                    "level": "kabupaten",
                    "timezone": "Asia/Jakarta",
                }
                for r in range(regions)
            ],
        )
        conn.execute(
            insert(User),
            {
                "username": "admin",
                "name": "Admin",
                "password_hash": hash_password(PASSWORD),
                "groups": "admin",
            }
            | {"region_code": None, "active": True, "created_at": clock.now()},
        )
    return orch


def grow(orch: Orchestrator, accounts: int, regions: int) -> None:
    """Staff accounts spread over the regions until there are `accounts` of them."""
    with orch.db.begin() as conn:
        have = conn.scalar(select(func.count()).select_from(User)) - 1  # the admin
        conn.execute(
            insert(User),
            [
                {"username": f"staf_{n}", "name": f"Staf Nomor {n}", "password_hash": "-", "groups": "pemda"}
                | {"region_code": f"R{n % regions:04d}", "active": True, "created_at": clock.now()}
                for n in range(have, accounts)
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 3000])
    parser.add_argument("--regions", type=int, default=552)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        orch = setup(args.pg or f"sqlite:///{tmp}/accounts.db", args.regions)
        try:
            for accounts in sorted(args.accounts):
                grow(orch, accounts, args.regions)
                results[accounts] = time_pages(orch, PAGES, args.requests, "admin", PASSWORD)
        finally:
            orch.close()
    print(f"{'accounts':>8}  " + "  ".join(f"{name:>22}" for name in PAGES) + "   (median ms, KB of HTML)")
    for accounts, pages in results.items():
        cells = "  ".join(f"{ms:>10.1f} ms {size / 1024:>7.1f} KB" for ms, size in pages.values())
        print(f"{accounts:>8}  {cells}")
    if len(results) > 1:
        small, large = results[min(results)], results[max(results)]
        ratios = ", ".join(f"{name} {large[name][0] / small[name][0]:.2f}" for name in PAGES)
        print(f"ratio {max(results)}/{min(results)}: {ratios}")


if __name__ == "__main__":
    main()
