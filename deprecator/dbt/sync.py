"""``deprecator dbt sync``: write the registry's deprecations into the dbt models' properties YAML.

For each registered deprecation that is a model of the dbt project, the
model's properties entry gets ``deprecation_date`` (the sunset) and
``config.meta.deprecator`` (``replacement``; ``guide``: the registry's, else the
generated one once `deprecator guide` wrote it; ``contact``: else the owner),
so dbt's own warnings about refs to deprecated models fire too.

The YAML is edited as text, at the exact spans ruamel's composer reports for
each node: a changed value replaces only its scalar, a missing key is a new
line after the entry's ``name:`` line (indented as its siblings), so comments,
order, quoting and layout elsewhere stay byte for byte. Every edited file is
read back and compared with what was meant (the old document with exactly
those keys set) before anything is written. Running it again changes nothing.

Where the properties are:

* the model's entry: with a manifest, the node's ``patch_path`` first; in any
  case every ``*.yml``/``*.yaml`` under the project's model (and snapshot,
  analysis, test) paths is searched for ``models: - name: <model>`` (for a
  versioned model, its ``versions: - v: N`` item);
* a model with no entry gets one in ``_deprecations.yml`` next to its SQL file
  (created when missing, its ``models:`` list appended to otherwise), a file
  deprecator owns, so the team's own properties files are not reshuffled.

Without a manifest a deprecation is matched to the model named like its
relation's table name (aliases and custom schemas need the manifest).
A deprecation that is no model of the project is listed as skipped. Keys of
models no longer registered are left as they are.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from deprecator.errors import ConfigError, DeprecatorError

if TYPE_CHECKING:
    from deprecator.registry import Registry

NEW_FILE = "_deprecations.yml"
NEW_FILE_HEAD = ("# Written by `deprecator dbt sync` from the deprecation registry: change the registry, "
                 "then sync again.\nversion: 2\n\nmodels:\n")


@dataclass(frozen=True)
class SyncChange:
    deprecation: str               # as registered
    model: str                     # dbt model (``name`` or ``name v2``)
    path: str                      # the properties file, relative to the project
    action: Literal["update", "add_entry", "unchanged"]
    fields: tuple[str, ...] = ()   # what changed: deprecation_date, meta.deprecator.replacement, ...

    def to_dict(self) -> dict[str, Any]:
        return {"deprecation": self.deprecation, "model": self.model, "path": self.path, "action": self.action,
                "fields": list(self.fields)}


@dataclass
class SyncResult:
    project: Path
    changes: list[SyncChange]
    skipped: list[tuple[str, str]]                       # (deprecation, why)
    files: dict[str, tuple[str | None, str]] = field(default_factory=dict)   # path -> (before or None, after)

    @property
    def out_of_date(self) -> bool:
        return any(before != after for before, after in self.files.values())

    def diff(self) -> str:
        from deprecator.dbt.codemod import git_diff

        out = []
        for path, (before, after) in sorted(self.files.items()):
            if before is None:
                out.append(git_diff(path, "", after).replace(
                    f"diff --git a/{path} b/{path}\n", f"diff --git a/{path} b/{path}\nnew file mode 100644\n", 1)
                    .replace(f"--- a/{path}\n", "--- /dev/null\n", 1))
            elif before != after:
                out.append(git_diff(path, before, after))
        return "".join(out)

    def write(self) -> list[Path]:
        from deprecator.yamlio import write_atomic

        written = []
        for path, (before, after) in sorted(self.files.items()):
            if before == after:
                continue
            p = self.project / path
            now = _read(p) if p.exists() else None
            if now != before:
                raise DeprecatorError(f"{path} changed while the sync ran; nothing more was written",
                                      hint="run `deprecator dbt sync` again")
            write_atomic(p, after)
            written.append(p)
        return written

    def to_dict(self) -> dict[str, Any]:
        return {"project": str(self.project), "out_of_date": self.out_of_date,
                "changes": [c.to_dict() for c in self.changes],
                "skipped": [{"deprecation": d, "why": w} for d, w in self.skipped],
                "files": sorted(p for p, (b, a) in self.files.items() if b != a), "diff": self.diff()}


# --------------------------------------------------------------------------- YAML text editing

def _read(p: Path) -> str:
    with open(p, encoding="utf-8", newline="") as fh:
        return fh.read()


def _compose(text: str, path: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    try:
        return YAML(typ="rt").compose(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise ConfigError(f"invalid YAML: {e.problem or e.context}", path=path,
                          line=mark.line + 1 if mark is not None else None) from None


def _safe_load(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def _scalar(value: Any) -> str:
    if isinstance(value, _dt.date):
        return value.isoformat()
    s = str(value)
    try:
        if _safe_load(f"k: {s}\n") == {"k": s} and "\n" not in s and s.strip() == s:
            return s
    except Exception:   # anything that does not read back as the same string is quoted
        pass
    return json.dumps(s, ensure_ascii=False)


def _same(text: str, node: Any, value: Any) -> bool:
    from ruamel.yaml.nodes import ScalarNode

    if not isinstance(node, ScalarNode):
        return False
    try:
        got = _safe_load("k: " + text[node.start_mark.index:node.end_mark.index] + "\n")["k"]
    except Exception:   # an odd scalar: rewrite it
        return False
    if isinstance(value, _dt.date) and isinstance(got, _dt.datetime):
        return got.date() == value
    if isinstance(value, _dt.date):
        return bool(got == value)
    return isinstance(got, str) and got == value


def _pair(node: Any, key: str) -> tuple[Any, Any] | None:
    for k, v in node.value:
        if getattr(k, "value", None) == key:
            return k, v
    return None


def _line_end(text: str, at: int) -> int:
    nl = text.find("\n", at)
    if nl < 0:
        return len(text)
    return nl - 1 if nl > 0 and text[nl - 1] == "\r" else nl


def _block(key: str, value: Any, indent: int, step: int) -> list[str]:
    if isinstance(value, dict):
        lines = [" " * indent + f"{key}:"]
        for k, v in value.items():
            lines += _block(k, v, indent + step, step)
        return lines
    return [" " * indent + f"{key}: {_scalar(value)}"]


class _Edits:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.nl = "\r\n" if "\r\n" in text else "\n"
        self.items: list[tuple[int, int, str]] = []
        self.fields: list[str] = []

    def apply(self) -> str:
        out, pos = [], 0
        for s, e, new in sorted(self.items, key=lambda x: (x[0], x[1])):
            out.append(self.text[pos:s])
            out.append(new)
            pos = e
        out.append(self.text[pos:])
        return "".join(out)

    def set(self, node: Any, desired: dict[str, Any], step: int, where: str) -> None:
        """Make mapping ``node`` hold ``desired`` (nested dicts are merged, scalars replaced)."""
        from ruamel.yaml.nodes import MappingNode, ScalarNode

        missing: list[tuple[str, Any]] = []
        for key, value in desired.items():
            pair = _pair(node, key)
            name = f"{where}.{key}" if where else key
            if pair is None:
                missing.append((key, value))
                continue
            kn, vn = pair
            if isinstance(value, dict):
                if isinstance(vn, MappingNode) and not vn.flow_style:
                    self.set(vn, value, step, name)
                elif isinstance(vn, ScalarNode) and str(vn.tag).endswith(":null"):
                    at = _line_end(self.text, kn.end_mark.index)
                    lines = [ln for k, v in value.items() for ln in _block(k, v, kn.start_mark.column + step, step)]
                    self.items.append((vn.start_mark.index, at, self.nl + self.nl.join(lines)))
                    self.fields.append(name)
                else:
                    raise ConfigError(f"`{name}` is not a block mapping; deprecator edits only block mappings "
                                      "here (write it as one, then sync again)", path=self.path,
                                      line=kn.start_mark.line + 1)
            elif not _same(self.text, vn, value):
                if not isinstance(vn, ScalarNode):
                    raise ConfigError(f"`{name}` is not a single value", path=self.path, line=kn.start_mark.line + 1)
                self.items.append((vn.start_mark.index, vn.end_mark.index, _scalar(value)))
                self.fields.append(name)
        if not missing:
            return
        anchor = next(((k, v) for k, v in node.value if isinstance(v, ScalarNode)
                       and v.end_mark.line == k.start_mark.line), None)
        if anchor is None:
            raise ConfigError(f"cannot place {', '.join(k for k, _ in missing)} in `{where or 'the entry'}`: "
                              "it has no one-line key to write after", path=self.path,
                              line=node.start_mark.line + 1)
        indent = node.value[0][0].start_mark.column
        lines = [ln for k, v in missing for ln in _block(k, v, indent, step)]
        at = _line_end(self.text, anchor[1].end_mark.index)
        self.items.append((at, at, self.nl + self.nl.join(lines)))
        for k, v in missing:
            while isinstance(v, dict) and len(v) == 1 and isinstance(next(iter(v.values())), dict):
                k, v = f"{k}.{next(iter(v))}", next(iter(v.values()))
            self.fields.append(f"{where}.{k}" if where else k)


def _step(root: Any) -> int:
    """The file's mapping indent step (2 when it shows none)."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, MappingNode) and not n.flow_style:
            for k, v in n.value:
                if isinstance(v, MappingNode) and not v.flow_style and v.value:
                    d = v.value[0][0].start_mark.column - k.start_mark.column
                    if d > 0:
                        return d
                stack.append(v)
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)
    return 2


# --------------------------------------------------------------------------- finding the entries

@dataclass(frozen=True)
class _Model:
    name: str
    version: str | None
    sql_path: str | None            # relative to the project
    patch_path: str | None


def _models_in(root: Any) -> list[Any]:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if not isinstance(root, MappingNode):
        return []
    pair = _pair(root, "models")
    if pair is None or not isinstance(pair[1], SequenceNode):
        return []
    return [m for m in pair[1].value if isinstance(m, MappingNode)]


def _entry(root: Any, model: _Model) -> Any | None:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    for m in _models_in(root):
        name = _pair(m, "name")
        if name is None or getattr(name[1], "value", None) != model.name:
            continue
        if model.version is None:
            return m
        versions = _pair(m, "versions")
        if versions is None or not isinstance(versions[1], SequenceNode):
            return None
        for item in versions[1].value:
            v = _pair(item, "v") if isinstance(item, MappingNode) else None
            if v is not None and str(getattr(v[1], "value", "")) == model.version:
                return item
        return None
    return None


def _yaml_files(project: Path) -> list[Path]:
    from deprecator.dbt.codemod import yaml_files

    return yaml_files(project)


def _models(registry: Registry, manifest: Any | None, project: Path, *, dialect: str, default_schema: Sequence[str],
            default_catalog: str | None) -> tuple[list[tuple[Any, _Model]], list[tuple[str, str]]]:
    from deprecator.dbt.codemod import _sql_files, _strip_catalog, project_paths

    rules = registry.rewrite_rules(dialect, default_schema, default_catalog)
    out: list[tuple[Any, _Model]] = []
    skipped: list[tuple[str, str]] = []
    sql_by_name: dict[str, str] | None = None
    versioned: dict[str, tuple[str, str]] = {}
    for dep, rule in zip(registry.deprecations, rules):
        if manifest is not None:
            nodes = [n for n in manifest.nodes.values() if n.resource_type == "model" and n.relation is not None
                     and rule.old.matches(_strip_catalog(n.relation, rule.old))]
            if not nodes:
                skipped.append((dep.model, "no model of the manifest builds it"))
                continue
            n = nodes[0]
            patch = n.patch_path.split("://", 1)[-1] if n.patch_path else None
            out.append((dep, _Model(n.name, n.version, n.original_file_path, patch)))
            continue
        if sql_by_name is None:
            sql_by_name = {}
            for f in _sql_files([p for p in project_paths(project) if p.name != "macros"]):
                sql_by_name.setdefault(f.stem, f.relative_to(project).as_posix())
            versioned = _versioned_files(project)
        name = rule.old.name
        if name in versioned:   # dim_customers_v1.sql: version 1 of dim_customers, as dbt names its files
            base, v = versioned[name]
            out.append((dep, _Model(base, v, sql_by_name.get(name), None)))
            continue
        match = sql_by_name.get(name) or next((v for k, v in sql_by_name.items() if k.lower() == name.lower()), None)
        if match is None:
            skipped.append((dep.model, f"no model named {name} in the project (give --manifest when its alias "
                                       "or schema differs)"))
            continue
        out.append((dep, _Model(Path(match).stem, None, match, None)))
    return out, skipped


def _versioned_files(project: Path) -> dict[str, tuple[str, str]]:
    """``<model>_v<N>`` -> (model, N) for every version the properties YAML declares (``defined_in`` kept)."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    out: dict[str, tuple[str, str]] = {}
    for p in _yaml_files(project):
        text = _read(p)
        if "versions" not in text:
            continue
        for m in _models_in(_compose(text, p.relative_to(project).as_posix())):
            name, versions = _pair(m, "name"), _pair(m, "versions")
            if name is None or versions is None or not isinstance(versions[1], SequenceNode):
                continue
            for item in versions[1].value:
                v = _pair(item, "v") if isinstance(item, MappingNode) else None
                if v is None:
                    continue
                file = _pair(item, "defined_in")
                stem = str(file[1].value) if file is not None else f"{name[1].value}_v{v[1].value}"
                out[stem] = (str(name[1].value), str(v[1].value))
    return out


def _desired(dep: Any, guides_root: Path | None = None) -> dict[str, Any]:
    from deprecator.guide import guide_link

    meta = {"replacement": dep.target}
    guide = guide_link(dep.model, dep.migration_guide, guides_root)   # never a guide not written
    if guide:
        meta["guide"] = guide
    contact = dep.contact or dep.owner
    if contact:
        meta["contact"] = contact
    return {"deprecation_date": dep.sunset, "deprecator": meta}


def _expected(data: Any, model: _Model, desired: dict[str, Any], meta_at: tuple[str, ...]) -> Any:
    """The plain data the edited file must load as: ``data`` with exactly ``desired`` set in the entry."""
    data = copy.deepcopy(data)
    if data is None:
        data = {"version": 2, "models": []}
    entry = None
    for m in data.get("models") or []:
        if isinstance(m, dict) and m.get("name") == model.name:
            entry = m
            if model.version is not None:
                entry = next(v for v in m.get("versions") or [] if str(v.get("v")) == model.version)
            break
    if entry is None:
        entry = {"name": model.name}
        data.setdefault("models", []).append(entry)
    entry["deprecation_date"] = desired["deprecation_date"]
    target = entry
    for key in meta_at:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    old: dict[str, Any] = target["deprecator"] if isinstance(target.get("deprecator"), dict) else {}
    target["deprecator"] = {**old, **desired["deprecator"]}
    return data


def _same_data(a: Any, b: Any) -> bool:
    def norm(x: Any) -> Any:
        if isinstance(x, _dt.datetime):
            return x.isoformat()
        if isinstance(x, dict):
            return {str(k): norm(v) for k, v in x.items()}
        if isinstance(x, list):
            return [norm(v) for v in x]
        return x
    return bool(norm(a) == norm(b))


def sync_text(text: str | None, path: str, model: _Model, dep: Any,
              guides_root: Path | None = None) -> tuple[str, tuple[str, ...], bool]:
    """The properties file ``text`` (None: a new file) with ``dep`` written into ``model``'s entry.

    Returns the new text, the fields that changed and whether the entry was added.
    """
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    desired = _desired(dep, guides_root)
    base = text if text is not None else NEW_FILE_HEAD
    root = _compose(base, path) if base.strip() else None
    entry = _entry(root, model) if root is not None else None
    added = entry is None
    if added:
        if model.version is not None:
            raise ConfigError(f"versioned model {model.name} v{model.version} has no `versions:` item in {path}",
                              path=path)
        pair = _pair(root, "models") if isinstance(root, MappingNode) else None
        seq = pair[1] if pair is not None else None
        nl = "\r\n" if "\r\n" in base else "\n"
        if seq is not None and isinstance(seq, SequenceNode) and seq.value and not seq.flow_style:
            dash = seq.value[0].start_mark.column - 2
            tail = root is not None and root.value[-1][1] is seq
            if not tail:
                raise ConfigError("`models:` is not the last key: add the entry by hand", path=path)
        elif seq is None or (isinstance(seq, SequenceNode) and not seq.value) or getattr(seq, "tag", "").endswith(
                ":null"):
            dash = 2
            if pair is not None and isinstance(seq, SequenceNode) and seq.flow_style:   # `models: []`
                base = base[:seq.start_mark.index] + base[seq.end_mark.index:]
            elif pair is None:
                base = base + ("" if base.endswith("\n") or not base else nl) + "models:" + nl
        else:
            raise ConfigError("`models:` is not a block list: add the entry by hand", path=path)
        if base and not base.endswith("\n"):
            base += nl
        step = _step(root) if root is not None else 2
        meta = {"config": {"meta": {"deprecator": desired["deprecator"]}}}
        lines = [" " * dash + "- " + f"name: {_scalar(model.name)}"]
        lines += _block("deprecation_date", desired["deprecation_date"], dash + 2, step)
        for k, v in meta.items():
            lines += _block(k, v, dash + 2, step)
        new = base + nl.join(lines) + nl
        fields: tuple[str, ...] = ("deprecation_date", "config.meta.deprecator")
        meta_at: tuple[str, ...] = ("config", "meta")
    else:
        step = _step(root)
        edits = _Edits(base, path)
        if _pair(entry, "meta") is not None:
            meta_at = ("meta",)
        else:
            meta_at = ("config", "meta")
        want: dict[str, Any] = {"deprecation_date": desired["deprecation_date"]}
        nested: dict[str, Any] = {"deprecator": desired["deprecator"]}
        for key in reversed(meta_at):
            nested = {key: nested}
        want.update(nested)
        edits.set(entry, want, step, "")
        new = edits.apply()
        fields = tuple(edits.fields)
    before_data = _safe_load(text) if text is not None and text.strip() else None
    try:
        after_data = _safe_load(new)
    except Exception as e:   # a bug here must never reach the file
        raise DeprecatorError(f"internal: the synced {path} does not read back ({e}); it was not written") from None
    if not _same_data(after_data, _expected(before_data, model, desired, meta_at)):
        raise DeprecatorError(f"internal: the synced {path} does not hold what was meant; it was not written",
                              hint="please report it with the file")
    return new, fields, added


def run_sync(project_dir: str | Path, registry: Registry, *, manifest_path: str | Path | None = None,
             dialect: str = "postgres", default_schema: Sequence[str] = (),
             default_catalog: str | None = None, guides_root: Path | None = None) -> SyncResult:
    """What ``deprecator dbt sync`` would write (nothing is written: see ``SyncResult.write``).

    ``guides_root``: the folder of deprecator.yml, where `deprecator guide` writes the guides the
    registry does not name (linked once written)."""
    project = Path(project_dir)
    manifest = None
    if manifest_path is not None:
        from deprecator.dbt.manifest import load_manifest

        manifest = load_manifest(manifest_path, dialect=dialect)
    models, skipped = _models(registry, manifest, project, dialect=dialect, default_schema=default_schema,
                              default_catalog=default_catalog)
    files: dict[str, tuple[str | None, str]] = {}
    yaml_files = _yaml_files(project)
    changes: list[SyncChange] = []

    def current(rel: str) -> str | None:
        if rel in files:
            return files[rel][1]
        p = project / rel
        return _read(p) if p.is_file() else None

    for dep, model in models:
        label = model.name + (f" v{model.version}" if model.version is not None else "")
        candidates = ([model.patch_path] if model.patch_path else []) + [
            p.relative_to(project).as_posix() for p in yaml_files]
        where = None
        for rel in dict.fromkeys(candidates):
            text = current(rel)
            if text is None or model.name not in text:
                continue
            root = _compose(text, rel)
            if _entry(root, model) is not None:
                where = rel
                break
        if where is None:
            if model.sql_path is None:
                skipped.append((dep.model, f"{label} has no SQL file and no properties entry"))
                continue
            where = (Path(model.sql_path).parent / NEW_FILE).as_posix()
        before = current(where)
        new, fields, added = sync_text(before, where, model, dep, guides_root)
        if where not in files:
            files[where] = (before, new)
        else:
            files[where] = (files[where][0], new)
        action: Literal["update", "add_entry", "unchanged"] = (
            "add_entry" if added else "update" if fields else "unchanged")
        changes.append(SyncChange(dep.model, label, where, action, fields))
    return SyncResult(project, changes, skipped, files)
