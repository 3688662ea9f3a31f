"""dbt models that still read a deprecated model, with their owner from the manifest.

A model's owner is its ``meta.owner``, then its group's owner, then the owner of
an exposure that depends on it (dbt's own conventions). Owners are names or
email addresses; they go through ``owners:`` like a history user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from deprecator.registry import Registry


@dataclass(frozen=True)
class DbtConsumer:
    deprecation: str          # the registered model
    model: str                # the consuming dbt model's name
    owner: str | None         # as the manifest gives it
    how: str                  # meta.owner | group <name> | exposure <name> | none


def _owner_text(owner: Any) -> str | None:
    """``meta.owner`` may be a string or {name, email}; a group's/exposure's owner is {name, email}."""
    if isinstance(owner, str):
        return owner.strip() or None
    if isinstance(owner, dict):
        for k in ("email", "name"):
            v = owner.get(k)
            if isinstance(v, str) and v.strip():
                return v.strip()
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dbt_consumers(manifest_path: Path, registry: Registry, dialect: str) -> list[DbtConsumer]:
    """Every dbt model that depends on a deprecated model's node, with its owner."""
    from deprecator.dbt.manifest import load_manifest, read_manifest_json

    manifest = load_manifest(manifest_path, dialect=dialect)
    raw = read_manifest_json(manifest_path)
    groups = _mapping(raw.get("groups"))
    group_owner = {str(g.get("name")): _owner_text(g.get("owner")) for g in groups.values() if isinstance(g, dict)}
    exposure_owner: dict[str, tuple[str, str]] = {}
    exposures = _mapping(raw.get("exposures"))
    for e in exposures.values():
        if not isinstance(e, dict):
            continue
        owner = _owner_text(e.get("owner"))
        for uid in (e.get("depends_on") or {}).get("nodes") or ():
            if owner and uid not in exposure_owner:
                exposure_owner[uid] = (owner, str(e.get("name")))
    deprecated: dict[str, str] = {}   # node unique_id -> registered model
    for uid, node in manifest.nodes.items():
        if node.relation is not None:
            dep = registry.by_relation(node.relation)
            if dep is not None:
                deprecated[uid] = dep.model
    out: list[DbtConsumer] = []
    for uid, node in sorted(manifest.nodes.items()):
        if node.resource_type != "model":
            continue
        for parent in node.depends_on:
            model = deprecated.get(parent)
            if model is None or uid in deprecated:
                continue
            owner, how = _owner_text(node.meta.get("owner")), "meta.owner"
            if owner is None and node.group:
                owner, how = group_owner.get(node.group), f"group {node.group}"
            if owner is None and uid in exposure_owner:
                owner, how = exposure_owner[uid][0], f"exposure {exposure_owner[uid][1]}"
            out.append(DbtConsumer(model, node.name, owner, how if owner else "none"))
    return out


