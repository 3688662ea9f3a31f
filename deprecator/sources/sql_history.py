"""Query history from any SQLAlchemy warehouse, with the work pushed down to the warehouse.

The user supplies a query returning ``query_text, user_name, start_time``
(over Snowflake ``ACCOUNT_USAGE.QUERY_HISTORY``, BigQuery
``INFORMATION_SCHEMA.JOBS``, Redshift ``SYS_QUERY_HISTORY``, a table of their
own...). deprecator wraps it in ONE query that

* keeps only texts that could mention a deprecated relation (a case-insensitive
  substring test on each bare relation name, LIKE wildcards escaped), and
* groups identical texts per user and ISO week (where the warehouse's SQL for
  "the week's Monday" is known), with the count and first/last start time,

so millions of history rows cost one query on the warehouse and only the
distinct candidate texts travel to deprecator and get parsed. This is how
deprecator scales with the warehouse: the warehouse does the filtering and
counting it is built for, deprecator parses what is left.

The prefilter never drops a true reference: any text naming a relation
contains its bare name (quoted names with ``"`` also as ``""``), whatever the
case or qualification, or an escaped identifier that may spell any name and so
always passes, as in ``deprecator.prefilter``: a PostgreSQL Unicode identifier
(``U&"``), a BigQuery backtick identifier with backslash escapes (a backtick,
later a backslash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from deprecator.errors import ConfigError, SourceError
from deprecator.prefilter import UNICODE_IDENTIFIER, spellings
from deprecator.redact import mask_url, redact
from deprecator.sources.base import SourceItem, SqlText, parse_timestamp
from deprecator.sql.model import RelationName
from deprecator.db import create_engine, is_own_statement

REQUIRED_COLUMNS = ("query_text", "user_name", "start_time")


def name_needles(names: Iterable[str | RelationName]) -> list[str]:
    """Lower-cased substrings a text must contain (one of) to possibly reference ``names``.

    ``u&"`` is one of them whenever there is a name: a Unicode identifier may spell any name.
    """
    out: set[str] = set()
    for n in names:
        # lower(), not casefold(): the warehouse's LIKE/ILIKE compares lower-cased text
        out |= spellings(n.name if isinstance(n, RelationName) else str(n), str.lower)
    if out:
        out.add(UNICODE_IDENTIFIER)
    # a needle containing another is redundant (the shorter already matches)
    return sorted(n for n in out if not any(o != n and o in n for o in out))


def _like_pattern(needle: str) -> str:
    """``%needle%`` for PostgreSQL's LIKE, whose default escape character is the backslash."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def pushed_down_query(user_query: str, names: Iterable[str | RelationName] | None,
                      dialect: str | None = None) -> sa.Select[Any]:
    """The wrapping query: filter on the bare names, group by text and user.

    ``names`` None means no filter (every text, grouped). Values are bind
    parameters; the user's query is embedded as a subquery, unchanged.
    ``dialect`` is SQLAlchemy's name for the warehouse (``postgresql``, ...):
    on PostgreSQL the filter is ``lower(query_text COLLATE "C") LIKE ANY
    (patterns)``, one ASCII-only fold per row, as PostgreSQL folds unquoted
    identifiers (several times faster than one Unicode ILIKE per name under a
    non-C locale); names with non-ASCII characters keep ILIKE.
    """
    inner = sa.text(user_query.strip().rstrip(";")).columns(
        sa.column("query_text"), sa.column("user_name"), sa.column("start_time"),
    ).subquery("deprecator_history")
    qt, user, start = inner.c.query_text, inner.c.user_name, inner.c.start_time
    week = week_expression(start, dialect)
    group: list[Any] = [qt, user] + ([week] if week is not None else [])
    stmt = sa.select(
        qt.label("query_text"), user.label("user_name"),
        sa.func.count().label("n"), sa.func.min(start).label("first_seen"), sa.func.max(start).label("last_seen"),
    ).select_from(inner)
    if names is not None:
        needles = name_needles(names)
        if not needles:
            return stmt.where(sa.false()).group_by(*group)
        conds: list[Any] = []
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import ARRAY

            ascii_needles = [n for n in needles if n.isascii()]
            if ascii_needles:
                conds.append(sa.func.lower(qt.collate("C")).like(sa.any_(sa.bindparam(
                    "deprecator_needles", [_like_pattern(n) for n in ascii_needles], type_=ARRAY(sa.Text)))))
            needles = [n for n in needles if not n.isascii()]
            # `customer\x5ffacts` may spell any name: a backslash and a backtick. strpos() is the cheap
            # test (a LIKE '%`%\\%' rescans the text after every backtick; measured 12% slower)
            conds.append(sa.and_(sa.func.strpos(qt, "\\") > 0, sa.func.strpos(qt, "`") > 0))
        else:
            conds.append(sa.and_(qt.contains("\\", autoescape=True), qt.contains("`", autoescape=True)))
        if dialect == "bigquery":
            # a wildcard table (`p.d.events_2023*`) may read a deprecated table it does not name
            conds.append(qt.contains("*`", autoescape=True))
        # icontains: ILIKE on PostgreSQL, lower() LIKE lower() elsewhere; autoescape escapes % and _
        conds.extend(qt.icontains(n, autoescape=True) for n in needles)
        stmt = stmt.where(sa.or_(*conds))
    return stmt.group_by(*group)


def week_expression(start: Any, dialect: str | None) -> Any | None:
    """The Monday of ``start``'s ISO week, in the warehouse's SQL; None where not known.

    Grouping by it as well keeps each row's first and last time inside one week, so
    the scan can count uses per ISO week from the rows' own timestamps (the weekly
    digest) without fetching every row. Snowflake's DATE_TRUNC('WEEK') follows the
    session's WEEK_START, which is Monday by default.
    """
    if dialect in ("postgresql", "redshift", "duckdb", "snowflake"):
        return sa.func.date_trunc("week", start)
    if dialect == "bigquery":
        return sa.func.date_trunc(sa.func.date(start), sa.literal_column("ISOWEEK"))
    if dialect == "sqlite":
        return sa.func.date(start, "weekday 0", "-6 days")
    return None


@dataclass
class SqlHistorySource:
    """History read through a user-supplied query, filtered and grouped by the warehouse."""

    url: str
    query: str
    names: Iterable[str | RelationName] | None      # deprecated relations (bare names are used)
    params: Mapping[str, Any] | None = None         # bind parameters the user's query takes
    engine: Engine | None = None
    kind: str = "sql"
    # deprecator's own roles (warehouse.own_roles): their statements are not usage, nor are
    # texts carrying deprecator's marker comment (a query log keeps what deprecator sent)
    own_roles: Sequence[str] = ()

    @property
    def name(self) -> str:
        return mask_url(self.url)

    def read(self) -> Iterator[SourceItem]:
        if not self.query or not self.query.strip():
            raise SourceError(f"{self.name}: the history query is empty",
                              hint="set `query:` to a SELECT returning query_text, user_name, start_time")
        names = list(self.names) if self.names is not None else None
        engine = self.engine or create_engine(self.url)
        stmt = pushed_down_query(self.query, names, engine.dialect.name)
        own = set(self.own_roles)
        obj = f"sql history ({self.name})"
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn = conn.execution_options(postgresql_readonly=True)
                # No server-side cursor: the grouped candidates are small by design, and PostgreSQL
                # never runs a cursor's query in parallel (measured 2x slower in bench/PG_RESULTS.md).
                with conn.begin():
                    result = conn.execute(stmt, dict(self.params or {}))
                    for row in result:
                        text = row.query_text
                        if text is None or is_own_statement(str(text)) or (
                                row.user_name is not None and str(row.user_name) in own):
                            continue
                        yield SqlText(
                            text=str(text), source=self.kind, object=obj,
                            user=None if row.user_name is None else str(row.user_name),
                            count=int(row.n),
                            first_seen=_ts(row.first_seen), last_seen=_ts(row.last_seen),
                        )
        except sa.exc.DBAPIError as e:
            raise SourceError(
                f"{obj}: the history query failed: {redact(str(e.orig).strip())}",
                hint="the query must return the columns query_text, user_name, start_time",
            ) from None
        finally:
            if self.engine is None:
                engine.dispose()


def _ts(value: Any) -> Any:
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def from_config(config: Any, history: Any) -> SqlHistorySource:
    """Build the source from a ``history: - type: sql`` entry of deprecator.yml.

    Options: ``query`` (required), ``url`` (default: the warehouse URL),
    ``params`` (bind parameters of the query). The prefilter uses the bare
    names of every deprecation in the registry.
    """
    opts = dict(history.options or {})
    where = dict(path=str(config.path) if config.path else None, line=history.line)
    query = opts.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("a sql history source needs `query:` returning query_text, user_name, start_time",
                          field="query", **where)
    url = opts.get("url") or config.warehouse.url
    if not url:
        raise ConfigError("a sql history source needs `url:` or a configured warehouse.url", field="url", **where)
    params = opts.get("params")
    if params is not None and not isinstance(params, dict):
        raise ConfigError("`params:` must be a mapping of bind parameter names to values", field="params", **where)
    unknown = sorted(set(opts) - {"query", "url", "params"})
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} for a sql history source", field=unknown[0], **where)
    names = sorted(config.load_registry().names_for_prefilter())
    return SqlHistorySource(str(url), query, names, params=params, own_roles=config.warehouse.own_roles)
