"""PostgreSQL DDL for a rewrite (the transaction that applies it is in ``executor``).

DDL per view (``view_operations``, each statement a typed ``Operation``):

* ``CREATE OR REPLACE VIEW v (cols) WITH (options) AS ...`` when the new
  definition keeps the column names (the column list pins them), order and
  types; PostgreSQL silently clears options on CREATE OR REPLACE without a WITH
  clause, so they are always restated;
* otherwise (and always for materialized views, which have no CREATE OR
  REPLACE) the views built on it are dropped first, deepest first, then the view
  is dropped and created again; each dropped dependent is in the plan too (the
  plan recreates every view reading a replaced one), and the executor refuses to
  commit if any view that existed is missing at the end;
* then owner, grants (every privilege revoked, including ones default
  privileges add on creation, then the recorded ones granted; a view whose ACL
  was NULL keeps a NULL ACL, see ``default_acl_block``), comments and
  materialized-view indexes are restored, and so is what a DROP VIEW removes
  silently: column defaults, rules and (INSTEAD OF) triggers
  (``attached_operations``). Materialized views that were populated are
  created WITH DATA (refreshed), the others WITH NO DATA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from deprecator.errors import ApplyError
from deprecator.operations import Operation
from deprecator.sql.model import RelationName
from deprecator.warehouse.base import ViewInfo
from deprecator.warehouse.quoting import quote_ident, quote_literal

# One advisory lock key per database for every deprecator apply (crc32 of the name).

_OPTION_KEY = re.compile(r"[a-z_][a-z0-9_.]*\Z")
_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}


def qualified(rel: RelationName) -> str:
    return ".".join(quote_ident(p) for p in (rel.schema, rel.name) if p is not None)


def _role(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else quote_ident(name)


def _keyword(kind: str) -> str:
    return "MATERIALIZED VIEW" if kind == "materialized_view" else "VIEW"


def _with_clause(options: Mapping[str, str]) -> str:
    if not options:
        return ""
    parts = []
    for k, v in sorted(options.items()):
        if not _OPTION_KEY.match(k):
            raise ApplyError(f"unexpected view option name {k!r}")
        parts.append(f"{k} = {quote_literal(v)}")
    return " WITH (" + ", ".join(parts) + ")"


@dataclass(frozen=True)
class Dependent:
    relation: RelationName
    kind: str                      # "view" | "materialized_view"


def _grantee(alias: str) -> str:
    return (f"CASE WHEN {alias}.grantee = 0 THEN 'PUBLIC' "
            f"ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid({alias}.grantee)) END")


def _revoke_loop(regclass: str) -> str:
    """PL/pgSQL revoking every privilege (table and column) from every grantee; needs ``g text``."""
    return (
        f"FOR g IN SELECT DISTINCT {_grantee('a')} "
        "FROM pg_catalog.pg_class c, pg_catalog.aclexplode(pg_catalog.acldefault('r', c.relowner) "
        "OPERATOR(pg_catalog.||) COALESCE(c.relacl, '{}'::pg_catalog.aclitem[])) a "
        f"WHERE c.oid = {regclass}::pg_catalog.regclass "
        f"UNION SELECT DISTINCT {_grantee('a')} "
        "FROM pg_catalog.pg_attribute t, pg_catalog.aclexplode(t.attacl) a "
        f"WHERE t.attrelid = {regclass}::pg_catalog.regclass AND t.attacl IS NOT NULL "
        f"LOOP EXECUTE 'REVOKE ALL ON TABLE ' || {regclass}::pg_catalog.regclass::text || ' FROM ' || g; "
        "END LOOP;"
    )


def _revoke_body(regclass: str) -> str:
    """PL/pgSQL revoking every privilege on the relation named by the text expression ``regclass``."""
    return f"DECLARE g text; BEGIN {_revoke_loop(regclass)} END"


def _default_acl_body(regclass: str) -> str:
    """PL/pgSQL for a relation whose recorded ACL was NULL (the built-in defaults).

    A NULL ACL is left NULL: any table-level REVOKE or GRANT would make it
    explicit. An ACL that default privileges made explicit on creation is set
    back to the built-in defaults (every privilege revoked, then ALL granted to
    the owner): the same privileges, but necessarily an explicit ACL. Column
    privileges are revoked per column, which leaves a NULL table ACL NULL.
    """
    return (
        "DECLARE g text; col text; BEGIN "
        "IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
        f"WHERE c.oid = {regclass}::pg_catalog.regclass AND c.relacl IS NOT NULL) THEN "
        f"{_revoke_loop(regclass)} "
        f"EXECUTE 'GRANT ALL ON TABLE ' || {regclass}::pg_catalog.regclass::text || ' TO ' || "
        "(SELECT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(c.relowner)) FROM pg_catalog.pg_class c "
        f"WHERE c.oid = {regclass}::pg_catalog.regclass); "
        f"ELSE FOR g, col IN SELECT DISTINCT {_grantee('a')}, pg_catalog.quote_ident(t.attname) "
        "FROM pg_catalog.pg_attribute t, pg_catalog.aclexplode(t.attacl) a "
        f"WHERE t.attrelid = {regclass}::pg_catalog.regclass AND t.attacl IS NOT NULL "
        f"LOOP EXECUTE 'REVOKE ALL (' || col || ') ON TABLE ' || {regclass}::pg_catalog.regclass::text "
        "|| ' FROM ' || g; END LOOP; END IF; END"
    )


def _do_block(body: Callable[[str], str], regclass_literal: str) -> str:
    tag = "$deprecator$"
    while tag in regclass_literal:  # a name containing the dollar-quote tag must not end the block early
        tag = tag[:-1] + "_$"
    return f"DO {tag} {body(regclass_literal)} {tag}"


def revoke_all_block(regclass_literal: str) -> str:
    """A self-contained ``DO`` block revoking every privilege on one relation (a quoted literal)."""
    return _do_block(_revoke_body, regclass_literal)


def default_acl_block(regclass_literal: str) -> str:
    """A self-contained ``DO`` block keeping one relation's ACL at the built-in defaults (``_default_acl_body``)."""
    return _do_block(_default_acl_body, regclass_literal)


# The executor runs each of these blocks as a call of a temporary function with the same
# body (compiled once per transaction instead of once per block: about 5x cheaper).
RESET_ACL_FUNCTION = "pg_temp.deprecator_reset_acl"
DEFAULT_ACL_FUNCTION = "pg_temp.deprecator_default_acl"
_FUNCTIONS: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    RESET_ACL_FUNCTION: (revoke_all_block, _revoke_body),
    DEFAULT_ACL_FUNCTION: (default_acl_block, _default_acl_body),
}


def _function_create(name: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}(rel pg_catalog.text) RETURNS void "
            f"LANGUAGE plpgsql AS $deprecator_fn$ {_FUNCTIONS[name][1]('rel')} $deprecator_fn$")


# The operation kinds whose SQL is one of our ACL blocks, and the function each becomes.
_FUNCTION_OF_KIND = {"reset_grants": RESET_ACL_FUNCTION, "default_grants": DEFAULT_ACL_FUNCTION}


def as_function_call(op: Operation) -> tuple[str, str] | None:
    """(function, call) equivalent to ``op`` when it is one of our ACL blocks (by its kind), else None.

    The call is used only when the operation's SQL is exactly the block for its
    relation, so a call never runs anything other than what the plan shows.
    """
    name = _FUNCTION_OF_KIND.get(op.kind)
    if name is None:
        return None
    literal = quote_literal(qualified(op.relation))
    if _FUNCTIONS[name][0](literal) != op.sql:
        return None
    return name, f"SELECT {name}({literal})"


def restore_operations(view: ViewInfo) -> list[Operation]:
    """Owner, grants, comments and indexes exactly as ``view`` records them (absolute, idempotent)."""
    rel = qualified(view.relation)
    kw = _keyword(view.kind)
    out: list[Operation] = []

    def op(kind: str, sql: str) -> None:
        out.append(Operation(kind, view.relation, sql))

    if view.owner:
        op("set_owner", f"ALTER {kw} {rel} OWNER TO {quote_ident(view.owner)}")
    grants = view.grants
    if view.default_acl:
        # The ACL was NULL: keep it NULL (or, if default privileges made it explicit on
        # creation, back to the built-in defaults); the table-level ``grants`` are those
        # defaults, so only column grants are made (they leave a NULL table ACL NULL).
        op("default_grants", default_acl_block(quote_literal(rel)))
        grants = tuple(g for g in grants if g[2])
    else:
        # Revoke whatever is there now (the creator's default privileges, ALTER
        # DEFAULT PRIVILEGES grants, or the old ACL), then grant what was recorded.
        # Revoking a table privilege also revokes it on every column.
        op("reset_grants", revoke_all_block(quote_literal(rel)))
    # one GRANT per grantee, column set and grant option (the order of ``grants`` is stable)
    groups: dict[tuple[str, str, str], list[str]] = {}
    # the owner's own privileges first, so the ACL reads in the order PostgreSQL itself writes it
    for grantee, privilege, column, grantable in sorted(grants, key=lambda g: g[0] != view.owner):
        if privilege not in _PRIVILEGES:
            raise ApplyError(f"unexpected privilege {privilege!r} on {view.relation}")
        groups.setdefault((grantee, column, grantable), []).append(privilege)
    for (grantee, column, grantable), privileges in groups.items():
        cols = f" ({quote_ident(column)})" if column else ""
        option = " WITH GRANT OPTION" if grantable == "YES" else ""
        privs = ", ".join(f"{p}{cols}" for p in privileges)
        op("grant", f"GRANT {privs} ON TABLE {rel} TO {_role(grantee)}{option}")
    comment = "NULL" if view.comment is None else quote_literal(view.comment)
    op("comment", f"COMMENT ON {kw} {rel} IS {comment}")
    for col, text in sorted(view.column_comments.items()):
        op("comment", f"COMMENT ON COLUMN {rel}.{quote_ident(col)} IS {quote_literal(text)}")
    return out


def attached_operations(view: ViewInfo) -> list[Operation]:
    """Column defaults, rules and triggers exactly as ``view`` records them (idempotent).

    A DROP VIEW removes them silently and CREATE OR REPLACE keeps them, so they are
    restated (dropped if present, then created from the catalog's own definition)
    wherever the view may have been recreated.
    """
    rel = qualified(view.relation)
    out: list[Operation] = []

    def op(sql: str) -> None:
        out.append(Operation("restore_attached", view.relation, sql))

    for col, expr in sorted((view.extra.get("column_defaults") or {}).items()):
        op(f"ALTER {_keyword(view.kind)} {rel} ALTER COLUMN {quote_ident(col)} SET DEFAULT {expr}")
    for kind, key in (("RULE", "rules"), ("TRIGGER", "triggers")):
        for item in view.extra.get(key) or ():
            name = quote_ident(str(item["name"]))
            op(f"DROP {kind} IF EXISTS {name} ON {rel}")
            op(str(item["definition"]))
    return out


def view_operations(
    view: ViewInfo,
    new_definition: str,
    *,
    old_types: Sequence[str] | None,
    new_types: Sequence[str] | None,
    dependents: Sequence[Dependent] | Callable[[], Sequence[Dependent]],
    restore: bool = True,
) -> list[Operation]:
    """DDL giving ``view`` the definition ``new_definition`` with everything else kept.

    ``old_types``/``new_types`` are the column types the old and new definitions
    produce (None: unknown, which forces drop and recreate); ``dependents`` are
    the views built on it, transitively, deepest first. ``restore`` False is
    for a view no earlier statement of the plan drops: CREATE OR REPLACE keeps
    its owner, grants and comments, so a changed definition gets only the
    CREATE OR REPLACE (the executor refuses the apply if the view's OID changed
    before it, ``replaced_in_place``), and an unchanged one only a guard
    (``COMMENT ON`` restating its comment, which fails if the view is gone).
    """
    rel = qualified(view.relation)
    kw = _keyword(view.kind)
    body = new_definition.strip().rstrip(";").rstrip()
    names = [c for c, _ in view.columns]
    n = min(len(names), len(new_types)) if new_types is not None else len(names)
    collist = " (" + ", ".join(quote_ident(c) for c in names[:n]) + ")" if n else ""
    keeps_columns = (
        view.kind == "view" and old_types is not None and new_types is not None
        and len(new_types) >= len(old_types) and list(new_types[: len(old_types)]) == list(old_types)
    )
    out: list[Operation] = []

    def op(kind: str, sql: str, relation: RelationName = view.relation) -> None:
        out.append(Operation(kind, relation, sql))

    if keeps_columns and not restore:
        if body != view.definition.strip().rstrip(";").rstrip():
            # kept in place: the executor refuses the apply if an earlier statement dropped it (its OID changed)
            op("replace_view", f"CREATE OR REPLACE VIEW {rel}{collist}{_with_clause(view.options)} AS {body}")
        else:
            comment = "NULL" if view.comment is None else quote_literal(view.comment)
            op("guard", f"COMMENT ON VIEW {rel} IS {comment}")
        return out
    if keeps_columns:
        op("replace_view", f"CREATE OR REPLACE VIEW {rel}{collist}{_with_clause(view.options)} AS {body}")
    else:
        for d in (dependents() if callable(dependents) else dependents):
            op("drop_view", f"DROP {_keyword(d.kind)} IF EXISTS {qualified(d.relation)}", d.relation)
        op("drop_view", f"DROP {kw} IF EXISTS {rel}")
        if view.kind == "materialized_view":
            data = "WITH DATA" if view.extra.get("populated", True) else "WITH NO DATA"
            op("create_matview", f"CREATE MATERIALIZED VIEW {rel}{collist}{_with_clause(view.options)} AS {body} {data}")
        else:
            op("create_view", f"CREATE VIEW {rel}{collist}{_with_clause(view.options)} AS {body}")
    if view.kind == "materialized_view":
        for idx in view.extra.get("indexes", []):
            op("create_index", str(idx["definition"]))
    out.extend(attached_operations(view))
    out.extend(restore_operations(view))
    return out
