"""The dbt project the dbt tests share: the committed tests/data/dbt_shop, a git repository of it,
manifest nodes built in code, and a virtualenv with dbt for the tests that run `dbt parse`.

Shared by the check-dbt, codemod and sync tests (a plain module, not a test module, so importing it
collects no tests twice).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SHOP = Path(__file__).parent / "data" / "dbt_shop"
# dbt-core pins pathspec<0.13 while mypy (dev extra) needs pathspec>=1, so dbt gets
# a virtualenv of its own; 1.11+ pulls a parser whose build downloads a binary from
# outside the package index.
DBT_PINS = ("dbt-core>=1.9,<1.11", "dbt-duckdb>=1.9,<1.10")
V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def repo(path: Path) -> Path:
    git(path, "init", "-q", ".")
    git(path, "add", ".")
    git(path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")
    return path


def dbt_venv() -> Path:
    """A virtualenv with dbt, built once per machine (cached under ~/.cache)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deprecator-tests" / "dbt-venv"
    dbt = cache / "bin" / "dbt"
    if not dbt.exists():
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(cache)], check=True)
        proc = subprocess.run([str(cache / "bin" / "pip"), "install", "-q", *DBT_PINS],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return dbt


def node(name: str, *, alias: str | None = None, schema: str = "marts", version=None, latest=None,
         deprecation_date=None, path: str | None = None, depends=(), meta=None) -> tuple[str, dict]:
    uid = f"model.shop.{name}" + (f".v{version}" if version is not None else "")
    rel = alias or (f"{name}_v{version}" if version is not None else name)
    return uid, {
        "unique_id": uid, "resource_type": "model", "package_name": "shop", "name": name,
        "database": "dev", "schema": schema, "alias": rel, "relation_name": f'"dev"."{schema}"."{rel}"',
        "version": version, "latest_version": latest, "deprecation_date": deprecation_date,
        "original_file_path": path or f"models/{name}.sql",
        "depends_on": {"macros": [], "nodes": list(depends)}, "meta": meta or {},
        "config": {"materialized": "view", "meta": meta or {}},
    }


def manifest(schema_url: str = V12) -> dict:
    nodes = dict([
        node("customer_facts", alias="cust_facts_tbl"),
        node("entity_customers"),
        node("dim_customers", version=1, latest=2, deprecation_date="2027-02-01T00:00:00Z",
             path="models/dim_customers_v1.sql"),
        node("dim_customers", version=2, latest=2, path="models/dim_customers_v2.sql"),
        node("legacy_orders", deprecation_date="2027-05-01", meta={"deprecator": {"replacement": "marts.orders"}}),
        node("dyn", path="models/dyn.sql", depends=["model.shop.customer_facts"]),
        node("user_model", path="models/user_model.sql"),
    ])
    return {"metadata": {"dbt_schema_version": schema_url, "dbt_version": "1.9.0", "project_name": "shop"},
            "nodes": nodes, "sources": {}, "exposures": {}, "groups": {}}
