"""Cost of the admin's accounts page as accounts and regions pile up (a national deployment: 552
regions, a handful of accounts each).

    python bench/accounts.py [--accounts 100 3000] [--regions 552] [--requests 10] [--pg URL]

Each size gets its own database with `--regions` regions and that many accounts spread over
them, written in bulk. Timed through Flask (an admin logged in once, then GET): the first page,
a search for one account by name and one region's accounts. Prints the median per page and size,
the bytes of the page, and the ratio of the largest size to the smallest. SQLite unless `--pg`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from engine.clock import clock  # noqa: E402
from engine.models import Region, User  # noqa: E402
from engine.service import Orchestrator  # noqa: E402
from engine.store import upgrade  # noqa: E402
from handlers import registry as ksdpl  # noqa: E402
from web import create_app  # noqa: E402
from web.accounts import hash_password  # noqa: E402

PASSWORD = "rahasia-bench-1"
PAGES = {
    "first page": "/konsol/akun",
    "search": "/konsol/akun?q=staf+nomor+17",  # staf 17, 170-179, 1700-1799: a name's digits
    "a region": "/konsol/akun?wilayah=R0007",
}


def populate(url: str, accounts: int, regions: int) -> Orchestrator:
    upgrade(url)
    orch = Orchestrator(url, ksdpl)
    now = clock.now()
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
        rows = [
            {"username": f"staf_{n}", "name": f"Staf Nomor {n}", "password_hash": "-", "groups": "pemda"}
            | {"region_code": f"R{n % regions:04d}", "active": True, "created_at": now}
            for n in range(accounts)
        ]
        rows.append(
            {
                "username": "admin",
                "name": "Admin",
                "password_hash": hash_password(PASSWORD),
                "groups": "admin",
            }
            | {"region_code": None, "active": True, "created_at": now}
        )
        conn.execute(insert(User), rows)
    return orch


def time_pages(orch: Orchestrator, requests: int) -> dict[str, tuple[float, int]]:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "KSDPL_ORCHESTRATOR": orch}
        | {"KSDPL_DATABASE_URL": orch.database_url}
    )
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    result = {}
    for name, path in PAGES.items():
        size = len(client.get(path).data)  # warm
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        result[name] = (statistics.median(samples) * 1000, size)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 3000])
    parser.add_argument("--regions", type=int, default=552)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for accounts in args.accounts:
            url = args.pg if args.pg else f"sqlite:///{tmp}/accounts_{accounts}.db"
            orch = populate(url, accounts, args.regions)
            try:
                results[accounts] = time_pages(orch, args.requests)
            finally:
                orch.close()
            if args.pg:
                break  # one empty database: one size
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
