"""Deprecated models as dbt models see them, shared by the CI gate (``check``) and ``scan``.

``build_targets`` merges the registry with the models the manifest marks deprecated
(``deprecation_date``; the registry wins for a model both name); ``ref_targets`` maps a
``ref()``/``source()`` call to them, through the manifest when there is one, else by the
model's bare name. A low-level reader like ``dbt.manifest`` and ``dbt.refs``: it imports
neither the check nor the scan, so both (and the file source) can use it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

from deprecator.sql.model import RelationName

if TYPE_CHECKING:
    from deprecator.registry import Registry

# Said where a ref() was matched by the model's name, without a manifest.
BY_NAME_NOTE = ("mapped by model name: no dbt manifest is configured (`dbt: manifest:` in deprecator.yml), "
                "so aliases, custom schemas and versions are not resolved")


@dataclass(frozen=True)
class Target:
    """A deprecated model as a ref() or a relation name is matched against it."""

    model: str                          # as registered (registry) or the dbt relation / name
    relation: RelationName | None
    names: frozenset[str]               # bare names (lower-cased) a ref() or a suppression may use
    replacement: str | None
    sunset: _dt.date
    guide: str | None = None
    origin: Literal["registry", "dbt"] = "registry"
    unique_id: str | None = None        # the dbt node, when known


def build_targets(registry: Registry, manifest: Any | None,
                  guide_for: Callable[[str], str | None] | None = None,
                  ) -> tuple[list[Target], list[str]]:
    """The deprecated models: the registry's, plus manifest models with a ``deprecation_date``.

    For the same model the registry wins; a disagreement on the sunset or the
    replacement is returned as a message. ``guide_for(model)``: the guide when
    neither the registry nor the model's meta names one.
    """
    guide_for = guide_for or (lambda _model: None)
    targets: list[Target] = []
    notes: list[str] = []
    for dep, rel in zip(registry.deprecations, registry._normalized()):
        names = {rel.name.lower()}
        uid = None
        if manifest is not None:
            for node in manifest.nodes.values():
                if node.relation is not None and rel.matches(strip_catalog(node.relation, rel)):
                    names.add(node.name.lower())
                    uid = uid or node.unique_id
        targets.append(Target(dep.model, rel, frozenset(names), dep.target, dep.sunset,
                              dep.migration_guide or guide_for(dep.model), "registry", uid))
    if manifest is None:
        return targets, notes
    for node in manifest.nodes.values():
        if node.deprecation_date is None or node.source_name is not None:
            continue
        replacement = dbt_replacement(node, manifest)
        same = [t for t in targets if t.unique_id == node.unique_id
                or (t.relation is not None and node.relation is not None
                    and t.relation.matches(strip_catalog(node.relation, t.relation)))]
        if same:
            t = same[0]
            if t.sunset != node.deprecation_date or (replacement and t.replacement
                                                      and replacement.lower() != t.replacement.lower()):
                notes.append(f"{t.model}: the registry (sunset {t.sunset}, replacement {t.replacement}) "
                             f"and dbt's {node.unique_id} (deprecation_date {node.deprecation_date}, "
                             f"replacement {replacement or 'none'}) disagree; the registry wins")
            continue
        label = str(node.relation) if node.relation is not None else node.name
        guide = None
        meta_dep = node.meta.get("deprecator") if isinstance(node.meta.get("deprecator"), dict) else {}
        if isinstance(meta_dep.get("guide"), str):
            guide = meta_dep["guide"]
        targets.append(Target(label, node.relation, frozenset({node.name.lower()}), replacement,
                              node.deprecation_date, guide or guide_for(node.name), "dbt", node.unique_id))
    return targets, notes


def strip_catalog(rel: RelationName, like: RelationName) -> RelationName:
    return rel if like.catalog is not None else RelationName(None, rel.schema, rel.name)


def dbt_replacement(node: Any, manifest: Any) -> str | None:
    """What dbt says replaces ``node``: ``meta.deprecator.replacement``, ``meta.replacement``, else the
    latest version for an older one (as ``ref('m', v=N)``)."""
    meta_dep = node.meta.get("deprecator") if isinstance(node.meta.get("deprecator"), dict) else {}
    for value in (meta_dep.get("replacement"), node.meta.get("replacement")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    if node.version is not None and node.latest_version is not None and node.version != node.latest_version:
        latest = manifest.resolve_ref(node.name, node.package, node.latest_version)
        if latest is not None:
            return f"ref('{node.name}', v={node.latest_version})"
    return None


def target_relation(t: Target) -> str | None:
    return str(t.relation) if t.relation is not None else None


def dynamic_targets(file_nodes: list[Any], targets: list[Target]) -> list[Target]:
    """Targets a file's models depend on (the manifest's ``depends_on``): what a dynamic ref may name."""
    deps = {d for n in file_nodes for d in n.depends_on}
    return [t for t in targets if t.unique_id and t.unique_id in deps]


def ref_targets(ref: Any, targets: list[Target], manifest: Any) -> list[tuple[Target, Any, str | None]]:
    """Targets a literal ref()/source() points at, with how ("manifest" | "name") and the relation:
    through the manifest, else by model name."""
    if manifest is not None:
        node = manifest_node(ref, manifest)
        if node is None:
            return []
        out = []
        for t in targets:
            if t.unique_id == node.unique_id or (
                    t.relation is not None and node.relation is not None
                    and t.relation.matches(strip_catalog(node.relation, t.relation))):
                out.append((t, "manifest", str(node.relation) if node.relation else node.relation_name))
        return out
    name = (ref.name or "").lower()
    return [(t, "name", target_relation(t)) for t in targets if name in t.names]


def manifest_node(ref: Any, manifest: Any) -> Any:
    if ref.kind == "source":
        return manifest.resolve_source(ref.package, ref.name)
    return manifest.resolve_ref(ref.name, ref.package, ref.version)


def relation_targets(ref: Any, targets: list[Target]) -> list[Target]:
    """Targets a relation the SQL engine found names (a BigQuery wildcard: every one it covers)."""
    if ref.wildcard:
        return [t for t in targets if t.relation is not None and ref.covers(t.relation)]
    for rel in (ref.relation, *ref.candidates):
        hits = [t for t in targets if t.relation is not None and t.relation.matches(rel)]
        if hits:
            return hits
    return []


def manifest_deprecations(registry: Registry, manifest: Any) -> tuple[list[Any], list[str]]:
    """The models ``manifest`` marks deprecated that the registry does not name, as ``Deprecation``
    records with ``origin="dbt"`` (``replacement`` is empty when dbt names none), and the messages
    where the registry and dbt disagree on a model both name (the registry wins): what
    ``build_targets`` adds to the registry, for ``deprecator list``."""
    from deprecator.registry import Deprecation

    targets, notes = build_targets(registry, manifest)
    out = []
    for t in targets:
        if t.origin != "dbt":
            continue
        node = manifest.nodes.get(t.unique_id) if t.unique_id else None
        meta = node.meta if node is not None else {}
        owner = meta.get("owner") if isinstance(meta.get("owner"), str) else None
        out.append(Deprecation(t.model, t.replacement or "", t.sunset, owner=owner, migration_guide=t.guide,
                               origin="dbt", path=str(manifest.path)))
    return out, notes


def with_manifest_deprecations(registry: Registry, manifest: Any) -> tuple[Registry, list[str]]:
    """``registry`` with ``manifest_deprecations`` appended (the registry's own first, in file order)."""
    from deprecator.registry import Registry as _Registry

    extra, notes = manifest_deprecations(registry, manifest)
    if not extra:
        return registry, notes
    return _Registry(registry.deprecations + tuple(extra), registry.path, registry.dialect,
                     registry.default_schema, registry.default_catalog), notes
