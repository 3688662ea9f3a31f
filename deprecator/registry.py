"""Deprecations as code: the records, deprecations.yml loading/validation, dbt import.

(Loading, validation, chain resolution and editing are implemented below the
record types.)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal, Mapping, Sequence

from deprecator.errors import ConfigError, RegistryError

if TYPE_CHECKING:   # for annotations only: the registry imports the SQL engine where it uses it
    from deprecator.sql.model import RelationName, RewriteRule

Stage = Literal["announced", "deprecated", "sunset passed"]


@dataclass(frozen=True)
class Deprecation:
    model: str                          # exactly as registered, e.g. "analytics.customer_facts"
    replacement: str                    # as registered (the direct replacement)
    sunset: _dt.date
    announced: _dt.date | None = None
    reason: str | None = None
    owner: str | None = None
    contact: str | None = None
    migration_guide: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    removed_columns: tuple[str, ...] = ()
    final_replacement: str | None = None   # end of the chain A->B->C (C); set by the loader
    origin: Literal["registry", "dbt"] = "registry"
    path: str | None = None             # file it came from
    line: int | None = None             # 1-based line of the entry
    # Column mapping from this model straight to final_replacement, composed
    # along the chain (set by the loader; None = same as columns/removed_columns).
    final_columns: Mapping[str, str] | None = None
    final_removed_columns: tuple[str, ...] | None = None
    # The model was already dropped from the warehouse (only query history still
    # knows it): it is not looked for in the catalog, and its absence is expected.
    dropped: bool = False

    def __hash__(self) -> int:
        # The generated hash would fail on the columns dict; these fields are enough
        # (equal records have equal values here), so records can key dicts and sets.
        return hash((self.model, self.replacement, self.sunset, self.origin, self.path, self.line))

    @property
    def target(self) -> str:
        """The replacement to migrate to: the end of the chain."""
        return self.final_replacement or self.replacement

    def plan_content(self) -> dict[str, Any]:
        """What of this record shapes a plan (names, dates, columns); texts and position do not."""
        return {
            "model": self.model,
            "replacement": self.replacement,
            "final_replacement": self.target,
            "sunset": self.sunset.isoformat(),
            "announced": self.announced.isoformat() if self.announced else None,
            "columns": sorted(self.columns.items()),
            "removed_columns": sorted(self.removed_columns),
            "final_columns": sorted(self.target_columns.items()),
            "final_removed_columns": sorted(self.target_removed_columns),
            "origin": self.origin,
        }

    def fingerprint(self) -> str:
        """sha256 of ``plan_content``: changes exactly when this deprecation would plan differently."""
        return _sha256_json(self.plan_content())

    @property
    def target_columns(self) -> Mapping[str, str]:
        """Old column -> column of the final replacement (composed along the chain)."""
        return self.columns if self.final_columns is None else self.final_columns

    @property
    def target_removed_columns(self) -> tuple[str, ...]:
        """Columns with no equivalent in the final replacement."""
        return self.removed_columns if self.final_removed_columns is None else self.final_removed_columns

    def stage(self, today: _dt.date) -> Stage:
        if today > self.sunset:
            return "sunset passed"
        if self.announced is not None and today < self.announced:
            return "announced"
        return "deprecated"

    def days_to_sunset(self, today: _dt.date) -> int:
        return (self.sunset - today).days

    def to_dict(self, today: _dt.date | None = None) -> dict[str, Any]:
        """A JSON-ready dict with stable keys (the `deprecator list --format json` contract)."""
        d: dict[str, Any] = {
            "model": self.model,
            "replacement": self.replacement,
            "final_replacement": self.target,
            "sunset": self.sunset.isoformat(),
            "announced": self.announced.isoformat() if self.announced else None,
            "reason": self.reason,
            "owner": self.owner,
            "contact": self.contact,
            "migration_guide": self.migration_guide,
            "columns": dict(self.columns),
            "removed_columns": list(self.removed_columns),
            "final_columns": dict(self.target_columns),
            "final_removed_columns": list(self.target_removed_columns),
            "origin": self.origin,
            "path": self.path,
            "line": self.line,
            "dropped": self.dropped,
        }
        if today is not None:
            d["stage"] = self.stage(today)
            d["days_to_sunset"] = self.days_to_sunset(today)
        return d


ENTRY_KEYS = (
    "model", "replacement", "sunset", "announced", "reason", "owner", "contact",
    "migration_guide", "columns", "removed_columns", "dropped",
)
REQUIRED_KEYS = ("model", "replacement", "sunset")
TEXT_KEYS = ("reason", "owner", "contact", "migration_guide")
TOP_LEVEL_KEYS = ("deprecations",)


def _sha256_json(content: Any) -> str:
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def today(override: str | _dt.date | None = None) -> _dt.date:
    """Today's date, or an override (``--today`` / ``DEPRECATOR_TODAY``) for reproducible output."""
    value = override if override is not None else os.environ.get("DEPRECATOR_TODAY") or None
    if value is None:
        return _dt.date.today()
    if isinstance(value, _dt.date):
        return value
    parsed, problem = _parse_date(value)
    if parsed is None:
        raise ConfigError(f"{problem}", field="today")
    return parsed


# --------------------------------------------------------------------------- names

def _relation(text: str, dialect: str, default_schema: Sequence[str], default_catalog: str | None) -> RelationName:
    """Normalized RelationName of a registered name; ValueError with a reason when it is not one."""
    return _relation_cached(text, dialect, tuple(default_schema), default_catalog)


@lru_cache(maxsize=4096)
def _relation_cached(text: str, dialect: str, default_schema: tuple[str, ...], default_catalog: str | None,
                     ) -> RelationName:
    from deprecator.sql.plain_names import plain_relation

    # Plain identifiers need no parser (`deprecator list` loads none); sqlglot answers the rest.
    plain = plain_relation(text, dialect, default_schema, default_catalog)
    return plain if plain is not None else _parsed_relation(text, dialect, default_schema, default_catalog)


def _parsed_relation(text: str, dialect: str, default_schema: tuple[str, ...], default_catalog: str | None,
                     ) -> RelationName:
    """``_relation`` by sqlglot's parser: any spelling, and the reason when it is not a name."""
    from sqlglot import exp

    from deprecator.sql.names import normalize_relation

    s = text.strip()
    if not s:
        raise ValueError("is empty")
    try:
        table = exp.to_table(s, dialect=dialect)
    except Exception as e:  # sqlglot raises several error types here
        raise ValueError(f"is not a relation name ({e})") from None
    has_quotes = any(q in s for q in '"`[')
    for key in ("this", "db", "catalog"):
        node = table.args.get(key)
        if node is None:
            continue
        if not isinstance(node, exp.Identifier) or not node.name:
            raise ValueError("is not a relation name (expected [catalog.]schema.name)")
        # sqlglot quotes parts that are not identifiers ("a b", "a-b") silently.
        if node.quoted and not has_quotes and dialect != "bigquery":
            raise ValueError("is not a relation name (quote parts that are not plain identifiers)")
    return normalize_relation(s, dialect, tuple(default_schema), default_catalog)


@lru_cache(maxsize=16384)
def _column_key(name: str, dialect: str) -> str:
    """How a column name compares in ``dialect``: the SQL identifier as written (quoted names keep
    their case, unquoted ones fold), see ``deprecator.sql.names.column_name``."""
    from deprecator.sql.plain_names import plain_column

    plain = plain_column(name, dialect)
    if plain is not None:
        return plain
    from deprecator.sql.names import column_name, normalize_part

    try:
        return column_name(name, dialect)
    except ValueError:   # reported by validation; compare it as typed
        return normalize_part(name.strip(), False, dialect, table_part=False)


def _column_problem(name: str, dialect: str) -> str | None:
    """Why ``name`` is not a column spelling of ``dialect`` (None when it is one)."""
    from deprecator.sql.plain_names import plain_column

    if plain_column(name, dialect) is not None:
        return None
    from deprecator.sql.names import column_name

    try:
        column_name(name, dialect)
    except ValueError as e:
        return str(e)
    return None


# --------------------------------------------------------------------------- dates

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(value: Any) -> tuple[_dt.date | None, str]:
    """(date, "") or (None, why it is not a date)."""
    if isinstance(value, _dt.datetime):
        return None, f"expected a date (YYYY-MM-DD), got a timestamp {value.isoformat()!s}"
    if isinstance(value, _dt.date):
        return value, ""
    if isinstance(value, str):
        s = value.strip()
        if _ISO_DATE.match(s):
            try:
                return _dt.date.fromisoformat(s), ""
            except ValueError as e:
                return None, f"{s!r} is not a real date ({e})"
        return None, f"{value!r} is not a date; write it as YYYY-MM-DD"
    if value is None:
        return None, "is empty; expected a date (YYYY-MM-DD)"
    return None, f"expected a date (YYYY-MM-DD), got {_type_name(value)} {value!r}"


def _type_name(value: Any) -> str:
    from deprecator.yamlio import type_name

    return type_name(value)


# --------------------------------------------------------------------------- the registry value

@dataclass(frozen=True)
class Registry:
    """The validated deprecations, in file order, with chains resolved."""

    deprecations: tuple[Deprecation, ...]
    path: Path | None = None
    dialect: str = "postgres"
    default_schema: tuple[str, ...] = ()
    default_catalog: str | None = None

    def __len__(self) -> int:
        return len(self.deprecations)

    def __iter__(self) -> Iterator[Deprecation]:
        return iter(self.deprecations)

    def fingerprint(self) -> str:
        """sha256 of the normalized content that shapes a plan (names, dates, columns).

        Comments, formatting, and the reason/owner/contact/guide texts do not change it.
        """
        return _sha256_json([d.plan_content() for d in self.deprecations])

    def _schema_catalog(
        self, dialect: str | None, default_schema: Sequence[str] | str | None, default_catalog: str | None
    ) -> tuple[str, tuple[str, ...], str | None]:
        d = dialect or self.dialect
        if default_schema is None:
            schema = self.default_schema
        elif isinstance(default_schema, str):
            schema = (default_schema,)
        else:
            schema = tuple(default_schema)
        catalog = self.default_catalog if default_catalog is None else default_catalog
        return d, schema, catalog

    def rewrite_rules(
        self,
        dialect: str | None = None,
        default_schema: Sequence[str] | str | None = None,
        default_catalog: str | None = None,
    ) -> list[RewriteRule]:
        """One RewriteRule per deprecation: old model -> final replacement, columns composed."""
        from deprecator.sql.model import RewriteRule

        d, schema, catalog = self._schema_catalog(dialect, default_schema, default_catalog)
        rules = []
        for dep in self.deprecations:
            rules.append(
                RewriteRule(
                    old=_relation(dep.model, d, schema, catalog),
                    new=_relation(dep.target, d, schema, catalog),
                    columns=dict(dep.target_columns),
                    removed_columns=frozenset(dep.target_removed_columns),
                    label=dep.model,
                )
            )
        return rules

    def relation_of(
        self, name: str, dialect: str | None = None, default_schema: Sequence[str] | str | None = None,
        default_catalog: str | None = None,
    ) -> RelationName:
        """``name`` (a registered model or replacement) as a normalized RelationName."""
        d, schema, catalog = self._schema_catalog(dialect, default_schema, default_catalog)
        return _relation(name, d, schema, catalog)

    def by_relation(self, relation: RelationName) -> Deprecation | None:
        """The deprecation of ``relation`` (a normalized RelationName), or None."""
        # Only a name with the same bare name can match (RelationName.matches): look among those,
        # in registry order, instead of every deprecation (a scan asks once per reference).
        by_name = self.__dict__.get("_by_name")
        if by_name is None:
            by_name = {}
            for dep, name in zip(self.deprecations, self._normalized()):
                by_name.setdefault(name.name, []).append((dep, name))
            object.__setattr__(self, "_by_name", by_name)
        for dep, name in by_name.get(relation.name, ()):
            if name.matches(relation):
                return dep
        return None

    def by_model(self, model: str) -> Deprecation | None:
        """The deprecation registered for ``model`` (any spelling of the same relation)."""
        try:
            rel = _relation(model, self.dialect, self.default_schema, self.default_catalog)
        except ValueError:
            return None
        return self.by_relation(rel)

    def names_for_prefilter(self) -> frozenset[str]:
        """Every deprecated model's bare table name, lower-cased, for a cheap text test."""
        return frozenset(name.name.lower() for name in self._normalized())

    def _normalized(self) -> tuple[RelationName, ...]:
        cached = self.__dict__.get("_names")
        if cached is None:
            cached = tuple(
                _relation(d.model, self.dialect, self.default_schema, self.default_catalog)
                for d in self.deprecations
            )
            object.__setattr__(self, "_names", cached)
        return cached


# --------------------------------------------------------------------------- loading and validation

def load_registry(
    path: str | os.PathLike[str],
    dialect: str,
    default_schema: Sequence[str] | str = (),
    default_catalog: str | None = None,
) -> Registry:
    """Load and validate deprecations.yml; raise RegistryError listing every problem."""
    from deprecator.yamlio import read_config_file

    p = Path(path)
    text = read_config_file(p, "registry",
                            "run `deprecator init` to create one, or set `registry:` in deprecator.yml")
    return parse_registry(text, str(p), dialect, default_schema, default_catalog, file_path=p)


def parse_registry(
    text: str,
    path: str,
    dialect: str,
    default_schema: Sequence[str] | str = (),
    default_catalog: str | None = None,
    *,
    file_path: Path | None = None,
) -> Registry:
    """Validate registry YAML text (``path`` names it in errors)."""
    from deprecator.yamlio import load_yaml_text

    schema = (default_schema,) if isinstance(default_schema, str) else tuple(default_schema)
    data = load_yaml_text(text, path)
    deps, problems = _validate(data, path, dialect, schema, default_catalog)
    if problems:
        raise RegistryError(sorted(problems, key=lambda e: e.line if e.line is not None else 1 << 30))
    return Registry(tuple(deps), file_path, dialect, schema, default_catalog)


@dataclass
class _Checker:
    """Collects the problems of one registry file: every one is reported, none stops the load."""

    path: str
    dialect: str
    schema: tuple[str, ...]
    catalog: str | None
    problems: list[ConfigError] = field(default_factory=list)

    def report(self, msg: str, line: int | None, fld: str | None = None, hint: str | None = None) -> None:
        self.problems.append(ConfigError(msg, path=self.path, line=line, field=fld, hint=hint))


@dataclass
class _Entry:
    """One item of ``deprecations:`` under validation; a rejected one becomes no Deprecation."""

    node: dict[str, Any]
    label: str                          # the model as written, or "entry N"
    check: _Checker
    ok: bool = True

    def reject(self, msg: str, line: int | None, fld: str) -> None:
        self.check.report(msg, line, fld)
        self.ok = False


def _validate(
    data: Any, path: str, dialect: str, schema: tuple[str, ...], catalog: str | None
) -> tuple[list[Deprecation], list[ConfigError]]:
    check = _Checker(path, dialect, schema, catalog)
    entries = _entries(data, check)
    # (deprecation, normalized model, normalized replacement)
    parsed: list[tuple[Deprecation, Any, Any]] = []
    for i in range(len(entries)):
        found = _entry(entries, i, check)
        if found is not None:
            parsed.append(found)
    resolved, cycle_problems = _resolve_chains(_first_of_each(parsed, check), dialect)
    for msg, line in cycle_problems:
        check.report(msg, line, "replacement")
    return resolved, check.problems


def _entries(data: Any, check: _Checker) -> Any:
    """The ``deprecations:`` list ([] when there is none or the file's shape is wrong)."""
    from deprecator.yamlio import key_line, node_line, suggest, type_name, value_line

    if data is None:
        return []
    if not isinstance(data, dict):
        check.report(f"expected a mapping with a `deprecations:` list, got {type_name(data)}", node_line(data) or 1)
        return []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            check.report(f"unknown top-level key `{key}`", key_line(data, key), str(key),
                         hint=suggest(str(key), TOP_LEVEL_KEYS) or "the only top-level key is `deprecations`")
    entries = data.get("deprecations")
    if entries is None:
        return []
    if not isinstance(entries, list):
        check.report(f"expected a list of deprecations, got {type_name(entries)}",
                     value_line(data, "deprecations"), "deprecations")
        return []
    return entries


def _entry(entries: Any, i: int, check: _Checker) -> tuple[Deprecation, Any, Any] | None:
    """Entry ``i`` as (deprecation, normalized model, normalized replacement), or None with its problems."""
    from deprecator.yamlio import item_line, type_name, value_line

    where = item_line(entries, i)
    node = entries[i]
    if not isinstance(node, dict):
        check.report(f"entry {i + 1}: expected a mapping with model/replacement/sunset, got {type_name(node)}",
                     where, "deprecations")
        return None
    model = node.get("model")
    e = _Entry(node, model if isinstance(model, str) else f"entry {i + 1}", check)
    _entry_keys(e)
    names = _entry_names(e)
    dates = _entry_dates(e)
    texts = _entry_texts(e)
    columns = _entry_columns(e)
    removed = _entry_removed_columns(e)
    _entry_renamed_and_removed(e, columns, removed)
    if "model" in names and "replacement" in names and names["model"].matches(names["replacement"]):
        e.reject(f"{node['model']} is replaced by itself ({node['replacement']})",
                 value_line(node, "replacement"), "replacement")
    dropped = _entry_dropped(e)
    announced = dates.get("announced")
    sunset = dates.get("sunset")
    if announced and sunset and announced > sunset:
        e.reject(f"announced {announced.isoformat()} is after the sunset {sunset.isoformat()}",
                 value_line(node, "announced"), "announced")
    if not e.ok or sunset is None:
        return None
    dep = Deprecation(
        model=str(node["model"]).strip(),
        replacement=str(node["replacement"]).strip(),
        sunset=sunset,
        announced=announced,
        reason=texts.get("reason"),
        owner=texts.get("owner"),
        contact=texts.get("contact"),
        migration_guide=texts.get("migration_guide"),
        columns=columns,
        removed_columns=tuple(removed),
        path=check.path,
        line=where,
        dropped=dropped,
    )
    return dep, names["model"], names["replacement"]


def _entry_keys(e: _Entry) -> None:
    """Unknown keys are reported (the entry still counts); a missing required one rejects it."""
    from deprecator.yamlio import key_line, node_line, suggest

    for key in e.node:
        if key not in ENTRY_KEYS:
            e.check.report(f"unknown key `{key}` in {e.label}", key_line(e.node, key), str(key),
                           hint=suggest(str(key), ENTRY_KEYS))
    for key in REQUIRED_KEYS:
        if e.node.get(key) is None:
            e.reject(f"missing `{key}` in {e.label}",
                     key_line(e.node, key) if key in e.node else node_line(e.node), key)


def _entry_names(e: _Entry) -> dict[str, Any]:
    """``model`` and ``replacement`` as normalized relation names (those that are valid)."""
    from deprecator.yamlio import type_name, value_line

    names: dict[str, Any] = {}
    for key in ("model", "replacement"):
        value = e.node.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            e.reject(f"expected a relation name (text), got {type_name(value)}", value_line(e.node, key), key)
            continue
        try:
            names[key] = _relation(value, e.check.dialect, e.check.schema, e.check.catalog)
        except ValueError as why:
            e.reject(f"{value!r} {why}", value_line(e.node, key), key)
    return names


def _entry_dates(e: _Entry) -> dict[str, _dt.date | None]:
    """``sunset`` and ``announced`` (a missing sunset is reported by ``_entry_keys``)."""
    from deprecator.yamlio import value_line

    dates: dict[str, _dt.date | None] = {}
    for key in ("sunset", "announced"):
        if e.node.get(key) is None:
            continue
        d, why = _parse_date(e.node[key])
        if d is None:
            e.reject(why, value_line(e.node, key), key)
        dates[key] = d
    return dates


def _entry_texts(e: _Entry) -> dict[str, str]:
    """reason, owner, contact, migration_guide: any scalar, as text."""
    from deprecator.yamlio import type_name, value_line

    texts: dict[str, str] = {}
    for key in TEXT_KEYS:
        value = e.node.get(key)
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            e.reject(f"expected text, got {type_name(value)}", value_line(e.node, key), key)
            continue
        texts[key] = str(value)
    return texts


def _entry_columns(e: _Entry) -> dict[str, str]:
    """``columns:`` old -> new, each a column spelling of the dialect."""
    from deprecator.yamlio import key_line, type_name, value_line

    cols = e.node.get("columns")
    if cols is None:
        return {}
    if not isinstance(cols, dict):
        e.reject(f"expected a mapping of old column -> new column, got {type_name(cols)}",
                 value_line(e.node, "columns"), "columns")
        return {}
    columns: dict[str, str] = {}
    for old, new in cols.items():
        if not isinstance(old, str) or not isinstance(new, str) or not str(new).strip():
            e.reject(f"column `{old}` must map to a column name, got {type_name(new)}",
                     key_line(cols, old), f"columns.{old}")
            continue
        bad = _column_problem(old, e.check.dialect)
        if bad is None and (bad := _column_problem(new, e.check.dialect)) is not None:
            bad = f"{old} maps to a name that is not one: {bad}"
        if bad is not None:
            from deprecator.sql.names import quote_part

            e.reject(f"column {bad} (in YAML, a quoted name goes inside single quotes: "
                     f"'{quote_part('Cust ID', e.check.dialect)}': customer_id)", key_line(cols, old),
                     f"columns.{old}")
            continue
        columns[str(old)] = str(new)
    return columns


def _entry_removed_columns(e: _Entry) -> list[str]:
    """``removed_columns:``, each a column spelling of the dialect."""
    from deprecator.yamlio import item_line, type_name, value_line

    rc = e.node.get("removed_columns")
    if rc is None:
        return []
    if not isinstance(rc, list):
        e.reject(f"expected a list of column names, got {type_name(rc)}",
                 value_line(e.node, "removed_columns"), "removed_columns")
        return []
    removed: list[str] = []
    for j, c in enumerate(rc):
        if not isinstance(c, str) or not c.strip():
            e.reject(f"expected a column name, got {type_name(c)}", item_line(rc, j), f"removed_columns[{j}]")
        elif (bad := _column_problem(c, e.check.dialect)) is not None:
            e.reject(f"column {bad}", item_line(rc, j), f"removed_columns[{j}]")
        else:
            removed.append(str(c))
    return removed


def _entry_renamed_and_removed(e: _Entry, columns: dict[str, str], removed: list[str]) -> None:
    """A column cannot be both renamed and removed."""
    from deprecator.yamlio import item_line

    dialect = e.check.dialect
    renamed_keys = {_column_key(c, dialect): c for c in columns}
    for j, c in enumerate(removed):
        old = renamed_keys.get(_column_key(c, dialect))
        if old is not None:
            e.reject(f"column `{c}` is both renamed (columns: {old} -> {columns[old]}) and removed",
                     item_line(e.node["removed_columns"], j), "removed_columns")


def _entry_dropped(e: _Entry) -> bool:
    """``dropped:`` true or false (absent or empty: false)."""
    from deprecator.yamlio import type_name, value_line

    dropped = e.node.get("dropped", False)
    if dropped is None:
        return False
    if not isinstance(dropped, bool):
        e.reject(f"expected true or false, got {type_name(dropped)} {dropped!r}", value_line(e.node, "dropped"),
                 "dropped")
        return False
    return dropped


def _first_of_each(
    parsed: list[tuple[Deprecation, Any, Any]], check: _Checker
) -> list[tuple[Deprecation, Any, Any]]:
    """The entries without duplicates (the same relation after normalization), each duplicate reported."""
    kept: list[tuple[Deprecation, Any, Any]] = []
    seen: dict[tuple[Any, Any], list[tuple[Deprecation, Any]]] = {}
    for dep, old, new in parsed:
        first = next((d for d, n in seen.get((old.schema, old.name), []) if n.matches(old)), None)
        if first is not None:
            check.report(f"{dep.model} is registered twice (first at line {first.line} as {first.model})",
                         dep.line, "model")
            continue
        seen.setdefault((old.schema, old.name), []).append((dep, old))
        kept.append((dep, old, new))
    return kept


def _resolve_chains(
    entries: list[tuple[Deprecation, Any, Any]], dialect: str
) -> tuple[list[Deprecation], list[tuple[str, int | None]]]:
    """Follow replacement chains to their end; report cycles (A -> B -> A)."""
    by_name: dict[tuple[Any, Any], list[int]] = {}
    i: int | None
    for i, (_, old, _) in enumerate(entries):
        by_name.setdefault((old.schema, old.name), []).append(i)

    def successor(i: int) -> int | None:
        new = entries[i][2]
        for j in by_name.get((new.schema, new.name), []):
            if entries[j][1].matches(new):
                return j
        return None

    nxt = [successor(i) for i in range(len(entries))]
    problems: list[tuple[str, int | None]] = []
    in_cycle: set[int] = set()
    reported: set[frozenset[int]] = set()
    for start in range(len(entries)):
        path: list[int] = []
        pos: dict[int, int] = {}
        i = start
        while i is not None and i not in pos and i not in in_cycle:
            pos[i] = len(path)
            path.append(i)
            i = nxt[i]
        if i is not None and i in pos:
            cycle = path[pos[i]:]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                in_cycle.update(cycle)
                first = min(cycle)
                k = cycle.index(first)
                order = cycle[k:] + cycle[:k]
                chain = " -> ".join(entries[j][0].model for j in order) + f" -> {entries[first][0].model}"
                problems.append((f"replacement cycle: {chain}", entries[first][0].line))
    if problems:
        return [e[0] for e in entries], problems

    out: list[Deprecation] = []
    for i, (dep, _, _) in enumerate(entries):
        j = nxt[i]
        if j is None:
            out.append(dep)
            continue
        cols: dict[str, str] = dict(dep.columns)
        removed: list[str] = list(dep.removed_columns)
        final = dep.replacement
        while j is not None:
            step = entries[j][0]
            cols, removed = _compose(cols, removed, dict(step.columns), list(step.removed_columns), dialect)
            final = step.replacement
            j = nxt[j]
        out.append(replace(dep, final_replacement=final, final_columns=cols, final_removed_columns=tuple(removed)))
    return out, problems


def _compose(
    first: dict[str, str], first_removed: list[str], second: dict[str, str], second_removed: list[str], dialect: str
) -> tuple[dict[str, str], list[str]]:
    """Compose A->B and B->C column mappings into A->C; removed anywhere means removed."""
    key = lambda c: _column_key(c, dialect)  # noqa: E731
    s_cols = {key(k): v for k, v in second.items()}
    s_removed = {key(c) for c in second_removed}
    out: dict[str, str] = {}
    removed = list(first_removed)
    for a, b in first.items():
        kb = key(b)
        if kb in s_removed:
            removed.append(a)
        else:
            out[a] = s_cols.get(kb, b)
    # Columns A did not mention keep their name into B, so B's mapping applies to them.
    # (A's columns renamed *to* a B name are not A columns of that name.)
    first_keys = {key(a) for a in first} | {key(c) for c in first_removed} | {key(b) for b in first.values()}
    for b, c in second.items():
        if key(b) not in first_keys:
            out.setdefault(b, c)
    removed_keys = {key(c) for c in removed}
    for b in second_removed:
        if key(b) not in first_keys and key(b) not in removed_keys:
            removed.append(b)
            removed_keys.add(key(b))
    out = {a: c for a, c in out.items() if key(a) != key(c)}
    return out, removed


# --------------------------------------------------------------------------- editing

def add_deprecation(
    path: str | os.PathLike[str],
    *,
    model: str,
    replacement: str,
    sunset: _dt.date | str,
    announced: _dt.date | str | None = None,
    reason: str | None = None,
    owner: str | None = None,
    contact: str | None = None,
    migration_guide: str | None = None,
    columns: Mapping[str, str] | None = None,
    removed_columns: Sequence[str] = (),
    dropped: bool = False,
    dialect: str = "postgres",
    default_schema: Sequence[str] | str = (),
    default_catalog: str | None = None,
) -> Deprecation:
    """Append one entry to deprecations.yml, keeping its comments, order and formatting.

    The file is created when missing. The result is validated (duplicates, cycles,
    self-replacement, ...) before anything is written, and written atomically.
    Returns the new deprecation as loaded back.
    """
    from deprecator.yamlio import write_atomic

    p = Path(path)
    dates: dict[str, _dt.date | None] = {}
    for name, value in (("sunset", sunset), ("announced", announced)):
        if value is None:
            dates[name] = None
            continue
        d, why = _parse_date(value)
        if d is None:
            raise ConfigError(why, field=name)
        dates[name] = d
    for name, value in (("model", model), ("replacement", replacement)):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError("a relation name is required", field=name)

    entry: list[tuple[str, Any]] = [("model", model.strip()), ("replacement", replacement.strip()),
                                    ("sunset", dates["sunset"])]
    if dates["announced"] is not None:
        entry.append(("announced", dates["announced"]))
    for name, value in (("reason", reason), ("owner", owner), ("contact", contact),
                        ("migration_guide", migration_guide)):
        if value:
            entry.append((name, value))
    if columns:
        entry.append(("columns", dict(columns)))
    if removed_columns:
        entry.append(("removed_columns", list(removed_columns)))
    if dropped:
        entry.append(("dropped", True))

    if p.exists():
        try:
            with open(p, encoding="utf-8", newline="") as f:  # keep CRLF as written
                old_text = f.read()
        except UnicodeDecodeError as e:
            raise ConfigError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=str(p)) from None
    else:
        old_text = ""
    new_text = _append_entry_text(old_text, str(p), entry)
    try:
        registry = parse_registry(new_text, str(p), dialect, default_schema, default_catalog, file_path=p)
    except ConfigError as e:
        e.hint = f"{p} was not changed" + (f"; {e.hint}" if e.hint else "")
        raise
    write_atomic(p, new_text)
    return registry.deprecations[-1]


def _scalar(value: Any, *, flow: bool = False) -> str:
    """A YAML scalar for ``value``: plain when it reads back unchanged, else double-quoted.

    ``flow``: the scalar sits inside ``[...]``, where commas and brackets end it.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.date):
        return value.isoformat()
    s = str(value)
    from ruamel.yaml import YAML

    try:
        doc = f"k: [{s}]\n" if flow else f"k: {s}\n"
        back = YAML(typ="safe", pure=True).load(doc)
        got = back.get("k") if isinstance(back, dict) else None
        if flow:
            got = got[0] if isinstance(got, list) and len(got) == 1 else None
        if got == s and isinstance(got, str) and "\n" not in s:
            return s
    except Exception:  # anything YAML does not read back as the same text gets quoted
        pass
    if ('"' in s or s.startswith("`")) and s.isprintable():
        # a quoted SQL name ('"Cust ID"', '`Cust ID`'): single quotes keep it as written, escaping only '
        return "'" + s.replace("'", "''") + "'"
    return json.dumps(s, ensure_ascii=False)


def _entry_lines(entry: list[tuple[str, Any]], dash_indent: int, key_indent: int, map_step: int) -> list[str]:
    lines: list[str] = []
    for n, (key, value) in enumerate(entry):
        lead = " " * dash_indent + "-" + " " * (key_indent - dash_indent - 1) if n == 0 else " " * key_indent
        if isinstance(value, dict):
            lines.append(f"{lead}{key}:")
            for old, new in value.items():
                lines.append(" " * (key_indent + map_step) + f"{_scalar(old)}: {_scalar(new)}")
        elif isinstance(value, list):
            lines.append(f"{lead}{key}: [" + ", ".join(_scalar(v, flow=True) for v in value) + "]")
        else:
            lines.append(f"{lead}{key}: {_scalar(value)}")
    return lines


def _append_entry_text(text: str, path: str, entry: list[tuple[str, Any]]) -> str:
    """The registry text with ``entry`` appended, every existing byte kept where possible."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from deprecator.yamlio import load_yaml_text, make_yaml

    data = load_yaml_text(text, path) if text.strip() else None
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    dash_indent, key_indent, map_step, blank_between = 2, 4, 2, False
    head = text
    if head and not head.endswith(("\n", "\r")):
        head += newline

    if isinstance(data, CommentedMap) and "deprecations" in data:
        seq = data["deprecations"]
        if isinstance(seq, CommentedSeq) and len(seq) and not seq.fa.flow_style():
            line0, col0 = seq.lc.item(0)
            raw = lines[line0]
            dash = raw.rfind("-", 0, col0)
            if dash >= 0:
                dash_indent, key_indent = dash, col0
            first = seq[0]
            if (isinstance(first, CommentedMap) and isinstance(first.get("columns"), CommentedMap) and first["columns"]
                    and not first["columns"].fa.flow_style()):    # `columns: {x: y}` shows no indentation
                c = first["columns"]
                map_step = max(1, c.lc.key(next(iter(c)))[1] - col0)
            if len(seq) >= 2:
                l1 = seq.lc.item(1)[0]
                blank_between = l1 > 0 and not lines[l1 - 1].strip()
        elif isinstance(seq, CommentedSeq) and len(seq):
            # A non-empty flow list: let ruamel re-emit it (rare; formatting of that list changes).
            from io import StringIO

            item = CommentedMap()
            for k, v in entry:
                item[k] = v
            seq.append(item)
            seq.fa.set_block_style()
            buf = StringIO()
            y = make_yaml()
            y.indent(mapping=2, sequence=4, offset=2)
            y.dump(data, buf)
            return buf.getvalue()
        elif isinstance(seq, CommentedSeq) or seq is None:
            # `deprecations: []` or `deprecations:`: drop the empty list marker on its line.
            if isinstance(seq, CommentedSeq):
                vline, vcol = data.lc.value("deprecations")
                raw = lines[vline]
                close = raw.find("]", vcol)
                if raw[vcol:vcol + 1] == "[" and close > 0:
                    rest = raw[close + 1:]
                    lines[vline] = raw[:vcol].rstrip() + (" " + rest.lstrip() if rest.strip() else "")
                    head = newline.join(lines) + newline
        body = _entry_lines(entry, dash_indent, key_indent, map_step)
        sep = newline if blank_between else ""
        return head + sep + newline.join(body) + newline

    # No `deprecations:` yet (missing file, empty file, only comments).
    body = _entry_lines(entry, dash_indent, key_indent, map_step)
    return head + "deprecations:" + newline + newline.join(body) + newline
