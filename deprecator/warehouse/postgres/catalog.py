"""The PostgreSQL catalog queries the adapter reads views, columns, grants and dependencies with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from deprecator.sql.model import RelationName
from deprecator.warehouse.base import ViewInfo

_KIND = {"v": "view", "m": "materialized_view"}



# -- catalog queries --------------------------------------------------------------

_VIEWS_SQL = """
SELECT c.oid
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
  AND (CAST(:schemas AS text[]) IS NULL OR n.nspname = ANY(CAST(:schemas AS text[])))
  AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""

# Direct dependencies of every view: the view's _RETURN rule depends on the relations it reads,
# and its other rules (ON INSERT/UPDATE/DELETE ... DO INSTEAD) on the relations they touch.
_EDGES_SQL = """
SELECT DISTINCT r.ev_class AS view_oid, d.refobjid AS ref_oid, r.rulename
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_depend d
  ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
 AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n'
JOIN pg_catalog.pg_class rc ON rc.oid = d.refobjid
WHERE d.refobjid <> r.ev_class AND rc.relkind IN ('r', 'v', 'm', 'f', 'p')
"""

# Who holds a lock a catalog read waits for. pg_get_viewdef takes ACCESS SHARE on a view and on
# every relation it reads, which only ACCESS EXCLUSIVE conflicts with: such locks other sessions
# hold on views, or on relations a view reads, are the candidates (read after the wait timed out).
_LOCK_HOLDERS_SQL = """
SELECT DISTINCT l.relation::pg_catalog.regclass::text AS rel, l.pid, COALESCE(a.application_name, ''),
       COALESCE(a.state, '')
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock'
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND l.pid <> pg_catalog.pg_backend_pid()
  AND (c.relkind IN ('v', 'm') OR EXISTS (
      SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refobjid = l.relation))
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class LockHolder:
    """A lock another session holds that a catalog read may wait for."""

    relation: str          # schema.name as regclass prints it with an empty search_path
    pid: int
    application: str = ""
    state: str = ""        # pg_stat_activity.state: "idle in transaction", "active", ...

    def describe(self) -> str:
        about = ", ".join(x for x in (self.application, self.state) if x)
        return f"{self.relation} (held by pid {self.pid}{': ' + about if about else ''})"


def lock_holders(conn: Connection) -> list[LockHolder]:
    """The candidate locks of _LOCK_HOLDERS_SQL (``conn`` with an empty search_path)."""
    return [LockHolder(str(rel), int(pid), str(app), str(state))
            for rel, pid, app, state in conn.exec_driver_sql(_LOCK_HOLDERS_SQL).all()]


def _edges(conn: Connection) -> dict[tuple[str, str], set[RelationName]]:
    """view -> every relation it reads (its query and its rules)."""
    out: dict[tuple[str, str], set[RelationName]] = {}
    for view, rel, _ in _edge_rows(conn):
        out.setdefault(view, set()).add(rel)
    return out


def _edge_rows(conn: Connection) -> list[tuple[tuple[str, str], RelationName, str]]:
    """(view, relation, rule) per direct dependency; rule ``_RETURN`` is the view's own query."""
    rows = conn.execute(sa.text(
        "SELECT vn.nspname, v.relname, rn.nspname, rc.relname, e.rulename FROM (" + _EDGES_SQL + ") e "
        "JOIN pg_catalog.pg_class v ON v.oid = e.view_oid JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace "
        "JOIN pg_catalog.pg_class rc ON rc.oid = e.ref_oid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
    )).all()
    return [((vs, vname), RelationName(None, rs, rname), rule) for vs, vname, rs, rname, rule in rows]


def _rel(key: tuple[str, str]) -> RelationName:
    return RelationName(None, key[0], key[1])


def _rel_key(v: ViewInfo) -> tuple[str, str]:
    return (v.relation.schema or "", v.relation.name)


def _names(conn: Connection, oids: Sequence[int]) -> list[tuple[str, str]]:
    if not oids:
        return []
    rows = conn.execute(sa.text(
        "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY(CAST(:oids AS oid[]))"
    ), {"oids": list(oids)}).all()
    by = {int(o): (s, n) for o, s, n in rows}
    return [by[o] for o in oids]


def _columns(conn: Connection, oids: Sequence[int]) -> list[tuple[int, str, str, str | None]]:
    """(oid, column, type, comment) in attribute order."""
    return [
        (int(r[0]), r[1], r[2], r[3])
        for r in conn.execute(sa.text(
            "SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
            "pg_catalog.col_description(a.attrelid, a.attnum) "
            "FROM pg_catalog.pg_attribute a WHERE a.attrelid = ANY(CAST(:oids AS oid[])) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum"
        ), {"oids": list(oids)})
    ]


# A NULL relacl reads as the built-in defaults (what it means); ViewInfo.default_acl records that it was NULL.
_GRANTS_SQL = """
SELECT g.relid, CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(g.grantee) END,
       g.privilege_type, g.col, g.is_grantable
FROM (
    SELECT c.oid AS relid, a.grantee, a.privilege_type, '' AS col, a.is_grantable
    FROM pg_catalog.pg_class c,
         LATERAL pg_catalog.aclexplode(COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
    WHERE c.oid = ANY(CAST(:oids AS oid[]))
    UNION ALL
    SELECT att.attrelid, a.grantee, a.privilege_type, att.attname, a.is_grantable
    FROM pg_catalog.pg_attribute att, LATERAL pg_catalog.aclexplode(att.attacl) a
    WHERE att.attrelid = ANY(CAST(:oids AS oid[])) AND att.attacl IS NOT NULL AND NOT att.attisdropped
) g
"""


# What a DROP VIEW takes with it besides grants and comments: user triggers (INSTEAD OF),
# rules other than the view's own _RETURN, and column defaults (ALTER VIEW ... SET DEFAULT).
# CREATE OR REPLACE keeps them all; a drop and recreate must put them back.
_ATTACHED_SQL = """
SELECT t.tgrelid, 'trigger', t.tgname, pg_catalog.pg_get_triggerdef(t.oid, true)
FROM pg_catalog.pg_trigger t WHERE t.tgrelid = ANY(CAST(:oids AS oid[])) AND NOT t.tgisinternal
UNION ALL
SELECT r.ev_class, 'rule', r.rulename, pg_catalog.pg_get_ruledef(r.oid, true)
FROM pg_catalog.pg_rewrite r WHERE r.ev_class = ANY(CAST(:oids AS oid[])) AND r.rulename <> '_RETURN'
UNION ALL
SELECT d.adrelid, 'default', a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
FROM pg_catalog.pg_attrdef d
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = ANY(CAST(:oids AS oid[]))
ORDER BY 1, 2, 3
"""
_ATTACHED_KEYS = {"trigger": "triggers", "rule": "rules", "default": "column_defaults"}


def _attached(conn: Connection, params: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Per view oid: ``triggers``/``rules`` ([{name, definition}]) and ``column_defaults``
    ({column: expression}); a key only when the view has some, so other views' fingerprints stay."""
    out: dict[int, dict[str, Any]] = {}
    for relid, kind, name, definition in conn.execute(sa.text(_ATTACHED_SQL), params):
        extra = out.setdefault(int(relid), {})
        if kind == "default":
            extra.setdefault("column_defaults", {})[name] = definition
        else:
            extra.setdefault(_ATTACHED_KEYS[kind], []).append(
                {"name": name, "definition": _clean_definition(definition)})
    return out


def _views_by_oid(conn: Connection, oids: Sequence[int]) -> list[ViewInfo]:
    if not oids:
        return []
    rows = [(o,) for o in oids]
    return _build_views(conn, rows)


def _build_views(conn: Connection, rows: Sequence[Any]) -> list[ViewInfo]:
    oids = [int(r[0]) for r in rows]
    if not oids:
        return []
    params = {"oids": oids}
    base = {
        int(r[0]): r
        for r in conn.execute(sa.text(
            "SELECT c.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_get_userbyid(c.relowner), "
            "pg_catalog.pg_get_viewdef(c.oid, true), c.reloptions, c.relispopulated, "
            "pg_catalog.obj_description(c.oid, 'pg_class'), c.relacl IS NULL "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = ANY(CAST(:oids AS oid[])) AND c.relkind IN ('v', 'm')"
        ), params)
    }
    cols: dict[int, list[tuple[str, str]]] = {}
    col_comments: dict[int, dict[str, str]] = {}
    for oid, name, typ, comment in _columns(conn, oids):
        cols.setdefault(oid, []).append((name, typ))
        if comment is not None:
            col_comments.setdefault(oid, {})[name] = comment
    grants: dict[int, list[tuple[str, str, str, str]]] = {}
    for relid, grantee, priv, col, grantable in conn.execute(sa.text(_GRANTS_SQL), params):
        grants.setdefault(int(relid), []).append((grantee, priv, col, "YES" if grantable else "NO"))
    indexes: dict[int, list[dict[str, str]]] = {}
    for relid, idxname, idxdef in conn.execute(sa.text(
        "SELECT i.indrelid, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid) "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
        "WHERE i.indrelid = ANY(CAST(:oids AS oid[])) ORDER BY ic.relname"
    ), params):
        indexes.setdefault(int(relid), []).append({"name": idxname, "definition": idxdef})
    attached = _attached(conn, params)

    out: list[ViewInfo] = []
    for oid in oids:
        r = base.get(oid)
        if r is None:
            continue
        _, schema, name, relkind, owner, definition, reloptions, populated, comment, acl_null = r
        kind = _KIND[relkind]
        extra: dict[str, Any] = {}
        if kind == "materialized_view":
            extra = {"indexes": indexes.get(oid, []), "populated": bool(populated)}
        extra.update(attached.get(oid, {}))
        out.append(ViewInfo(
            relation=RelationName(None, schema, name),
            definition=_clean_definition(definition),
            kind=kind,
            definition_is_create=False,
            owner=owner,
            comment=comment,
            column_comments=col_comments.get(oid, {}),
            grants=tuple(sorted(grants.get(oid, []))),
            options=_parse_options(reloptions),
            columns=tuple(cols.get(oid, [])),
            extra=extra,
            default_acl=bool(acl_null),
        ))
    return out


def _clean_definition(text: str | None) -> str:
    """pg_get_viewdef's SELECT body without the leading space and trailing semicolon."""
    text = (text or "").strip()
    if text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def _parse_options(reloptions: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in reloptions or ():
        key, _, value = item.partition("=")
        out[key] = value
    return dict(sorted(out.items()))
