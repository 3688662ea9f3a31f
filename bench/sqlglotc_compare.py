"""Does the compiled sqlglot (sqlglotc) parse faster here, with identical results?

Run it with two interpreters, one with sqlglotc installed and one without, on
the same corpus, and compare the printed digests:

    python3 -m bench.sqlglotc_compare ../shared/corpora/bigquery-etl/sql
    /path/to/pure-venv/bin/python -m bench.sqlglotc_compare ../shared/corpora/bigquery-etl/sql

The digest covers every reference (relation, span, kind, columns) and status
of every non-Jinja file, so equal digests mean identical results.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import sqlglot

from deprecator.sql import find_references


def main(root: str) -> None:
    files = sorted(p for p in Path(root).rglob("*.sql"))
    texts = [(p, p.read_text(encoding="utf-8")) for p in files]
    texts = [(p, t) for p, t in texts if "{{" not in t and "{%" not in t]
    compiled = any(f.suffix == ".so" for f in Path(sqlglot.__file__).parent.iterdir())
    digest = hashlib.sha256()
    t0 = time.perf_counter()
    statuses: dict[str, int] = {}
    for p, t in texts:
        r = find_references(t, "bigquery")
        statuses[r.status] = statuses.get(r.status, 0) + 1
        digest.update(f"{p.relative_to(root)}|{r.status}|{r.error}\n".encode())
        for ref in r.references:
            cols = None if ref.columns is None else sorted(ref.columns)
            digest.update(f"{ref.relation}|{ref.start}|{ref.end}|{ref.statement_kind}|{ref.role}|{cols}\n".encode())
    elapsed = time.perf_counter() - t0
    print(f"sqlglot {sqlglot.__version__} compiled={compiled} files={len(texts)} statuses={statuses} "
          f"find_references={elapsed:.2f}s ({1000 * elapsed / len(texts):.2f} ms/file) digest={digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpora/bigquery-etl/sql")
