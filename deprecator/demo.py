"""`deprecator demo`: the whole flow on a throwaway SQLite warehouse, offline, in seconds.

Everything it writes (warehouse, configuration, registry, query history, state
store) lives in one folder: a new temporary folder unless ``--dir`` names one.
"""

from __future__ import annotations

import datetime as _dt
import json
import shlex
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote

from deprecator.errors import DeprecatorError
from deprecator.text import plural

if TYPE_CHECKING:
    from deprecator.registry import Registry

TABLES = """
CREATE TABLE customer_facts (cust_id INTEGER PRIMARY KEY, name TEXT, country TEXT, lifetime_value REAL, legacy_flag INTEGER);
CREATE TABLE entity_customers (customer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, lifetime_value REAL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, cust_id INTEGER, amount REAL, ordered_at TEXT);
"""

CUSTOMERS = [
    (1, "Ada", "NL", 1200.0, 0), (2, "Grace", "US", 860.5, 1), (3, "Linus", "FI", 310.0, 0),
    (4, "Margaret", "US", 4020.0, 0), (5, "Edsger", "NL", 95.0, 1), (6, "Barbara", "UK", 640.0, 0),
]
ORDERS = [
    (101, 1, 250.0, "2026-10-02"), (102, 1, 80.0, "2026-10-20"), (103, 2, 410.5, "2026-10-05"),
    (104, 4, 999.0, "2026-11-01"), (105, 5, 95.0, "2026-11-03"), (106, 6, 120.0, "2026-11-10"),
    (107, 4, 35.0, "2026-11-12"),
]

# Views in creation order. Formatting and comments are the authors'; the rewrite must keep them.
VIEWS = {
    "customer_summary": """CREATE VIEW customer_summary AS
-- One row per customer; feeds the finance dashboard.
SELECT cf.cust_id,            -- the customer key
       cf.name,
       cf.country
FROM customer_facts AS cf     /* deprecated: see migration_guides/customer_facts.md */""",
    "revenue_by_customer": """CREATE VIEW revenue_by_customer AS
SELECT c.cust_id,
       c.name,
       SUM(o.amount) AS revenue   -- gross, before refunds
FROM orders o
JOIN customer_facts c ON c.cust_id = o.cust_id
GROUP BY c.cust_id, c.name""",
    "dutch_customers": """CREATE VIEW dutch_customers AS
WITH customer_facts AS (        -- this CTE shadows the table's name on purpose
    SELECT cust_id, name FROM main.customer_facts WHERE country = 'NL'
)
SELECT cust_id, name FROM customer_facts""",
    "recent_orders": """CREATE VIEW recent_orders AS
-- Not a consumer: the only customer_facts here is a CTE.
WITH customer_facts AS (SELECT cust_id, MAX(ordered_at) AS last_order FROM orders GROUP BY cust_id)
SELECT cust_id, last_order FROM customer_facts""",
    "flagged_customers": """CREATE VIEW flagged_customers AS
SELECT cust_id, name, legacy_flag   -- legacy_flag has no equivalent in entity_customers
FROM customer_facts
WHERE legacy_flag = 1""",
    "top_countries": """CREATE VIEW top_countries AS
/* A view on a view: it reads customer_summary, not customer_facts. */
SELECT country, COUNT(*) AS customers
FROM customer_summary
GROUP BY country""",
    "customer_360": """CREATE VIEW customer_360 AS
SELECT s.cust_id, s.name, s.country, r.revenue   -- two paths to customer_facts (a diamond)
FROM customer_summary s
LEFT JOIN revenue_by_customer r ON r.cust_id = s.cust_id""",
}

# (user, query_text, times run)
HISTORY = [
    ("alice", "SELECT cust_id, name FROM customer_facts WHERE country = 'NL'", 14),
    ("alice", "select count(*) from CUSTOMER_FACTS", 3),
    ("bob", "SELECT c.name, SUM(o.amount) FROM orders o JOIN customer_facts c ON c.cust_id = o.cust_id GROUP BY c.name", 9),
    ("carol", "SELECT * FROM customer_summary WHERE country = 'US'", 6),
    ("carol", "SELECT cust_id, legacy_flag FROM customer_facts WHERE legacy_flag = 1", 2),
    ("etl_service", "INSERT INTO orders SELECT 200, cust_id, 0, '2026-11-20' FROM main.customer_facts WHERE cust_id = 3", 5),
    ("dave", "SELECT customer_id, name FROM entity_customers", 7),
    ("dave", "WITH customer_facts AS (SELECT 1 AS cust_id) SELECT cust_id FROM customer_facts", 1),
]

# The demo's guide is written by `deprecator guide` (migration_guides/customer_facts.md
# in the repository is this guide as of DEMO_GUIDE_DATE; a test keeps it current).
DEMO_GUIDE_DATE = _dt.date(2026, 12, 1)


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    kept: bool
    apply_id: str | None
    findings: int
    rewritten: tuple[str, ...]
    blocked: tuple[str, ...]


def write_demo_files(directory: Path, today: _dt.date | None = None) -> None:
    """Create the warehouse, config, registry, query history and guide in ``directory``."""
    today = today or _dt.date.today()
    directory.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(directory / "warehouse.db")
    try:
        conn.executescript(TABLES)
        conn.executemany("INSERT INTO customer_facts VALUES (?, ?, ?, ?, ?)", CUSTOMERS)
        conn.executemany("INSERT INTO entity_customers VALUES (?, ?, ?, ?)", [c[:4] for c in CUSTOMERS])
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
        for sql in VIEWS.values():
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()
    (directory / "deprecator.yml").write_text(
        "# Written by `deprecator demo`.\n"
        "warehouse:\n"
        "  url: sqlite:///warehouse.db\n"
        "  dialect: sqlite\n"
        "  default_schema: main\n"
        "registry: deprecations.yml\n"
        "history:\n"
        "  - type: file\n"
        "    path: history/query_history.jsonl\n"
        "state:\n"
        "  url: sqlite:///.deprecator/state.db\n"
        "owners:                       # who is told (deprecator notify)\n"
        "  users:\n"
        "    etl_service: {team: data-platform, slack_channel: \"#data-platform\"}\n"
        "  email_domain: demo.example  # alice -> alice@demo.example\n"
        "slack:\n"
        "  token: ${SLACK_BOT_TOKEN}   # only needed to send; --dry-run works without it\n"
        "  fallback_channel: \"#data-deprecations\"\n",
        encoding="utf-8",
    )
    sunset = today + _dt.timedelta(days=120)
    announced = today - _dt.timedelta(days=14)
    (directory / "deprecations.yml").write_text(
        "deprecations:\n"
        "  - model: customer_facts\n"
        "    replacement: entity_customers\n"
        f"    sunset: {sunset.isoformat()}\n"
        f"    announced: {announced.isoformat()}\n"
        "    reason: Replaced by the customer entity model\n"
        "    owner: analytics-engineering\n"
        '    contact: "#analytics-engineering"\n'
        "    migration_guide: migration_guides/customer_facts.md\n"
        "    columns:            # old name -> new name\n"
        "      cust_id: customer_id\n"
        "    removed_columns: [legacy_flag]   # no equivalent in the replacement\n",
        encoding="utf-8",
    )
    (directory / "history").mkdir(exist_ok=True)
    start = _dt.datetime.combine(today, _dt.time(8, 0)) - _dt.timedelta(days=20)
    lines = []
    n = 0
    for user, text, times in HISTORY:
        for i in range(times):
            n += 1
            when = start + _dt.timedelta(hours=7 * n + i)
            lines.append(json.dumps({"query_text": text, "user_name": user, "start_time": when.isoformat(),
                                     "warehouse": "demo"}))
    (directory / "history" / "query_history.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_demo_guide(directory, today)


def write_demo_guide(directory: Path, today: _dt.date) -> Path:
    """`deprecator guide customer_facts` in the demo folder: the consumers as the demo's history has them."""
    from deprecator.config import load_config
    from deprecator.guide import guide_for, render_guide

    config = load_config(directory / "deprecator.yml")
    guide = guide_for(config, "customer_facts", today=today, workers=0)
    target = directory / guide.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_guide(guide), encoding="utf-8")
    return target


def _rows(db: Path, views: list[str]) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True)
    try:
        return {v: sorted(conn.execute(f'SELECT * FROM "{v}"').fetchall(), key=repr) for v in views}
    finally:
        conn.close()


def _demo_notify(config: Any, registry: Registry, today: _dt.date | None, out: Callable[[str], None]) -> None:
    """The notify dry run: who would be told, and the first message in full."""
    from deprecator.notify import run_notify
    from deprecator.notify.render import blocks_as_text

    report = run_notify(config, registry, dry_run=True, today=today)
    for d in report.deliveries:
        meant = f" (meant for {d.meant_for})" if d.meant_for else ""
        out(f"   would send to {d.destination}{meant}: {d.owner.name}, about {', '.join(d.models)}")
    for c in report.left_out:
        out(f"   not told: {c.user or '(no user)'} ({c.status}: {c.reason})")
    with_message = [d for d in report.deliveries if d.message is not None]
    first = next((d for d in with_message if (d.destination or "").startswith("DM")), None) or \
        next(iter(with_message), None)
    if first is not None and first.message is not None:
        out(f"   The message to {first.owner.name} (literal values redacted):")
        for line in blocks_as_text(first.message.blocks).splitlines():
            out("   | " + line)


def _demo_digest(config: Any, registry: Registry, today: _dt.date | None, out: Callable[[str], None]) -> None:
    """The weekly digest as the scan above left it, in text."""
    from deprecator.apply import open_state
    from deprecator.notify.digest_service import gather_digest, render_digest

    state = open_state(config)
    try:
        digest = gather_digest(config, registry, state, today or _dt.date.today())
    finally:
        state.close()
    for line in render_digest(digest, "text").splitlines():
        out("   " + line if line else "")


def run_demo(
    directory: Path | None,
    *,
    keep: bool = False,
    out: Callable[[str], None] = print,
    color: bool = False,
    today: _dt.date | None = None,
) -> DemoResult:
    """Set up the demo folder, then scan, plan and apply there, printing each step."""
    from deprecator.apply import apply_plan, open_state, open_target, plan_warehouse
    from deprecator.config import load_config
    from deprecator.plan import color_diff, render_text, unified_diff
    from deprecator.scan import run_scan

    temporary = directory is None
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="deprecator-demo-"))
    else:
        directory = directory.resolve()
        if directory.exists() and any(directory.iterdir()):
            raise DeprecatorError(f"the demo folder {directory} is not empty",
                                  hint="pass a new or empty folder to --dir")
    kept = keep or not temporary
    try:
        out(f"deprecator demo: a throwaway SQLite warehouse in {directory}")
        out("")
        write_demo_files(directory, today)
        out("1. Set up")
        out("   warehouse.db         tables customer_facts (deprecated), entity_customers (its replacement), orders;")
        out(f"                        {len(VIEWS)} views")
        out("   deprecations.yml     customer_facts -> entity_customers (cust_id -> customer_id, legacy_flag removed)")
        queries = sum(t for _, _, t in HISTORY)
        out(f"   history/query_history.jsonl  {queries} queries by {len({u for u, _, _ in HISTORY})} users")
        out("")

        config = load_config(directory / "deprecator.yml")
        out("2. Scan: who and what uses customer_facts   (deprecator scan)")
        report = run_scan(config, config.load_registry(), progress=False)
        for deprecation, findings in report.by_deprecation().items():
            views = sorted({f.object for f in findings if f.source == "view"})
            hist = [f for f in findings if f.source == "history"]
            per_user: dict[str, int] = {}
            for f in hist:
                per_user[f.user or "?"] = per_user.get(f.user or "?", 0) + f.count
            out(f"   {deprecation}:")
            out(f"     {plural(len(views), 'view')} read it directly: {', '.join(views)}")
            out(f"     {plural(sum(per_user.values()), 'query', 'queries')} in the history by "
                f"{plural(len(per_user), 'user')}: "
                + ", ".join(f"{u} ({c})" for u, c in sorted(per_user.items(), key=lambda x: (-x[1], x[0]))))
        for u in report.unparsed:
            out(f"   could not analyse {u.source} {u.object}: {u.status}: {u.error}")
        objects = {f.object for f in report.findings}
        users = {f.user for f in report.findings}
        if "main.recent_orders" not in objects and "dave" not in users:
            out("   Not counted: the view recent_orders and dave's query, where customer_facts is only a CTE name.")
        out("")

        out("3. Plan: rewrite the views, in dependency order   (deprecator plan)")
        warehouse, registry = open_target(config)
        try:
            plan = plan_warehouse(warehouse, registry)[0]
            for line in render_text(plan, color=color).splitlines():
                out("   " + line if line else "")
            out("")
            answering = [v.relation.name for v in plan.views if v.action != "blocked"]
            rows_before = _rows(directory / "warehouse.db", answering)

            out("4. Apply: one transaction, every view verified before commit   (deprecator apply --auto-approve)")
            state = open_state(config)
            try:
                result = apply_plan(plan, warehouse, registry, state)
            finally:
                state.close()
            after = {v.relation: v.definition for v in warehouse.list_views()}
        finally:
            warehouse.close()
        rows_after = _rows(directory / "warehouse.db", answering)
        same = [v for v in answering if rows_before[v] == rows_after[v]]
        out(f"   Applied {plural(len(result.changed), 'rewrite')}; apply id {result.apply_id}")
        out(f"   {len(same)} of {len(answering)} affected views return the same rows as before the apply.")
        if result.blocked:
            out(f"   Still reading customer_facts (blocked): {', '.join(result.blocked)}")
        out("")
        out("   Final diff of the warehouse:")
        for v in plan.changes:
            d = unified_diff(v.before, after.get(v.relation, ""), v.name, ("before", "after"))
            for line in color_diff(d, color).splitlines():
                out("   " + line)
        out("")

        out("5. Tell people: one Slack message per owner, offline   (deprecator notify --dry-run)")
        _demo_notify(config, registry, today, out)
        out("")
        out("6. Watch it burn down: the weekly digest   (deprecator digest --dry-run)")
        _demo_digest(config, registry, today, out)
        out("")
        where = f"cd {shlex.quote(str(directory))} && " if kept else ""
        if result.apply_id:
            if kept:
                out(f"Undo it: {where}deprecator rollback {result.apply_id}")
            else:
                out("Undo it (run with --keep or --dir to keep the folder): deprecator rollback APPLY_ID")
        out("")
        out("What to try next:")
        if kept:
            out(f"  {where}deprecator applies          # the audit log")
            out(f"  {where}deprecator scan --format json")
            out(f"  {where}deprecator plan             # what is left: the blocked view")
            out(f"  {where}deprecator digest --format html --out report.html   # burn-down charts")
            out(f"  {where}deprecator guide customer_facts --stdout           # the migration guide")
        else:
            out("  deprecator demo --dir demo     # keep the folder and explore it (the temporary one is removed)")
        out("  deprecator init                 # set deprecator up for your own warehouse")
        return DemoResult(directory, kept, result.apply_id, len(report.findings),
                          tuple(result.changed), tuple(result.blocked))
    finally:
        if not kept:
            shutil.rmtree(directory, ignore_errors=True)
