"""The dbt codemod: point ``ref()`` calls at a deprecated model's replacement, in place.

For each model file (and analyses, tests, snapshots, macros) of a dbt project:

* every literal ``ref('customer_facts')`` that resolves to a deprecated model
  (through the manifest when one is given, else by the model's table name) gets
  the replacement's dbt name written into the string literal's span, quote
  style kept; a ``package`` argument follows the replacement's package, a
  version argument (``v=1``, ``version='1'``) follows its version;
* where the deprecation renames columns (the registry's ``columns:``), the
  column names of that model are rewritten too: the Jinja is masked with
  same-length placeholders (``deprecator.dbt.refs``), the deprecated relation
  stands for each ``{{ ref(...) }}`` as a placeholder name of that length, the
  span-preserving SQL rewrite (``deprecator.sql.rewrite``) runs on that text, and
  only its column edits are spliced back into the raw file. Every other byte of
  the file is kept.

Blockers, as in the view plan, leave a file unchanged with the reason:

* a column edit that would fall inside Jinja, an ambiguous or removed column,
  ``SELECT *`` over a deprecation whose columns differ, SQL that does not parse
  after masking, a deprecated ``ref()`` inside a larger Jinja expression (a macro's
  arguments, ``{% set %}``) when columns must follow it. The ref rename alone
  is safe only when the deprecation renames and removes no column (the model
  then reads the same columns from the replacement), so when columns must change
  and cannot, the file is left as it is (a ref renamed without its columns would
  break the model);
* a dynamic ``ref(var(...))`` that may resolve to a deprecated model (the
  manifest's ``depends_on``; without a manifest: its text names one) is a blocker
  the file cannot settle, but the file's literal refs are still rewritten when
  that is otherwise safe (``status == "partial"``): fix the dynamic one by hand.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from jinja2 import Environment

from deprecator.dbt.refs import DbtRef, has_jinja, scan_jinja
from deprecator.sql.model import RelationName, RewriteRule
from deprecator.sql.names import normalize_relation

if TYPE_CHECKING:
    from deprecator.registry import Registry

BlockerKind = Literal["dynamic_ref", "ref_in_expression", "column", "column_in_jinja", "sql_parse",
                      "jinja_parse", "unreadable", "variant_conflict", "yaml_ref", "yaml_parse", "cycle"]
FileStatus = Literal["rewrite", "partial", "blocked"]
SKIP_DIRS = frozenset({"target", "dbt_packages", "dbt_modules", "node_modules", "logs", "venv", "__pycache__"})
# Top-level keys of a dbt properties file (the YAML files whose refs the codemod follows).
PROPERTY_KEYS = frozenset({"models", "sources", "seeds", "snapshots", "analyses", "exposures", "metrics",
                           "semantic_models", "saved_queries", "unit_tests", "data_tests", "macros", "groups"})
DEFAULT_PATHS = {"model-paths": ["models"], "analysis-paths": ["analyses"], "test-paths": ["tests"],
                 "snapshot-paths": ["snapshots"], "macro-paths": ["macros"]}


@dataclass(frozen=True)
class CodemodEdit:
    start: int
    end: int
    old: str
    new: str
    kind: Literal["ref", "column"]
    line: int
    column: int


@dataclass(frozen=True)
class CodemodBlocker:
    kind: BlockerKind
    reason: str
    deprecation: str | None = None
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "deprecation": self.deprecation,
                "line": self.line, "column": self.column}


@dataclass(frozen=True)
class FileCodemod:
    """One file that refs a deprecated model: its edits (applied when not blocked) and blockers."""

    path: str                      # as shown and as the diff names it (relative to the display root)
    abs_path: Path
    before: str
    edits: tuple[CodemodEdit, ...] = ()
    blockers: tuple[CodemodBlocker, ...] = ()
    deprecations: tuple[str, ...] = ()

    @property
    def status(self) -> FileStatus:
        if any(b.kind != "dynamic_ref" for b in self.blockers) or not self.edits:
            return "blocked"
        return "partial" if self.blockers else "rewrite"

    @property
    def after(self) -> str:
        if self.status == "blocked":
            return self.before
        return splice(self.before, self.edits)

    def diff(self) -> str:
        """A unified diff that ``git apply`` accepts (empty when the file is unchanged)."""
        return git_diff(self.path, self.before, self.after)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "deprecations": list(self.deprecations),
                "applied": self.status != "blocked",     # a blocked file's edits are what it would need
                "edits": [{"kind": e.kind, "line": e.line, "column": e.column, "old": e.old, "new": e.new}
                          for e in self.edits],
                "blockers": [b.to_dict() for b in self.blockers], "diff": self.diff()}


@dataclass(frozen=True)
class RefTarget:
    """A deprecation as refs name it, and the ref that replaces it."""

    deprecation: str               # the model as registered
    rule: RewriteRule
    old_nodes: frozenset[str]      # manifest unique_ids (empty without a manifest)
    old_names: frozenset[str]      # model names (lower-cased) refs may use without a manifest
    new_name: str
    new_package: str | None = None
    new_version: str | None = None
    new_latest: str | None = None
    mapped_by: Literal["manifest", "name"] = "name"
    # the replacement and every node it reads, transitively (manifest): a file among them that is
    # pointed at the replacement would make the replacement read itself
    upstream_of_new: frozenset[str] = frozenset()

    @property
    def changes_columns(self) -> bool:
        return any(k != v for k, v in self.rule.columns.items()) or bool(self.rule.removed_columns)

    def replacement_ref(self) -> str:
        v = f", v={self.new_version}" if self.new_version is not None and self.new_version != self.new_latest else ""
        return f"ref('{self.new_name}'{v})"


@dataclass
class CodemodResult:
    project: Path
    files: list[FileCodemod]
    targets: list[RefTarget]
    notes: list[str] = field(default_factory=list)
    files_read: int = 0
    manifest: str | None = None

    @property
    def changed(self) -> list[FileCodemod]:
        return [f for f in self.files if f.status != "blocked"]

    @property
    def blocked(self) -> list[FileCodemod]:
        return [f for f in self.files if f.blockers]

    def diff(self) -> str:
        return "".join(f.diff() for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"project": str(self.project), "manifest": self.manifest, "files_read": self.files_read,
                "targets": [{"deprecation": t.deprecation, "replacement_ref": t.replacement_ref(),
                             "mapped_by": t.mapped_by, "columns": dict(t.rule.columns),
                             "removed_columns": sorted(t.rule.removed_columns)} for t in self.targets],
                "files": [f.to_dict() for f in self.files], "notes": list(self.notes),
                "summary": {"rewritten": sum(f.status == "rewrite" for f in self.files),
                            "partial": sum(f.status == "partial" for f in self.files),
                            "blocked": sum(f.status == "blocked" for f in self.files)}}


# --------------------------------------------------------------------------- text helpers

def splice(text: str, edits: Iterable[CodemodEdit]) -> str:
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: e.start):
        out.append(text[pos:e.start])
        out.append(e.new)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def git_diff(path: str, before: str, after: str) -> str:
    """``diff --git a/path b/path`` with unified hunks; a missing final newline is marked as git marks it."""
    if before == after:
        return ""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=3):
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
            continue
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@dataclass(frozen=True)
class _Arg:
    start: int                     # offsets in the file
    end: int
    key: str | None                # keyword name, None for a positional argument
    kind: str                      # "string", "integer", "other"
    value_start: int               # the value's own span (after ``key=``)
    comma_before: int | None       # offset of the comma before this argument


def _call_args(ref: DbtRef) -> tuple[list[_Arg], int] | None:
    """The arguments of a ``ref(...)`` call with their spans, and the offset of its closing parenthesis."""
    lead = "{{ "
    try:
        raw = list(Environment().lexer.tokeniter(lead + ref.text + " }}", None))
    except Exception:   # TemplateSyntaxError: the call is not a closed call on its own
        return None
    src = lead + ref.text + " }}"
    pos, toks = 0, []
    for _line, kind, value in raw:
        at = src.find(value, pos) if value else pos
        pos = at + len(value)
        if kind != "whitespace":
            toks.append((at - len(lead) + ref.start, kind, value))
    i = next((k for k, t in enumerate(toks) if t[2] == "("), None)
    if i is None:
        return None
    args: list[_Arg] = []
    depth, comma = 0, None
    cur: list[tuple[int, str, str]] = []
    for at, kind, value in toks[i + 1:]:
        if kind == "operator" and value in "([{":
            depth += 1
        elif kind == "operator" and value in ")]}":
            if depth == 0:
                if cur:
                    args.append(_arg(cur, comma))
                return args, at
            depth -= 1
        elif kind == "operator" and value == "," and depth == 0:
            if cur:
                args.append(_arg(cur, comma))
            cur, comma = [], at
            continue
        cur.append((at, kind, value))
    return None


def _arg(toks: list[tuple[int, str, str]], comma: int | None) -> _Arg:
    key = None
    body = toks
    if len(toks) >= 3 and toks[0][1] == "name" and toks[1][2] == "=":
        key, body = toks[0][2], toks[2:]
    kind = body[0][1] if len(body) == 1 and body[0][1] in ("string", "integer") else "other"
    end = toks[-1][0] + len(toks[-1][2])
    return _Arg(toks[0][0], end, key, kind, body[0][0], comma)


def _literal(old: str, value: str) -> str:
    """``value`` as a Jinja string literal in the quote style of ``old``."""
    q = old[:1] if old[:1] in "'\"" else "'"
    return q + value.replace("\\", "\\\\").replace(q, "\\" + q) + q


# --------------------------------------------------------------------------- targets

def _strip_catalog(rel: RelationName, like: RelationName) -> RelationName:
    return rel if like.catalog is not None else RelationName(None, rel.schema, rel.name)


def build_ref_targets(registry: Registry, manifest: Any | None, *, dialect: str, default_schema: Sequence[str] = (),
                      default_catalog: str | None = None) -> tuple[list[RefTarget], list[str]]:
    """Each registered deprecation as a ``RefTarget``: which refs name it, and the ref that replaces them;
    with a manifest, also the models dbt marks deprecated that the registry does not name."""
    rules = registry.rewrite_rules(dialect, default_schema, default_catalog)
    targets: list[RefTarget] = []
    notes: list[str] = []
    for dep, rule in zip(registry.deprecations, rules):
        if manifest is None:
            targets.append(RefTarget(dep.model, rule, frozenset(), frozenset({rule.old.name.lower()}),
                                     rule.new.name))
            continue
        models = [n for n in manifest.nodes.values() if n.source_name is None and n.relation is not None]
        old = frozenset(n.unique_id for n in models if rule.old.matches(_strip_catalog(n.relation, rule.old)))
        new = [n for n in models if rule.new.matches(_strip_catalog(n.relation, rule.new))]
        if not old:
            notes.append(f"{dep.model} is not a model in the manifest: no ref() names it")
            continue
        if not new:
            notes.append(f"the replacement {rule.new} of {dep.model} is not a model in the manifest: refs to "
                         f"{dep.model} are rewritten to ref('{rule.new.name}') by its table name")
            targets.append(RefTarget(dep.model, rule, old, frozenset(), rule.new.name, mapped_by="manifest"))
            continue
        n = new[0]
        targets.append(RefTarget(dep.model, rule, old, frozenset(), n.name, n.package, n.version, n.latest_version,
                                 "manifest", _upstream(manifest, n.unique_id)))
    if manifest is not None:
        targets += _manifest_targets(manifest, targets, notes, dialect, default_schema, default_catalog)
    return targets, notes


def _manifest_targets(manifest: Any, registered: Sequence[RefTarget], notes: list[str], dialect: str,
                      default_schema: Sequence[str], default_catalog: str | None) -> list[RefTarget]:
    """Models the manifest marks deprecated (``deprecation_date``) that the registry does not name: their
    replacement is ``meta.deprecator.replacement`` (or ``meta.replacement``: a relation or a model name), else,
    for an older version, the latest version. No column mapping (the registry holds those)."""
    covered = {u for t in registered for u in t.old_nodes}
    models = [n for n in manifest.nodes.values() if n.resource_type == "model" and n.source_name is None]
    out: list[RefTarget] = []
    for n in models:
        if n.deprecation_date is None or n.unique_id in covered:
            continue
        label = str(n.relation) if n.relation is not None else n.label
        meta = n.meta.get("deprecator") if isinstance(n.meta.get("deprecator"), dict) else {}
        wanted = next((v.strip() for v in (meta.get("replacement"), n.meta.get("replacement"))
                       if isinstance(v, str) and v.strip()), None)
        repl = None
        if wanted is not None:
            try:
                rel = normalize_relation(wanted, dialect, default_schema, default_catalog)
                repl = next((m for m in models if m.relation is not None
                             and rel.matches(_strip_catalog(m.relation, rel))), None)
            except ValueError:
                rel = None
            repl = repl or manifest.resolve_ref(wanted)
        elif n.version is not None and n.latest_version is not None and n.version != n.latest_version:
            repl = manifest.resolve_ref(n.name, n.package, n.latest_version)
        if repl is None:
            notes.append(f"dbt marks {n.label} deprecated, but "
                         + (f"its replacement {wanted!r} is no model of the manifest" if wanted else
                            "names no replacement (meta.deprecator.replacement)") + ": its refs are left alone")
            continue
        old_rel = n.relation or RelationName(None, None, n.name)
        rule = RewriteRule(old_rel, repl.relation or RelationName(None, None, repl.name), label=label)
        out.append(RefTarget(label, rule, frozenset({n.unique_id}), frozenset(), repl.name, repl.package,
                             repl.version, repl.latest_version, "manifest", _upstream(manifest, repl.unique_id)))
    return out


def _upstream(manifest: Any, uid: str) -> frozenset[str]:
    """``uid`` and every node it depends on, transitively."""
    seen: set[str] = set()
    stack = [uid]
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        node = manifest.nodes.get(u)
        if node is not None:
            stack.extend(node.depends_on)
    return frozenset(seen)


def _target_of(ref: DbtRef, targets: Sequence[RefTarget], manifest: Any | None) -> RefTarget | None:
    if ref.kind != "ref" or ref.dynamic or ref.name is None:
        return None
    if manifest is not None:
        node = manifest.resolve_ref(ref.name, ref.package, ref.version)
        if node is None:
            return None
        return next((t for t in targets if node.unique_id in t.old_nodes), None)
    if ref.version is not None:
        return None
    return next((t for t in targets if ref.name.lower() in t.old_names), None)


# --------------------------------------------------------------------------- one file

def _ref_edits(text: str, ref: DbtRef, t: RefTarget) -> list[CodemodEdit] | CodemodBlocker:
    parsed = _call_args(ref)
    if parsed is None:
        return CodemodBlocker("ref_in_expression", f"cannot read the arguments of {ref.text}", t.deprecation,
                              ref.line, ref.column)
    args, close = parsed
    positional = [a for a in args if a.key is None]
    version = next((a for a in args if a.key in ("v", "version")), None)
    out: list[tuple[int, int, str]] = []

    def put(a: _Arg, value: str) -> None:
        old = text[a.value_start:a.end]
        new = _literal(old, value) if a.kind == "string" else value
        if new != old:
            out.append((a.value_start, a.end, new))

    if not positional or any(a.kind != "string" for a in positional):
        return CodemodBlocker("ref_in_expression", f"{ref.text}: not a literal model name", t.deprecation,
                              ref.line, ref.column)
    put(positional[-1], t.new_name)
    if len(positional) == 2 and t.new_package is not None:
        put(positional[0], t.new_package)
    if version is not None:
        if t.new_version is None:      # the replacement is not versioned: drop ", v=1"
            k = args.index(version)
            start = args[k - 1].end if k > 0 else version.start
            out.append((start, version.end if k > 0 or k + 1 == len(args) else args[k + 1].start, ""))
        elif version.kind in ("string", "integer"):
            put(version, t.new_version)
        else:
            return CodemodBlocker("ref_in_expression", f"{ref.text}: the version is not a literal", t.deprecation,
                                  ref.line, ref.column)
    elif t.new_version is not None and t.new_version != t.new_latest:
        out.append((close, close, f", v={t.new_version}"))
    edits = []
    for s, e, new in out:
        line, col = _position(text, s)
        edits.append(CodemodEdit(s, e, text[s:e], new, "ref", line, col))
    return edits


def _block_span(text: str, ref: DbtRef) -> tuple[int, int] | None:
    """The ``{{ ... }}`` around ``ref`` when the call is all it holds (it stands where SQL has a relation)."""
    before = text[:ref.start].rstrip()
    if before.endswith("{{-"):
        start = len(before) - 3
    elif before.endswith("{{"):
        start = len(before) - 2
    else:
        return None
    after = text[ref.end:]
    stripped = after.lstrip()
    gap = len(after) - len(stripped)
    for closer in ("-}}", "}}"):
        if stripped.startswith(closer):
            return start, ref.end + gap + len(closer)
    return None


def _placeholder(prefix: str, k: int, length: int) -> str | None:
    head = f"{prefix}{k}"
    if len(head) > length:
        return None
    return head + "_" * (length - len(head))


def _column_edits(text: str, variants: Sequence[str], standalone: Sequence[tuple[RefTarget, int, int]],
                  dialect: str, path: str) -> tuple[list[CodemodEdit], list[CodemodBlocker]]:
    """Column edits for the refs in ``standalone`` (target, block start, block end), spliced back from the
    rewrite of each masked rendering; edits that fall inside Jinja are blockers."""
    from deprecator.sql.rewrite import rewrite

    index = {d: k for k, d in enumerate(dict.fromkeys(t.deprecation for t, _, _ in standalone))}
    blockers: list[CodemodBlocker] = []
    found: dict[tuple[int, int], str] = {}
    for masked in variants:
        jinja_at = {i for i, (a, b) in enumerate(zip(masked, text)) if a != b}
        work = list(masked)
        rules: dict[str, RewriteRule] = {}
        spans: list[tuple[int, int, RefTarget, str]] = []
        for t, s, e in standalone:
            if masked[s] != "_":       # this rendering leaves the branch out
                continue
            # the placeholder goes on the block's longest line (``{{`` alone on its line is too short
            # for a name); the rest of the block is blank, newlines kept
            segments, at = [], s
            for part in text[s:e].split("\n"):
                segments.append((at, at + len(part.rstrip("\r"))))
                at += len(part) + 1
            seg_s, seg_e = max(segments, key=lambda x: x[1] - x[0])
            k = index[t.deprecation]
            old_ph, new_ph = _placeholder("depr", k, seg_e - seg_s), _placeholder("repl", k, seg_e - seg_s)
            if old_ph is None or new_ph is None:
                blockers.append(CodemodBlocker("ref_in_expression", "the {{ ref() }} is too short to stand for "
                                               "the relation in the SQL", t.deprecation, *_position(text, s)))
                continue
            for i in range(s, e):
                if work[i] not in "\r\n":
                    work[i] = " "
            work[seg_s:seg_e] = list(old_ph)
            spans.append((s, e, t, old_ph))
            old_rel = normalize_relation(old_ph, dialect)
            if str(old_rel) not in rules:
                rules[str(old_rel)] = RewriteRule(old_rel, normalize_relation(new_ph, dialect), dict(t.rule.columns),
                                                  frozenset(t.rule.removed_columns), label=t.deprecation)
        if not spans:
            continue
        sql = "".join(work)
        rr = rewrite(sql, dialect, list(rules.values()))

        def name(reason: str) -> str:
            for _s, _e, t, ph in spans:
                for p, label in ((ph, t.deprecation), ("repl" + ph[4:], t.replacement_ref())):
                    reason = reason.replace(str(normalize_relation(p, dialect)), label).replace(p, label)
            return reason

        if rr.status != "parsed":
            blockers.append(CodemodBlocker("sql_parse", "the model's SQL (Jinja masked) does not parse, so its "
                                           f"columns cannot be followed: {rr.error or rr.status}",
                                           spans[0][2].deprecation))
            continue
        for b in rr.blockers:
            dep = next((t.deprecation for _s, _e, t, ph in spans if b.relation and ph in b.relation.lower()), None)
            blockers.append(CodemodBlocker("column", name(b.reason), dep or spans[0][2].deprecation, b.line, b.column))
        if rr.blockers:
            continue
        for ed in rr.edits:
            if any(s <= ed.start and ed.end <= e for s, e, _t, _ph in spans):
                continue        # the relation's own name: the ref edit does that
            if any(i in jinja_at for i in range(ed.start, max(ed.end, ed.start + 1))):
                blockers.append(CodemodBlocker("column_in_jinja", f"the rename of {ed.old!r} to {ed.new!r} falls "
                                               "inside Jinja; rewrite it by hand", spans[0][2].deprecation,
                                               *_position(text, ed.start)))
                continue
            key = (ed.start, ed.end)
            if key in found and found[key] != ed.new:
                blockers.append(CodemodBlocker("variant_conflict", f"{ed.old!r} would be rewritten differently in "
                                               "different {% if %} branches", spans[0][2].deprecation,
                                               *_position(text, ed.start)))
            found[key] = ed.new
    edits = []
    for (s, e), new in sorted(found.items()):
        line, col = _position(text, s)
        edits.append(CodemodEdit(s, e, text[s:e], new, "column", line, col))
    return edits, blockers


def codemod_text(text: str, path: str, targets: Sequence[RefTarget], *, manifest: Any | None = None,
                 file_nodes: Sequence[Any] = (), dialect: str = "postgres", abs_path: Path | None = None,
                 ) -> FileCodemod | None:
    """The codemod of one file's text (None when it refs no deprecated model)."""
    if not has_jinja(text):
        return None
    scan = scan_jinja(text)
    fpath = abs_path or Path(path)
    if scan.error is not None:
        low = text.lower()
        if any(n in low for t in targets for n in (t.old_names or {t.rule.old.name.lower()})):
            return FileCodemod(path, fpath, text, blockers=(CodemodBlocker(
                "jinja_parse", scan.error, None, scan.error_line, None),))
        return None
    edits: list[CodemodEdit] = []
    blockers: list[CodemodBlocker] = []
    deps: list[str] = []
    standalone: list[tuple[RefTarget, int, int]] = []
    needs_columns: list[tuple[RefTarget, DbtRef]] = []
    depends = {d for n in file_nodes for d in n.depends_on}
    for ref in scan.refs:
        if ref.kind == "ref" and ref.dynamic:
            hit = [t for t in targets if depends & t.old_nodes] if manifest is not None else [
                t for t in targets if any(n in ref.text.lower() for n in t.old_names)]
            for t in hit:
                deps.append(t.deprecation)
                blockers.append(CodemodBlocker(
                    "dynamic_ref", f"{ref.text} is dynamic and may resolve to {t.deprecation}: point it at "
                    f"{t.replacement_ref()} by hand", t.deprecation, ref.line, ref.column))
            continue
        target = _target_of(ref, targets, manifest)
        if target is None:
            continue
        t = target
        deps.append(t.deprecation)
        cycle = ({n.unique_id for n in file_nodes} & t.upstream_of_new if manifest is not None
                 else Path(path).stem.lower() == t.new_name.lower())
        if cycle:
            blockers.append(CodemodBlocker(
                "cycle", f"{t.replacement_ref()} is this model or reads it: pointing {ref.text} there would make "
                "the replacement read itself; build the replacement from the deprecated model's sources first",
                t.deprecation, ref.line, ref.column))
            continue
        got = _ref_edits(text, ref, t)
        if isinstance(got, CodemodBlocker):
            blockers.append(got)
            continue
        edits.extend(got)
        if t.changes_columns:
            span = _block_span(text, ref)
            if span is None:
                needs_columns.append((t, ref))
            else:
                standalone.append((t, span[0], span[1]))
    if not deps:
        return None
    for t, ref in needs_columns:
        blockers.append(CodemodBlocker(
            "ref_in_expression", f"{ref.text} is used inside a larger Jinja expression, so the columns read "
            f"through it cannot be followed, and {t.deprecation} renames or removes columns; rewrite by hand",
            t.deprecation, ref.line, ref.column))
    if standalone and not needs_columns:
        col_edits, col_blockers = _column_edits(text, scan.variants or (scan.masked or text,), standalone,
                                                dialect, path)
        edits.extend(col_edits)
        blockers.extend(col_blockers)
    edits.sort(key=lambda e: e.start)
    for a, b in zip(edits, edits[1:]):
        if b.start < a.end:
            blockers.append(CodemodBlocker("column_in_jinja", "two edits overlap; rewrite by hand", None, b.line,
                                           b.column))
            break
    return FileCodemod(path, fpath, text, tuple(edits), tuple(dict.fromkeys(blockers)),
                       tuple(dict.fromkeys(deps)))


def codemod_yaml(text: str, path: str, targets: Sequence[RefTarget], *, manifest: Any | None = None,
                 abs_path: Path | None = None) -> FileCodemod | None:
    """Refs in a properties file (an exposure's ``depends_on: - ref('m')``, a relationships test's
    ``to: ref('m')``): the same literal edits, at the scalar's place in the file."""
    import dataclasses

    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    try:
        root = YAML(typ="rt").compose(text)
    except Exception as e:   # it mentions a deprecated model (the caller's prefilter): never skipped silently
        mark = getattr(e, "problem_mark", None)
        return FileCodemod(path, abs_path or Path(path), text, blockers=(CodemodBlocker(
            "yaml_parse", f"the properties file does not parse, so its refs were not read: "
            f"{getattr(e, 'problem', None) or e}", None, mark.line + 1 if mark is not None else None),))
    keys = {getattr(k, "value", None) for k, _ in root.value} if isinstance(root, MappingNode) else set()
    if not keys & PROPERTY_KEYS:     # deprecations.yml, dbt_project.yml, profiles.yml: not dbt properties
        return None
    edits: list[CodemodEdit] = []
    blockers: list[CodemodBlocker] = []
    deps: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            stack.extend(v for pair in node.value for v in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, ScalarNode) and "ref(" in str(node.value):
            value = str(node.value)
            raw = text[node.start_mark.index:node.end_mark.index]
            at = raw.find(value)
            if at < 0:   # an escaped or folded scalar: its text is not the call as dbt reads it
                continue
            base = node.start_mark.index + at - 3
            for ref in scan_jinja("{{ " + value + " }}").refs:
                line, col = _position(text, base + ref.start)
                placed = dataclasses.replace(ref, start=base + ref.start, end=base + ref.end, line=line, column=col)
                t = _target_of(placed, targets, manifest)
                if t is None:
                    continue
                deps.append(t.deprecation)
                if t.changes_columns:
                    blockers.append(CodemodBlocker(
                        "yaml_ref", f"{ref.text} in properties YAML while {t.deprecation} renames or removes "
                        "columns: a test's `field:` or `column_name` may name an old column; rewrite by hand",
                        t.deprecation, line, col))
                    continue
                got = _ref_edits(text, placed, t)
                if isinstance(got, CodemodBlocker):
                    blockers.append(got)
                else:
                    edits.extend(got)
    if not deps:
        return None
    edits.sort(key=lambda e: e.start)
    return FileCodemod(path, abs_path or Path(path), text, tuple(edits), tuple(dict.fromkeys(blockers)),
                       tuple(dict.fromkeys(deps)))


def yaml_files(project: Path) -> list[Path]:
    """The properties files (``*.yml``/``*.yaml``) under the project's resource folders."""
    out: dict[str, Path] = {}
    for folder in project_paths(project):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.lower().endswith((".yml", ".yaml")):
                    p = Path(dirpath) / name
                    out.setdefault(str(p.resolve()), p)
    return [out[k] for k in sorted(out)]


# --------------------------------------------------------------------------- a project

def project_paths(project_dir: Path) -> list[Path]:
    """The folders dbt reads SQL from (``model-paths``, ``analysis-paths``, ... of dbt_project.yml);
    without a dbt_project.yml (a folder of models named directly), the folder itself."""
    from ruamel.yaml import YAML

    conf: Any = {}
    f = project_dir / "dbt_project.yml"
    if not f.is_file():
        return [project_dir]
    if f.is_file():
        try:
            conf = YAML(typ="safe", pure=True).load(f.read_text(encoding="utf-8")) or {}
        except Exception:   # a broken dbt_project.yml: dbt reports it; walk the default folders
            conf = {}
    out: list[Path] = []
    for key, default in DEFAULT_PATHS.items():
        value = conf.get(key, default) if isinstance(conf, dict) else default
        for p in value if isinstance(value, list) else default:
            if isinstance(p, str) and (project_dir / p).is_dir() and (project_dir / p) not in out:
                out.append(project_dir / p)
    return out


def _sql_files(folders: Sequence[Path]) -> list[Path]:
    found: dict[str, Path] = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.lower().endswith(".sql"):
                    p = Path(dirpath) / name
                    found.setdefault(str(p.resolve()), p)
    return [found[k] for k in sorted(found)]


def read_text(path: Path) -> str:
    """The file's text exactly (line endings kept)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def run_codemod(project_dir: str | Path, registry: Registry, *, manifest_path: str | Path | None = None,
                dialect: str = "postgres", default_schema: Sequence[str] = (), default_catalog: str | None = None,
                display_root: Path | None = None) -> CodemodResult:
    """The codemod of every SQL file of the dbt project at ``project_dir`` (nothing is written).

    Paths in the result (and its diff) are relative to ``display_root`` (default:
    the project folder), so ``git apply`` run there takes the diff as it is.
    """
    project = Path(project_dir)
    manifest = None
    if manifest_path is not None:
        from deprecator.dbt.manifest import load_manifest

        manifest = load_manifest(manifest_path, dialect=dialect)
    targets, notes = build_ref_targets(registry, manifest, dialect=dialect, default_schema=default_schema,
                                       default_catalog=default_catalog)
    root = (display_root or project).resolve()
    files = _sql_files(project_paths(project))
    out: list[FileCodemod] = []
    names = {n for t in targets for n in t.old_names} | {t.rule.old.name.lower() for t in targets}
    if manifest is not None:
        names |= {manifest.nodes[u].name.lower() for t in targets for u in t.old_nodes}
    yamls = {str(p.resolve()) for p in yaml_files(project)}
    for f in files + [Path(p) for p in sorted(yamls)]:
        try:
            shown = f.resolve().relative_to(root).as_posix()
        except ValueError:
            shown = f.as_posix()
        try:
            text = read_text(f)
        except (OSError, UnicodeDecodeError) as e:
            out.append(FileCodemod(shown, f, "", blockers=(CodemodBlocker("unreadable", f"cannot read: {e}"),)))
            continue
        project_rel = f.resolve().relative_to(project.resolve()).as_posix()
        file_nodes = manifest.nodes_for_file(project_rel) if manifest is not None else []
        low = text.lower()
        may = any(n in low for n in names) or any(
            t.old_nodes & set(d for n in file_nodes for d in n.depends_on) for t in targets)
        if not may:
            continue
        if str(f.resolve()) in yamls:
            res = codemod_yaml(text, shown, targets, manifest=manifest, abs_path=f)
        else:
            res = codemod_text(text, shown, targets, manifest=manifest, file_nodes=file_nodes, dialect=dialect,
                               abs_path=f)
        if res is not None:
            out.append(res)
    return CodemodResult(project, out, targets, notes, len(files),
                         str(manifest_path) if manifest_path is not None else None)


def write_codemod(result: CodemodResult) -> list[Path]:
    """Write every file the codemod changes, in place (atomically each); the files written."""
    from deprecator.yamlio import write_atomic

    written = []
    for f in result.changed:
        if read_text(f.abs_path) != f.before:
            from deprecator.errors import DeprecatorError

            raise DeprecatorError(f"{f.path} changed while the codemod ran; nothing more was written",
                                  hint="run the codemod again")
        write_atomic(f.abs_path, f.after)
        written.append(f.abs_path)
    return written
