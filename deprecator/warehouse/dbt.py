"""Which warehouse relations a dbt project owns, from its ``manifest.json``.

A view dbt builds is rewritten by changing the dbt model, not the warehouse:
dbt would overwrite a warehouse-side change on its next run. The plan reports
such views (``ViewInfo.managed_by == "dbt"``) instead of rewriting them.

Nothing here is PostgreSQL-specific except the default dialect used to
normalize ``relation_name``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from deprecator.dbt.manifest import read_manifest_json
from deprecator.errors import ConfigError
from deprecator.sql.model import RelationName
from deprecator.sql.names import normalize_relation
from deprecator.warehouse.base import ViewInfo

# dbt resource types that build a relation in the warehouse.
_BUILDS_RELATION = {"model", "seed", "snapshot"}


def dbt_relations(manifest_path: str | Path, *, dialect: str = "postgres",
                  database: str | None = None) -> dict[RelationName, str]:
    """Relations the manifest's models (and seeds, snapshots) build -> the dbt node id.

    Names come without the catalog part. ``database`` keeps only nodes built in
    that database (e.g. the one the warehouse URL connects to). Ephemeral models
    build nothing and are skipped.
    """
    path = Path(manifest_path)
    manifest = read_manifest_json(path, require_version=False)

    out: dict[RelationName, str] = {}
    for node_id, node in manifest["nodes"].items():
        if not isinstance(node, dict):
            raise ConfigError("a node is not an object", path=str(path), field=f"nodes.{node_id}")
        if node.get("resource_type") not in _BUILDS_RELATION:
            continue
        config = node.get("config") or {}
        if config.get("materialized") == "ephemeral":
            continue
        if database is not None and node.get("database") not in (None, database):
            continue
        rel = _node_relation(node, node_id, path, dialect)
        if rel is not None:
            out[rel] = node_id
    return out


def _node_relation(node: dict[str, Any], node_id: str, path: Path, dialect: str) -> RelationName | None:
    relation_name = node.get("relation_name")
    if relation_name:
        try:
            rel = normalize_relation(relation_name, dialect)
        except ValueError as e:
            raise ConfigError(str(e), path=str(path), field=f"nodes.{node_id}.relation_name") from None
        return RelationName(None, rel.schema, rel.name)
    schema = node.get("schema")
    name = node.get("alias") or node.get("name")
    if not schema or not name:
        raise ConfigError("a model needs `schema` and `alias` or `name`", path=str(path), field=f"nodes.{node_id}")
    # dbt quotes identifiers by default on PostgreSQL, so the manifest holds them exactly
    return RelationName(None, schema, name)


def mark_dbt_managed(views: Iterable[ViewInfo], manifest_path: str | Path, *, dialect: str = "postgres",
                     database: str | None = None) -> list[ViewInfo]:
    """Copies of ``views`` with ``managed_by="dbt"`` where the dbt project builds them."""
    owned = dbt_relations(manifest_path, dialect=dialect, database=database)
    # managed_by is not part of the fingerprint, so marking never makes a plan stale
    return [replace(v, managed_by="dbt") if RelationName(None, v.relation.schema, v.relation.name) in owned else v
            for v in views]
