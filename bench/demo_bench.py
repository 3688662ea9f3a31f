"""`deprecator demo` end to end, as a new user runs it: the README's promise is "a few seconds".

    python3 -m bench.demo_bench            # 3 runs
    python3 -m bench.demo_bench --runs 5

Each run is a fresh `deprecator demo` process (interpreter start, imports, the
SQLite warehouse, scan, plan, apply, the notify dry run and the digest) in a new
temporary folder, timed on the wall clock. Prints one JSON line. (This used to be
a `< 30 s` assertion in the demo's test; timings belong here, not in tests.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    exe = Path(sys.executable).with_name("deprecator")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "deprecator"]
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="deprecator-demo-bench-") as tmp:
            t0 = time.perf_counter()
            subprocess.run([*cmd, "demo", "--dir", os.path.join(tmp, "demo")], check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
    print(json.dumps({"runs": args.runs, "median_s": round(statistics.median(times), 2),
                      "min_s": round(min(times), 2), "max_s": round(max(times), 2),
                      "load_average": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
