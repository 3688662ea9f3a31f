"""Speed of `deprecator dbt codemod` on the generated 1,200-model dbt project of ``bench.check_bench``.

    python3 -m bench.codemod_bench                 # generate (once) and measure, best and median of 5

Each run is the CLI end to end in a fresh process, `--format json`, nothing written:

* few: the check bench's registry (3 deprecations; ~5% of the models ref one of them);
* every_file: a registry whose deprecated staging model every model refs (every file is
  scanned by jinja2 and rewritten: ~1,100 files in the diff).

No deprecation maps columns here, so no file goes through the SQL rewrite; the
column path costs what `plan` costs per view (see the plan numbers above it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform

from bench.check_bench import DATA, generate
from bench.measure import time_cli


def _time(args: list[str], repeat: int) -> dict:
    timing, last = time_cli(args, repeat, DATA)
    if last.returncode not in (0, 1):
        raise SystemExit(f"codemod failed ({last.returncode}): {last.stderr}")
    out = json.loads(last.stdout)
    return {"args": " ".join(args), **timing,
            "files_read": out["files_read"], "files_rewritten": out["summary"]["rewritten"],
            "edits": sum(len(f["edits"]) for f in out["files"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1200)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    generate(a.models)
    man = ["--manifest", "target/manifest.json", "--format", "json"]
    runs = {
        "few": _time(["dbt", "codemod", ".", *man], a.repeat),
        "every_file": _time(["--config", "everywhere-config.yml", "dbt", "codemod", ".", *man], a.repeat),
    }
    print(json.dumps({"models": a.models, "cpus": os.cpu_count(), "python": platform.python_version(),
                      "load_average_at_start": os.getloadavg(), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
