"""dbt's ``manifest.json``: one reader for every use (dbt-managed views, ``ref()`` mapping, deprecations).

Supported: manifest schema v12 (dbt 1.8+), and v10-v11 (dbt 1.6-1.7), whose
model fields used here (``relation_name``, ``version``, ``latest_version``,
``deprecation_date``, ``depends_on``, ``meta``) are the same.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from deprecator.errors import ConfigError
from deprecator.sql.model import RelationName
from deprecator.sql.names import normalize_relation

SUPPORTED_SCHEMAS = (10, 11, 12)
_SCHEMA_URL = re.compile(r"/manifest/v(\d+)\.json$")


def read_manifest_json(path: str | Path, *, require_version: bool = True) -> dict[str, Any]:
    """The manifest as JSON, checked to be one: a ``nodes`` object and a supported schema version.

    ``require_version=False`` accepts a manifest without ``metadata.dbt_schema_version``
    (a hand-made one); a version that is present must still be supported.
    """
    p = Path(path)
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("the dbt manifest does not exist", path=str(p),
                          hint="run `dbt parse` (or `dbt compile`) to write target/manifest.json") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the dbt manifest: {e}", path=str(p)) from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"the dbt manifest is not valid JSON: {e.msg}", path=str(p), line=e.lineno) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("nodes"), dict):
        raise ConfigError("not a dbt manifest: no `nodes` object", path=str(p), field="nodes")
    version = schema_version(manifest)
    if version is None:
        if require_version:
            raise ConfigError("not a dbt manifest: no `metadata.dbt_schema_version`", path=str(p),
                              field="metadata.dbt_schema_version",
                              hint="run `dbt parse` (dbt 1.6 or later) to write target/manifest.json")
    elif version not in SUPPORTED_SCHEMAS:
        raise ConfigError(
            f"dbt manifest schema v{version} is not supported (v10 to v12 are: dbt 1.6 and later)",
            path=str(p), field="metadata.dbt_schema_version",
            hint="regenerate it with a supported dbt: `dbt parse`")
    return manifest


def schema_version(manifest: Mapping[str, Any]) -> int | None:
    meta = manifest.get("metadata")
    url = meta.get("dbt_schema_version") if isinstance(meta, dict) else None
    if not isinstance(url, str):
        return None
    m = _SCHEMA_URL.search(url)
    return int(m.group(1)) if m else -1


@dataclass(frozen=True)
class ManifestNode:
    """A model, seed, snapshot or source as the manifest describes it."""

    unique_id: str
    resource_type: str
    name: str                       # model name (for a source: the table name)
    package: str                    # package_name (for a source: also the package)
    source_name: str | None = None  # sources only
    version: str | None = None
    latest_version: str | None = None
    relation_name: str | None = None
    relation: RelationName | None = None
    deprecation_date: _dt.date | None = None
    original_file_path: str | None = None
    depends_on: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    group: str | None = None
    compiled_code: str | None = None    # present after `dbt compile` (not after `dbt parse`)
    patch_path: str | None = None       # the properties YAML describing it (``package://path``), if any

    @property
    def label(self) -> str:
        if self.source_name:
            return f"source('{self.source_name}', '{self.name}')"
        return self.name + (f" v{self.version}" if self.version is not None else "")


@dataclass(frozen=True)
class Manifest:
    path: Path
    schema: int | None
    project: str | None
    nodes: Mapping[str, ManifestNode]          # unique_id -> node (models, seeds, snapshots, sources)

    def resolve_ref(self, name: str, package: str | None = None, version: str | None = None) -> ManifestNode | None:
        """The node ``ref(package?, name, v=version?)`` points at, as dbt resolves it (None if unknown)."""
        found = [n for n in self.nodes.values()
                 if n.source_name is None and n.name == name and (package is None or n.package == package)]
        if not found:
            return None
        if version is not None:
            found = [n for n in found if n.version == version]
        else:
            versioned = [n for n in found if n.version is not None]
            if versioned:
                latest = versioned[0].latest_version
                found = [n for n in versioned if n.version == latest] or versioned
        if len(found) > 1 and self.project:
            found = [n for n in found if n.package == self.project] or found
        return found[0] if found else None

    def compiled_sql(self, node: ManifestNode) -> str | None:
        """The node's compiled SQL: ``compiled_code``, else ``target/compiled/<package>/<path>`` beside the manifest."""
        if node.compiled_code:
            return node.compiled_code
        if not node.original_file_path:
            return None
        f = self.path.parent / "compiled" / node.package / node.original_file_path
        try:
            return f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def resolve_source(self, source_name: str, table: str) -> ManifestNode | None:
        for n in self.nodes.values():
            if n.source_name == source_name and n.name == table:
                return n
        return None

    def nodes_for_file(self, path: str) -> list[ManifestNode]:
        """Nodes defined by the file at ``path``: dbt records paths relative to the dbt project,
        which may sit in a sub-folder of the repository, so any trailing part of ``path`` matches."""
        by_path = self.__dict__.get("_by_path")
        if by_path is None:
            by_path = {}
            for n in self.nodes.values():
                if n.original_file_path:
                    by_path.setdefault(n.original_file_path.replace("\\", "/"), []).append(n)
            object.__setattr__(self, "_by_path", by_path)
        parts = path.replace("\\", "/").split("/")
        out: list[ManifestNode] = []
        for i in range(len(parts)):
            out.extend(by_path.get("/".join(parts[i:]), ()))
        return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _date(value: Any, where: str, path: Path) -> _dt.date | None:
    if value in (None, ""):
        return None
    try:
        text = str(value).strip().replace("Z", "+00:00")
        return _dt.datetime.fromisoformat(text).date() if "T" in text or " " in text else _dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"not a date: {value!r}", path=str(path), field=where) from None


def load_manifest(path: str | Path, *, dialect: str = "postgres") -> Manifest:
    """Read ``manifest.json``: models, seeds, snapshots and sources with their relations, versions, dates."""
    p = Path(path)
    data = read_manifest_json(p)
    out: dict[str, ManifestNode] = {}
    for section in ("nodes", "sources"):
        items = data.get(section) or {}
        if not isinstance(items, dict):
            raise ConfigError(f"`{section}` is not an object", path=str(p), field=section)
        for uid, node in items.items():
            if not isinstance(node, dict):
                raise ConfigError("a node is not an object", path=str(p), field=f"{section}.{uid}")
            rtype = node.get("resource_type")
            if rtype not in ("model", "seed", "snapshot", "source"):
                continue
            relation_name = node.get("relation_name")
            relation = None
            if relation_name:
                try:
                    relation = normalize_relation(str(relation_name), dialect)
                except ValueError as e:
                    raise ConfigError(str(e), path=str(p), field=f"{section}.{uid}.relation_name") from None
            depends = node.get("depends_on") or {}
            meta = node.get("meta") or (node.get("config") or {}).get("meta") or {}
            name = node.get("name")
            if not isinstance(name, str):
                raise ConfigError("a node has no `name`", path=str(p), field=f"{section}.{uid}.name")
            out[uid] = ManifestNode(
                unique_id=uid,
                resource_type=str(rtype),
                name=name,
                package=str(node.get("package_name") or ""),
                source_name=_text(node.get("source_name")) if rtype == "source" else None,
                version=_text(node.get("version")),
                latest_version=_text(node.get("latest_version")),
                relation_name=_text(relation_name),
                relation=relation,
                deprecation_date=_date(node.get("deprecation_date"), f"{section}.{uid}.deprecation_date", p),
                original_file_path=_text(node.get("original_file_path")),
                depends_on=tuple(x for x in (depends.get("nodes") or []) if isinstance(x, str)),
                meta=meta if isinstance(meta, dict) else {},
                group=_text(node.get("group")),
                compiled_code=_text(node.get("compiled_code")),
                patch_path=_text(node.get("patch_path")),
            )
    project = (data.get("metadata") or {}).get("project_name")
    return Manifest(p, schema_version(data), project if isinstance(project, str) else None, out)
