"""Which deprecated relation a reference in a scanned text uses: name resolution as PostgreSQL does it.

A qualified name is what it says. An unqualified name on a search path with several
schemas is "open": it reads the first candidate, in search-path order, that exists in
the warehouse (looked up once per scan, ``lookup_existing``), skipping schemas the
querying role has no USAGE on; in PostgreSQL pg_catalog is searched first unless the
path lists it. When no warehouse can say, the name stays ambiguous, with a note. A
BigQuery wildcard table uses every deprecated relation its pattern covers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from deprecator.config import Config
from deprecator.sql.model import ParseResult, Reference, RelationName

if TYPE_CHECKING:
    from deprecator.registry import Deprecation, Registry

# Where a scanned text occurred: (source, object, path, line, user); path is set for files only.
OccurrenceKey = tuple[str, str, str | None, int, str | None]


class ParsedText(Protocol):
    """A distinct scanned text with its parse (None until parsed) and the places it occurred, keyed by
    (source, object, path, line, user): the scan's candidates."""

    @property
    def result(self) -> ParseResult | None: ...

    @property
    def occurrences(self) -> Mapping[OccurrenceKey, object]: ...


PG_CATALOG = "pg_catalog"


PG_DIALECTS = ("postgres", "postgresql")   # dialects whose unqualified names search pg_catalog first


def _matches(registry: Registry, relation: RelationName) -> list[Deprecation]:
    found = registry.by_relation(relation)   # one Deprecation or None
    return [] if found is None else [found]


def may_use(registry: Registry, ref: Reference) -> bool:
    """Whether a reference can resolve to a deprecation; the parse workers drop the others (every
    use of a reference below goes through its relation and candidates, or its wildcard pattern)."""
    if getattr(ref, "wildcard", False):
        return True
    return any(_matches(registry, c) for c in (ref.relation, *ref.candidates))


def _covered(registry: Registry, ref: Reference) -> list[tuple[Deprecation, RelationName]]:
    """A wildcard reference's (deprecation, relation) pairs: every deprecated relation its pattern covers."""
    by_model = {d.model: d for d in registry.deprecations}
    return [(by_model[r.label], r.old) for r in registry.rewrite_rules()
            if r.label in by_model and ref.covers(r.old)]


def _deprecations_for(registry: Registry, ref: Reference) -> list[Deprecation]:
    hits = _matches(registry, ref.relation)
    if not hits:
        # An unqualified name on a search path may resolve to any candidate schema.
        for cand in ref.candidates:
            hits = _matches(registry, cand)
            if hits:
                break
    return hits


def _is_open(ref: Reference) -> bool:
    """An unqualified name the search path leaves open (several candidate schemas)."""
    return ref.qualified_as_written <= 1 and len(ref.candidates) > 1


def open_names(cands: Sequence[ParsedText], registry: Registry, implicit_catalog: bool = False) -> set[RelationName]:
    """Names to look up in the warehouse: every candidate of an open name that might be a
    deprecated relation, and (``implicit_catalog``) the pg_catalog spelling of each such
    unqualified name, which PostgreSQL searches first."""
    out: set[RelationName] = set()
    for cand in cands:
        res = cand.result
        if res is None:
            continue
        for ref in res.references:
            if not any(_matches(registry, c) for c in (ref.relation, *ref.candidates)):
                continue
            if _is_open(ref):
                out.update(ref.candidates)
            system = _system_name(ref) if implicit_catalog else None
            if system is not None:
                out.add(system)
    return out


def _system_name(ref: Reference) -> RelationName | None:
    """The pg_catalog relation an unqualified name reads first when the search path does not list pg_catalog."""
    if ref.qualified_as_written > 1:
        return None
    cands = ref.candidates or (ref.relation,)
    if any(c.schema == PG_CATALOG for c in cands):
        return None       # listed explicitly: searched in its place in the path
    return RelationName(cands[0].catalog, PG_CATALOG, ref.relation.name)


def roles_to_check(cands: Sequence[ParsedText], registry: Registry) -> tuple[set[str], set[str]]:
    """The (roles, schemas) whose USAGE decides an open name: users of texts with open deprecated names."""
    roles: set[str] = set()
    schemas: set[str] = set()
    for cand in cands:
        res = cand.result
        if res is None:
            continue
        found = False
        for ref in res.references:
            if _is_open(ref) and any(_matches(registry, c) for c in ref.candidates):
                schemas.update(c.schema for c in ref.candidates if c.schema is not None)
                found = True
        if found:
            roles.update(k[4] for k in cand.occurrences if k[4] is not None)
    return roles, schemas


def lookup_existing(config: Config, names: set[RelationName], closers: list[Any], built: bool,
              roles: set[str] | None = None, schemas: set[str] | None = None,
              ) -> tuple[set[RelationName] | None, dict[tuple[str, str], bool] | None]:
    """Which of ``names`` exist in the configured warehouse, and which ``roles`` have USAGE on
    which ``schemas``; None for what it cannot say (no warehouse, or an adapter without the lookup)."""
    if not names or not config.warehouse.url:
        return None, None
    wh = next((c for c in closers if callable(getattr(c, "existing_relations", None))), None)
    if wh is None and not built:
        # The caller gave its own sources: open the configured warehouse just for the lookup.
        from deprecator.warehouse import connect

        wh = connect(config)
        closers.append(wh)
    lookup = getattr(wh, "existing_relations", None)
    if not callable(lookup):
        return None, None
    usage_of = getattr(wh, "schema_usage", None)
    privileges = usage_of(roles, schemas) if roles and schemas and callable(usage_of) else None
    return set(lookup(names)), privileges


def _resolve(ref: Reference, registry: Registry, existing: set[RelationName] | None,
             usable: Callable[[RelationName], bool] | None = None,
             implicit_catalog: bool = False) -> list[tuple[Deprecation, RelationName, bool, str | None]]:
    """The deprecations a reference uses: (deprecation, relation, ambiguous, note) each.

    An open unqualified name resolves, as PostgreSQL does, to the first candidate
    in search-path order that exists in the warehouse; when no warehouse can say
    (``existing`` is None) or no candidate exists, it stays ambiguous. With
    ``implicit_catalog`` pg_catalog is searched first unless the path lists it, so
    a name that exists there reads the system relation (no use). ``usable`` says
    which candidates the querying role may search (USAGE on the schema); PostgreSQL
    skips the others.
    """
    if ref.wildcard:
        return [(dep, rel, False, None) for dep, rel in _covered(registry, ref)]
    if existing is not None and implicit_catalog:
        system = _system_name(ref)
        if system is not None and system in existing:
            return []     # the system relation shadows every search-path schema
    if not _is_open(ref):
        return [(dep, ref.relation, False, None) for dep in _deprecations_for(registry, ref)]
    order = list(ref.candidates)
    skipped: list[str] = []
    if usable is not None:
        allowed = [c for c in order if usable(c)]
        if allowed:       # the role read something, so at least one schema was usable
            skipped = [c.schema or "" for c in order if c not in allowed]
            order = allowed
    schemas = ", ".join(c.schema or "" for c in ref.candidates)
    if existing is None:
        note = (f"ambiguous: `{ref.written}` is unqualified and the search path has several schemas "
                f"({schemas}); it is the first of {', '.join(str(c) for c in ref.candidates)} that exists "
                f"when the query runs (reported as {ref.relation})")
        return [(dep, ref.relation, True, note) for dep in _deprecations_for(registry, ref)]
    skip_note = (f"; the role has no USAGE on schema {', '.join(skipped)}, which PostgreSQL skips"
                 if skipped else "")
    first = next((c for c in order if c in existing), None)
    if first is None:
        for cand in order:
            hits = _matches(registry, cand)
            if hits:
                note = (f"ambiguous: `{ref.written}` is unqualified and none of "
                        f"{', '.join(str(c) for c in order)} exists in the warehouse now, so the search "
                        f"path ({schemas}) cannot tell which one the query read (reported as {cand}){skip_note}")
                return [(dep, cand, True, note) for dep in hits]
        return []
    hits = _matches(registry, first)
    if not hits:
        return []   # the name reads another schema's relation, not the deprecated one
    missing = [str(c) for c in order[: order.index(first)]]
    why = (f"{', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist and {first} does"
           if missing else f"{first.schema} is the first schema of the search path and {first} exists"
           if not skipped else f"{first.schema} is the first schema of the search path the role may use "
           f"and {first} exists")
    shadowed = [str(c) for c in order[order.index(first) + 1:] if c in existing]
    also = (f"; {', '.join(shadowed)} also {'exists but comes' if len(shadowed) == 1 else 'exist but come'} later"
            if shadowed else "")
    note = (f"`{ref.written}` is unqualified: resolved via search path ({schemas}) to {first}: {why} "
            f"(in the warehouse at scan time){also}{skip_note}")
    return [(dep, first, False, note) for dep in hits]


def match_references(res: ParseResult, registry: Registry, existing: set[RelationName] | None, role: str | None,
           privileges: Mapping[tuple[str, str], bool] | None, implicit_catalog: bool,
           ) -> list[tuple[Reference, Deprecation, RelationName, bool, str | None]]:
    """Every (reference, deprecation, relation, ambiguous, note) a parsed text uses, as ``role`` runs it."""
    usable: Callable[[RelationName], bool] | None = None
    if role is not None and privileges is not None:
        known = privileges
        # an unknown (role, schema) pair: cannot say, so the schema stays in the path
        usable = lambda c: known.get((role, c.schema or ""), True)  # noqa: E731
    out = []
    for ref in res.references:
        for dep, rel, amb, how in _resolve(ref, registry, existing, usable, implicit_catalog):
            out.append((ref, dep, rel, amb, how))
    return out


def resolution_note(ref: Reference, how: str | None, origin: str | None, user: str | None) -> str | None:
    """How the relation of an unqualified name was resolved, when that took a search path (None otherwise)."""
    if ref.qualified_as_written > 1:
        return None
    parts = [how] if how else []
    if origin in ("default", "server"):
        used = "the configured default" if origin == "default" else "the server's search_path"
        parts.append(f"`{ref.written}` is unqualified and role {user or '(unknown)'} sets no search_path: "
                     f"{used} was assumed (a SET search_path inside a session is not visible)")
    return "; ".join(parts) or None
