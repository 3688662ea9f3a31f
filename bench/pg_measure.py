"""One PostgreSQL measurement in a fresh process (so its peak memory is its own).

    python3 -m bench.pg_measure scan MODE URL [--workers N]
        MODE: pushdown | fetchall, then optionally +c (C-collation filter) and/or
              +client (no server-side cursor), both suggested changes sized in this
              process only, then optionally :read (the history read alone, nothing parsed)
    python3 -m bench.pg_measure views N URL

Prints one JSON object on stdout (the last line).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import orjson


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.pg_measure")
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("scan")
    s.add_argument("mode")
    s.add_argument("url")
    s.add_argument("--workers", type=int, default=None)
    v = sub.add_parser("views")
    v.add_argument("n", type=int)
    v.add_argument("url")
    a = ap.parse_args(argv)
    if a.what == "scan":
        from bench.pg_scan import measure

        out = measure(a.mode, a.url, a.workers)
    else:
        from bench.pg_views import measure as measure_views

        with tempfile.TemporaryDirectory() as tmp:
            out = measure_views(a.url, a.n, Path(tmp))
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    sys.stdout.write(orjson.dumps(out, default=str).decode() + "\n")


if __name__ == "__main__":
    main()
