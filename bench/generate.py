"""Synthetic query-history exports with realistic shapes, deterministic per seed.

The distinct texts form a pool (about ``distinct_ratio`` of the rows); rows
draw from it with a skewed (Zipf-like) frequency, as real histories do: a few
dashboard queries run thousands of times, most ad-hoc texts run once. Shapes
range from one-line lookups to long CTE chains; a small share mentions a
deprecated relation (in every spelling: qualified, unqualified, upper case,
quoted), and some mention near-miss names (``customer_facts_v2``) that pass
the prefilter but are not references.
"""

from __future__ import annotations

import bisect
import itertools
import re
import random
from pathlib import Path

import orjson

DEPRECATED = ["analytics.customer_facts", "analytics.old_orders", "finance.legacy_revenue"]
REGISTRY_YAML = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
  - model: analytics.old_orders
    replacement: analytics.orders
    sunset: 2027-06-30
  - model: finance.legacy_revenue
    replacement: finance.revenue
    sunset: 2027-01-31
"""

SCHEMAS = ["analytics", "finance", "marketing", "product", "ops", "staging"]
WORDS = ["events", "sessions", "users", "accounts", "orders", "payments", "invoices", "campaigns", "clicks",
         "pageviews", "subscriptions", "plans", "devices", "tickets", "shipments", "inventory", "returns",
         "refunds", "leads", "contacts", "experiments", "features", "errors", "deploys", "builds"]
SUFFIXES = ["", "_daily", "_hourly", "_v2", "_agg", "_raw", "_clean", "_snapshot", "_by_region"]
COLS = ["id", "user_id", "account_id", "created_at", "updated_at", "amount", "status", "region", "country",
        "plan", "channel", "device", "revenue", "cost", "quantity", "event_type", "session_id", "cust_id"]
DEPRECATED_SPELLINGS = {
    "analytics.customer_facts": ["analytics.customer_facts", "customer_facts", "ANALYTICS.CUSTOMER_FACTS",
                                 '"analytics"."customer_facts"', "Analytics.Customer_Facts"],
    "analytics.old_orders": ["analytics.old_orders", "old_orders", "ANALYTICS.OLD_ORDERS"],
    "finance.legacy_revenue": ["finance.legacy_revenue", "FINANCE.legacy_revenue", '"finance".legacy_revenue'],
}
NEAR_MISSES = ["analytics.customer_facts_v2", "staging.old_orders_raw", "finance.legacy_revenue_archive"]


def _tables(rng: random.Random, n: int = 300) -> list[str]:
    out = set()
    while len(out) < n:
        out.add(f"{rng.choice(SCHEMAS)}.{rng.choice(WORDS)}{rng.choice(SUFFIXES)}")
    return sorted(out)


class ShapeGen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tables = _tables(rng)

    def table(self) -> str:
        return self.rng.choice(self.tables)

    def cols(self, k: int, alias: str | None = None) -> str:
        cs = self.rng.sample(COLS, k)
        return ", ".join(f"{alias}.{c}" if alias else c for c in cs)

    def pred(self, alias: str, uid: int) -> str:
        r = self.rng.random()
        c = self.rng.choice(COLS)
        if r < 0.4:
            return f"{alias}.{c} = {uid}"
        if r < 0.7:
            return f"{alias}.created_at >= '2026-{uid % 12 + 1:02d}-{uid % 28 + 1:02d}'"
        return f"{alias}.{c} IN ({', '.join(str(uid + i) for i in range(self.rng.randint(2, 6)))})"

    def lookup(self, t: str, uid: int) -> str:
        return f"SELECT {self.cols(self.rng.randint(1, 4))} FROM {t} WHERE id = {uid}"

    def aggregate(self, t: str, uid: int) -> str:
        t2 = self.table()
        return (f"SELECT a.region, date_trunc('day', a.created_at) AS day, count(*) AS n, sum(b.amount) AS total\n"
                f"FROM {t} a\nJOIN {t2} b ON b.account_id = a.account_id\n"
                f"WHERE {self.pred('a', uid)} AND b.status <> 'void'\nGROUP BY 1, 2\nORDER BY 2 DESC\nLIMIT 100")

    def dashboard(self, t: str, uid: int) -> str:
        others = [self.table() for _ in range(self.rng.randint(1, 3))]
        joins = "\n".join(f"LEFT JOIN {o} j{i} ON j{i}.user_id = f.user_id AND {self.pred(f'j{i}', uid + i)}"
                          for i, o in enumerate(others))
        return (f"-- dashboard tile {uid % 500}\nSELECT f.country,\n"
                f"  CASE WHEN f.amount > 100 THEN 'high' WHEN f.amount > 10 THEN 'mid' ELSE 'low' END AS band,\n"
                f"  count(DISTINCT f.user_id) AS users, avg(f.amount) AS avg_amount\n"
                f"FROM {t} f\n{joins}\nWHERE {self.pred('f', uid)}\nGROUP BY 1, 2\nHAVING count(*) > {uid % 7}")

    def cte_chain(self, t: str, uid: int) -> str:
        n = self.rng.randint(4, 12)
        ctes = [f"step0 AS (\n  SELECT {self.cols(4, 's')}\n  FROM {t} s\n  WHERE {self.pred('s', uid)}\n)"]
        for i in range(1, n):
            other = self.table()
            ctes.append(
                f"step{i} AS (\n  SELECT p.*, o.{self.rng.choice(COLS)} AS c{i}\n  FROM step{i - 1} p\n"
                f"  LEFT JOIN {other} o ON o.id = p.id\n  WHERE {self.pred('o', uid + i)}\n)")
        return ("WITH " + ",\n".join(ctes) + f"\nSELECT * FROM step{n - 1}\nUNION ALL\n"
                f"SELECT * FROM step{n // 2} WHERE c{max(1, n // 2)} IS NOT NULL")

    def insert(self, t: str, uid: int) -> str:
        return (f"INSERT INTO staging.loads_{uid % 50} (id, amount)\nSELECT id, amount FROM {t}\n"
                f"WHERE created_at < '2026-11-{uid % 28 + 1:02d}'")

    SHAPES = [("lookup", 0.40), ("aggregate", 0.25), ("dashboard", 0.20), ("insert", 0.07), ("cte_chain", 0.08)]

    def text(self, uid: int, mention: str | None) -> str:
        r, acc = self.rng.random(), 0.0
        shape = self.SHAPES[-1][0]
        for name, w in self.SHAPES:
            acc += w
            if r < acc:
                shape = name
                break
        t = mention if mention is not None else self.table()
        return getattr(self, shape)(t, uid)


def generate_history(path: Path, rows: int, *, distinct_ratio: float = 0.10, mention_ratio: float = 0.03,
                     users: int = 2000, seed: int = 42) -> dict:
    """Write ``rows`` JSONL rows to ``path``; return what was generated (for the report)."""
    rng = random.Random(seed)
    gen = ShapeGen(rng)
    n_distinct = max(1, int(rows * distinct_ratio))
    pool: list[bytes] = []
    mentions = near = 0
    for uid in range(n_distinct):
        r = rng.random()
        mention = None
        if r < mention_ratio:
            dep = rng.choice(DEPRECATED)
            mention = rng.choice(DEPRECATED_SPELLINGS[dep])
            mentions += 1
        elif r < mention_ratio * 1.5:
            mention = rng.choice(NEAR_MISSES)
            near += 1
        pool.append(orjson.dumps(gen.text(uid, mention)))
    rng.shuffle(pool)
    # Zipf-like popularity: weight 1/(rank+10); every distinct text appears at least once.
    weights = list(itertools.accumulate(1.0 / (i + 10) for i in range(n_distinct)))
    total = weights[-1]
    user_names = [orjson.dumps(f"user_{i:05d}") for i in range(users)]
    base = 1_793_000_000  # 2026-10-26
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        buf = []
        for i in range(rows):
            idx = i if i < n_distinct else bisect.bisect_left(weights, rng.random() * total)
            ts = base + i * 2
            buf.append(b'{"query_text":' + pool[idx] + b',"user_name":' + user_names[rng.randrange(users)]
                       + b',"start_time":"' + _iso(ts) + b'","warehouse":"wh_' + str(idx % 4).encode() + b'"}\n')
            if len(buf) >= 10_000:
                fh.writelines(buf)
                buf = []
        fh.writelines(buf)
    return {"rows": rows, "distinct": n_distinct, "mentioning": mentions, "near_misses": near, "users": users}


def _iso(epoch: int) -> bytes:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()


# -- "a popular table is retired": most texts read a deprecated relation ----------
POPULAR_DEPRECATIONS = 63


class PopularShapeGen(ShapeGen):
    """The main table of each text is drawn with a skewed popularity (weight 1/(rank+4)), as in a
    warehouse where a few fact tables feed most dashboards; joined tables are drawn uniformly from
    the others (dimensions), one in ten from all tables. The ``top`` most-read tables are the ones deprecated."""

    def __init__(self, rng: random.Random, top: int) -> None:
        super().__init__(rng)
        self.by_rank = list(self.tables)
        rng.shuffle(self.by_rank)
        self.others = self.by_rank[top:]
        self.cum = list(itertools.accumulate(1.0 / (i + 4) for i in range(len(self.by_rank))))

    def table(self) -> str:
        return self.rng.choice(self.tables if self.rng.random() < 0.1 else self.others)

    def popular(self) -> str:
        t = self.by_rank[bisect.bisect_left(self.cum, self.rng.random() * self.cum[-1])]
        # Unqualified names in the default schema (analytics), now and then, as people write them.
        if t.startswith("analytics.") and self.rng.random() < 0.2:
            return t.split(".", 1)[1]
        return t


def popular_registry_yaml(deprecated: list[str]) -> str:
    lines = ["deprecations:"]
    for model in deprecated:
        lines += [f"  - model: {model}", f"    replacement: {model}_next", "    sunset: 2027-03-31"]
    return "\n".join(lines) + "\n"


def generate_popular_history(path: Path, rows: int, *, deprecations: int = POPULAR_DEPRECATIONS,
                             distinct_ratio: float = 0.10, users: int = 2000, seed: int = 42) -> dict:
    """Like :func:`generate_history`, but the ``deprecations`` most-read tables are deprecated, so most
    distinct texts read one of them. Writes the registry next to ``path`` (``.registry.yml``) and
    returns what was generated, with the expected candidate texts and findings (distinct text x user x
    deprecated relation the text names)."""
    rng = random.Random(seed)
    gen = PopularShapeGen(rng, deprecations)
    deprecated = sorted(gen.by_rank[:deprecations])
    # Each deprecated relation as written: qualified, or (analytics, the default schema) bare; whole words.
    patterns = [(t, re.compile(rf"(?<![\w.])({re.escape(t)}" + (rf"|{re.escape(t.split('.', 1)[1])}" if
                 t.startswith("analytics.") else "") + r")(?!\w)")) for t in deprecated]
    n_distinct = max(1, int(rows * distinct_ratio))
    pool: list[bytes] = []
    deps_of: list[int] = []     # per pool entry: how many deprecated relations it reads
    for uid in range(n_distinct):
        text = gen.text(uid, gen.popular())
        found = sum(1 for t, pat in patterns if pat.search(text))
        pool.append(orjson.dumps(text))
        deps_of.append(found)
    order = list(range(n_distinct))
    rng.shuffle(order)
    pool = [pool[i] for i in order]
    deps_of = [deps_of[i] for i in order]
    weights = list(itertools.accumulate(1.0 / (i + 10) for i in range(n_distinct)))
    total = weights[-1]
    user_names = [orjson.dumps(f"user_{i:05d}") for i in range(users)]
    pairs: set[int] = set()
    base = 1_793_000_000
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        buf = []
        for i in range(rows):
            idx = i if i < n_distinct else bisect.bisect_left(weights, rng.random() * total)
            u = rng.randrange(users)
            if deps_of[idx]:
                pairs.add(idx * users + u)
            buf.append(b'{"query_text":' + pool[idx] + b',"user_name":' + user_names[u]
                       + b',"start_time":"' + _iso(base + i * 2) + b'","warehouse":"wh_' + str(idx % 4).encode() + b'"}\n')
            if len(buf) >= 10_000:
                fh.writelines(buf)
                buf = []
        fh.writelines(buf)
    path.with_suffix(".registry.yml").write_text(popular_registry_yaml(deprecated))
    return {"rows": rows, "distinct": n_distinct, "deprecations": len(deprecated),
            "candidates_expected": sum(1 for d in deps_of if d),
            "findings_expected": sum(deps_of[p // users] for p in pairs), "users": users}
