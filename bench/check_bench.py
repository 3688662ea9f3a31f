"""Speed of `deprecator check` on a generated 1,200-model dbt project.

    python3 -m bench.check_bench                 # generate (once) and measure, best and median of 5
    python3 -m bench.check_bench --models 1200 --repeat 5

Measures the CLI end to end in a fresh process each time (interpreter start,
imports, reading, parsing, JSON output captured), as wall time and as CPU time
(user + system of the child: what the check costs when the machine is shared):

* full: `deprecator check models --manifest target/manifest.json` over every model
  (no --base: all files are read; those that can mention a deprecated model are parsed);
* base: `deprecator check models --base main --manifest ...` on a branch that changes
  10 files (only those are read);
* full, every file parsed: the same full check with a registry whose names occur in
  every file (each model file goes through jinja2 and sqlglot), the worst case.

The project is deterministic (seed 7) and lives in bench/.data/check_project (gitignored).
Targets (issue 10): full < 5 s, base with 10 changed files < 1 s, on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
from pathlib import Path

from bench.measure import time_cli

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "check_project"

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
  - model: analytics.old_orders
    replacement: analytics.orders
    sunset: 2027-06-30
  - model: analytics.legacy_sessions
    replacement: analytics.sessions
    sunset: 2027-09-30
"""
# The stress registry: a staging model every generated model refs (every file goes through
# jinja2), and a "relation" named like a column every model uses (the cheap text test
# cannot rule any file out, so every file also goes through the SQL parser).
EVERYWHERE = """\
deprecations:
  - model: analytics.stg_events
    replacement: analytics.stg_events_v2
    sunset: 2027-03-31
  - model: analytics.event_date
    replacement: analytics.event_day
    sunset: 2027-03-31
"""
DEPRECATED = ("customer_facts", "old_orders", "legacy_sessions")


def _model_sql(rng: random.Random, i: int, names: list[str]) -> str:
    upstream = rng.sample(names[:i] or ["stg_events"], k=min(len(names[:i]) or 1, rng.randint(1, 4)))
    if "stg_events" not in upstream:
        upstream[0] = "stg_events"
    if rng.random() < 0.05:
        upstream.append(rng.choice(DEPRECATED))
    ctes = []
    for j, up in enumerate(upstream):
        ref = f"ref('{up}')" if rng.random() < 0.9 else f"ref('{up}', v=1)" if up == "stg_events" else f"ref('{up}')"
        ctes.append(f"{up}_{j} as (\n\n    select * from {{{{ {ref} }}}}\n    where event_date >= '2026-01-01'\n\n)")
    body = ",\n\n".join(ctes)
    first = f"{upstream[0]}_0"
    joins = "\n".join(f"left join {u}_{j} on {u}_{j}.id = {first}.id" for j, u in enumerate(upstream) if j)
    cond = ""
    if rng.random() < 0.3:
        cond = ("\n{% if target.type == 'snowflake' %}\nwhere {{ first }}.id is not null\n"
                "{% else %}\nwhere true\n{% endif %}").replace("{{ first }}", first)
    return (f"{{{{ config(materialized='{rng.choice(['view', 'table', 'incremental'])}') }}}}\n\n"
            f"with {body}\n\n"
            f"select\n    {first}.id,\n    count(*) as n,\n    sum({first}.amount) as total\n"
            f"from {first}\n{joins}{cond}\ngroup by 1\n")


def _manifest(names: list[str]) -> dict:
    nodes = {}
    for n in names + ["stg_events", *DEPRECATED]:
        uid = f"model.bench.{n}"
        nodes[uid] = {"unique_id": uid, "resource_type": "model", "package_name": "bench", "name": n,
                      "database": "prod", "schema": "analytics", "alias": n,
                      "relation_name": f'"prod"."analytics"."{n}"', "version": None, "latest_version": None,
                      "deprecation_date": None, "original_file_path": f"models/{n}.sql",
                      "depends_on": {"macros": [], "nodes": []}, "meta": {}, "config": {"meta": {}}}
    return {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                         "project_name": "bench"}, "nodes": nodes, "sources": {}}


def _git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=DATA, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
                        "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"})


def generate(models: int) -> None:
    marker = DATA / f".generated-{models}"
    if marker.exists():
        return
    shutil.rmtree(DATA, ignore_errors=True)
    (DATA / "models").mkdir(parents=True)
    (DATA / "target").mkdir()
    rng = random.Random(7)
    names = [f"model_{i:04d}" for i in range(models)]
    for i, name in enumerate(names):
        (DATA / "models" / f"{name}.sql").write_text(_model_sql(rng, i, names), encoding="utf-8")
    (DATA / "deprecator.yml").write_text("registry: deprecations.yml\nwarehouse:\n  default_schema: analytics\n")
    (DATA / "deprecations.yml").write_text(REGISTRY)
    (DATA / "everywhere.yml").write_text(EVERYWHERE)
    (DATA / "everywhere-config.yml").write_text("registry: everywhere.yml\nwarehouse:\n  default_schema: analytics\n")
    (DATA / "target" / "manifest.json").write_text(json.dumps(_manifest(names)))
    (DATA / ".gitignore").write_text("target/\n.generated-*\n")
    _git("init", "-q", "-b", "main")
    _git("add", "-A")
    _git("commit", "-q", "-m", "base")
    _git("checkout", "-q", "-b", "change")
    for k, name in enumerate(rng.sample(names, 10)):   # 10 changed files, 2 of them add a deprecated ref
        p = DATA / "models" / f"{name}.sql"
        extra = "\n-- reviewed\n" if k >= 2 else "\nunion all\nselect * from {{ ref('customer_facts') }}\n"
        p.write_text(p.read_text() + extra)
    _git("commit", "-q", "-am", "change 10 files")
    marker.write_text("")


def _time(args: list[str], repeat: int) -> dict:
    timing, last = time_cli(args, repeat, DATA, env={"DEPRECATOR_TODAY": "2026-12-02"})
    if last.returncode not in (0, 1):
        raise SystemExit(f"check failed ({last.returncode}): {last.stderr}")
    out = json.loads(last.stdout)
    return {"args": " ".join(args), **timing,
            "files_checked": out["files_checked"], "files_parsed": out["files_parsed"],
            "errors": out["summary"]["errors"], "warnings": out["summary"]["warnings"], "exit": last.returncode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1200)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    generate(a.models)
    man = ["--manifest", "target/manifest.json", "--format", "json"]
    runs = {
        "full": _time(["check", "models", *man], a.repeat),
        "base_10_changed": _time(["check", "models", "--base", "main", *man], a.repeat),
        "full_every_file_parsed": _time(["--config", "everywhere-config.yml", "check", "models", *man], a.repeat),
        "startup_only": _time(["check", "models/model_0000.sql", "--format", "json"], a.repeat),
    }
    print(json.dumps({"models": a.models, "cpus": os.cpu_count(), "python": platform.python_version(),
                      "load_average_at_start": os.getloadavg(), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
