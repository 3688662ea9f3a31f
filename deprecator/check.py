"""The CI gate: fail a change that adds references to deprecated models.

``run_check`` reads SQL files and dbt models, finds every reference to a
deprecated model (``ref()``/``source()`` calls through jinja2's parser, raw
relation names through the SQL reference engine on the Jinja-masked text) and
classifies each one:

* a reference the change adds (on a line added since the merge base with
  ``--base``; without ``--base``, one not in the committed baseline file) is an
  error: the check fails (exit 1);
* an existing reference is a warning;
* after the sunset date every reference is an error (``fail_before_sunset``
  days earlier when asked);
* an inline ``deprecator: allow NAME until DATE reason "..."`` comment on the
  line (or on its own line just above) suppresses it until that date; expired,
  unused and malformed suppressions are reported.

A file that cannot be read, or whose Jinja or SQL does not parse where it may
mention a deprecated model, is a problem (exit 2): never silently skipped.
"""

from __future__ import annotations

import datetime as _dt
import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from deprecator.dbt.models import Target
from deprecator.dbt.models import dynamic_targets as _dynamic_targets
from deprecator.dbt.models import manifest_node as _manifest_node
from deprecator.dbt.models import ref_targets as _ref_targets
from deprecator.dbt.models import relation_targets as _relation_targets
from deprecator.dbt.models import target_relation as _rel
from deprecator.errors import CheckIncomplete, ConfigError, NewReferencesFound
from deprecator.prefilter import Prefilter
from deprecator.sql.model import RelationName

if TYPE_CHECKING:
    from deprecator.registry import Registry

Level = Literal["error", "warning", "note"]
Via = Literal["ref", "source", "relation", "dynamic_ref", "wildcard", "compiled"]   # wildcard: a BigQuery `p.d.events_*`

BASELINE_NAME = "deprecator-baseline.json"
BASELINE_VERSION = 1
# Folders a walk never enters: dbt's build output and installed packages, VCS and virtualenvs.
SKIP_DIRS = frozenset({"target", "dbt_packages", "dbt_modules", "node_modules", "logs", "venv", "__pycache__"})
_DYNAMIC_CALL = re.compile(r"\b(?:ref|source)\s*\(\s*[^'\"\s)]")
_SUPPRESSION = re.compile(r"(?:--|/\*|\{#-?|#)\s*deprecator:\s*allow\b(?P<rest>.*?)\s*(?:\*/|-?#\}|$)")
_SUPPRESSION_BODY = re.compile(
    r"^\s*(?P<names>[^\s,]+(?:\s*,\s*[^\s,]+)*)"
    r"(?:\s+until\s+(?P<until>\S+))?"
    r"(?:\s+reason\s+(?P<q>[\"'])(?P<reason>.*?)(?P=q))?\s*$")


class CheckFailed(NewReferencesFound):
    """References that fail the check: new ones, or any past (or near, when asked) the sunset (exit 1)."""

    def __init__(self, findings: Sequence["CheckFinding"]) -> None:
        super().__init__(findings)
        new = sum(1 for f in findings if f.rule == "new-reference")
        sunset = len(self.findings) - new
        parts = [f"{new} new reference(s)"] if new else []
        if sunset:
            parts.append(f"{sunset} reference(s) past or near the sunset")
        self.message = " and ".join(parts) + " to deprecated models"
        self.args = (self.message,)


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Suppression:
    path: str
    line: int                           # where the comment is
    column: int
    applies_to: int                     # the line it covers
    names: tuple[str, ...]
    until: _dt.date | None
    reason: str | None
    status: Literal["used", "unused", "expired", "invalid"] = "unused"
    message: str | None = None          # why invalid

    def covers(self, target: Target, written: str) -> bool:
        for n in self.names:
            low = n.lower().strip("'\"`")
            if low == target.model.lower() or low in target.names or low == written.lower():
                return True
            if target.relation is not None and low == str(target.relation).lower():
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "applies_to": self.applies_to,
                "names": list(self.names), "until": self.until.isoformat() if self.until else None,
                "reason": self.reason, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class CheckFinding:
    path: str                           # relative to the repository (or working folder)
    line: int
    column: int
    end_column: int
    deprecation: str                    # the model as registered
    relation: str | None                # the relation it resolves to, when known
    written: str                        # as written: ref('customer_facts'), analytics.customer_facts, ...
    via: Via
    mapped_by: Literal["manifest", "name", "sql", "depends_on", "compiled"]
    replacement: str | None
    sunset: _dt.date
    guide: str | None
    new: bool                           # added by the change / not in the baseline
    level: Level
    why: str                            # the sentence behind ``level``
    line_text: str                      # the stripped source line (baseline key)
    rule: Literal["new-reference", "existing-reference", "sunset"] = "existing-reference"
    suppressed: bool = False
    suppression_reason: str | None = None

    def fingerprint(self) -> str:
        blob = f"{self.path}\0{self.deprecation}\0{self.line_text}"
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]

    def message(self) -> str:
        head = {True: "new reference", False: "reference"}[self.new]
        text = f"{head} to deprecated {self.deprecation}"
        if self.written and self.written.lower() != self.deprecation.lower():
            text += f" ({self.written})"
        if self.via == "compiled":
            text += " in the compiled SQL only (a macro or a variable writes it, not this file)"
        text += f": {self.why}"
        if self.replacement:
            text += f"; use {self.replacement} instead"
        if self.guide:
            text += f"; guide: {self.guide}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "end_column": self.end_column,
                "deprecation": self.deprecation, "relation": self.relation, "written": self.written,
                "via": self.via, "mapped_by": self.mapped_by, "replacement": self.replacement,
                "sunset": self.sunset.isoformat(), "guide": self.guide, "new": self.new, "level": self.level,
                "why": self.why, "rule": self.rule, "suppressed": self.suppressed, "suppression_reason": self.suppression_reason,
                "fingerprint": self.fingerprint()}


@dataclass(frozen=True)
class CheckProblem:
    """A file the check could not fully read or parse, or a malformed suppression."""

    path: str
    message: str
    line: int | None = None
    kind: Literal["unreadable", "jinja", "sql", "suppression"] = "unreadable"

    def __str__(self) -> str:
        return f"{self.path}{f':{self.line}' if self.line else ''}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class CheckNote:
    """Something a reader should know that fails nothing (dynamic refs, refs mapped by name only)."""

    path: str
    line: int | None
    column: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class CheckReport:
    findings: list[CheckFinding]
    problems: list[CheckProblem]
    suppressions: list[Suppression]
    notes: list[CheckNote]
    files_checked: int
    files_parsed: int
    today: _dt.date
    root: Path
    mode: Literal["base", "baseline"]
    base: str | None = None
    merge_base: str | None = None
    baseline: str | None = None
    baseline_found: bool = False
    fail_before_sunset: int | None = None
    manifest: str | None = None
    targets: list[Target] = field(default_factory=list)

    @property
    def errors(self) -> list[CheckFinding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[CheckFinding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 2
        return 1 if self.errors else 0

    def raise_for_status(self) -> None:
        """``CheckIncomplete`` (exit 2) if some file could not be checked, else ``NewReferencesFound`` (exit 1)."""
        if self.problems:
            raise CheckIncomplete(self.problems)
        if self.errors:
            raise CheckFailed(self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "today": self.today.isoformat(),
            "mode": self.mode, "base": self.base, "merge_base": self.merge_base,
            "baseline": self.baseline, "baseline_found": self.baseline_found,
            "fail_before_sunset": self.fail_before_sunset, "manifest": self.manifest,
            "files_checked": self.files_checked, "files_parsed": self.files_parsed,
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings),
                        "suppressed": sum(f.suppressed for f in self.findings), "problems": len(self.problems)},
            "findings": [f.to_dict() for f in self.findings],
            "problems": [p.to_dict() for p in self.problems],
            "suppressions": [s.to_dict() for s in self.suppressions],
            "notes": [n.to_dict() for n in self.notes],
        }


# --------------------------------------------------------------------------- targets

def build_targets(registry: Registry, manifest: Any | None, *, dialect: str,
                  root: Path | None = None, guides_root: Path | None = None,
                  ) -> tuple[list[Target], list[CheckNote]]:
    """The deprecated models: the registry's, plus manifest models with a ``deprecation_date``
    (``dbt.models.build_targets``); a disagreement between the two is a note."""
    from deprecator.dbt.models import build_targets as merge

    targets, messages = merge(registry, manifest, lambda model: _generated_guide(root, model, guides_root))
    where = str(manifest.path) if manifest is not None else ""   # notes come only with a manifest
    return targets, [CheckNote(where, None, None, m) for m in messages]


def _generated_guide(root: Path | None, model: str, guides_root: Path | None = None) -> str | None:
    """The guide `deprecator guide` writes when the registry names none (``default_guide_path`` under
    ``guides_root``, the folder of deprecator.yml, else ``root``), relative to ``root``, once it is written."""
    from deprecator.guide import guide_link

    base = guides_root or root
    found = guide_link(model, None, base)
    if found is None or base is None:
        return None
    path = base / found
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


# --------------------------------------------------------------------------- files

def discover(patterns: Sequence[str], cwd: Path, *, visible: set[str] | None = None,
             ) -> tuple[list[Path], list[CheckProblem]]:
    """SQL files named by ``patterns`` (files, folders walked for ``*.sql``), skipping build output.

    ``visible``: in a git repository, the files git does not ignore; a walked
    file outside it (build output, a virtualenv, anything .gitignore names) is
    skipped. A file named explicitly is always read.
    """
    found: dict[str, Path] = {}
    problems: list[CheckProblem] = []
    for pattern in patterns:
        p = Path(os.path.expanduser(pattern))
        if not p.is_absolute():
            p = cwd / p
        if not glob.has_magic(str(p)):
            p = p.resolve()   # once per pattern: walked paths then compare and display as plain strings
        if glob.has_magic(str(p)):
            matches = [Path(m).resolve() for m in sorted(glob.glob(str(p), recursive=True)) if Path(m).is_file()]
            for m in matches:
                if visible is None or str(m) in visible:
                    found.setdefault(str(m), m)
            if not matches:
                problems.append(CheckProblem(pattern, "matched no files"))
        elif p.is_file():
            found.setdefault(str(p), p)
        elif p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(filenames):
                    if name.lower().endswith(".sql"):
                        f = Path(dirpath) / name
                        if visible is None or str(f) in visible:
                            found.setdefault(str(f), f)
        else:
            problems.append(CheckProblem(pattern, "no such file or folder"))
    return [found[k] for k in sorted(found)], problems


def _within(path: Path, patterns: Sequence[Path]) -> bool:
    for p in patterns:
        if path == p:
            return True
        try:
            rel = path.relative_to(p)
        except ValueError:
            continue
        if not any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            return True
    return False


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()       # the usual case: both already resolved
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _read(path: Path, shown: str) -> tuple[str | None, CheckProblem | None]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        return None, CheckProblem(shown, f"cannot read: {e.strerror or e}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, CheckProblem(shown, f"not UTF-8 (invalid byte 0x{raw[e.start]:02x})", line)
    return (text[1:] if text.startswith("\ufeff") else text), None


# --------------------------------------------------------------------------- suppressions

def parse_suppressions(text: str, path: str, today: _dt.date) -> tuple[list[Suppression], list[CheckProblem]]:
    """Every ``deprecator: allow`` comment (SQL ``--``/``/* */`` or Jinja ``{# #}``) in ``text``."""
    if "deprecator:" not in text:
        return [], []
    lines = text.split("\n")
    out: list[Suppression] = []
    problems: list[CheckProblem] = []
    for i, line in enumerate(lines, start=1):
        m = _SUPPRESSION.search(line)
        if m is None:
            continue
        col = m.start() + 1
        own_line = not line[: m.start()].strip()
        applies = i
        if own_line:
            applies = i + 1
            while applies <= len(lines) and (not lines[applies - 1].strip()
                                             or _SUPPRESSION.search(lines[applies - 1]) is not None):
                applies += 1
        body = _SUPPRESSION_BODY.match(m.group("rest"))
        if body is None or not body.group("until") or body.group("reason") is None:
            msg = ('a suppression needs a name, an expiry and a reason: '
                   '`deprecator: allow analytics.customer_facts until 2027-01-15 reason "..."`')
            problems.append(CheckProblem(path, msg, i, "suppression"))
            continue
        try:
            until = _dt.date.fromisoformat(body.group("until"))
        except ValueError:
            problems.append(CheckProblem(path, f"suppression expiry {body.group('until')!r} is not a date "
                                               "(YYYY-MM-DD)", i, "suppression"))
            continue
        names = tuple(n.strip() for n in body.group("names").split(","))
        status: Literal["unused", "expired"] = "expired" if until < today else "unused"
        out.append(Suppression(path, i, col, applies, names, until, body.group("reason"), status))
    return out, problems


# --------------------------------------------------------------------------- baseline

def load_baseline(path: Path) -> dict[tuple[str, str], list[str]] | None:
    """(path, deprecation) -> the stripped lines of references accepted as existing; None if no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the baseline: {e}", path=str(path)) from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"the baseline is not valid JSON: {e.msg}", path=str(path), line=e.lineno) from None
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION or not isinstance(
            data.get("references"), list):
        raise ConfigError(f"not a deprecator baseline (version {BASELINE_VERSION})", path=str(path),
                          hint="write it with `deprecator check --update-baseline`")
    out: dict[tuple[str, str], list[str]] = {}
    for i, entry in enumerate(data["references"]):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str)
                                                  for k in ("path", "deprecation", "line")):
            raise ConfigError("an entry needs `path`, `deprecation` and `line` strings", path=str(path),
                              field=f"references[{i}]")
        count = entry.get("count", 1)
        out.setdefault((entry["path"], entry["deprecation"]), []).extend([entry["line"]] * int(count))
    return out


def write_baseline(report: CheckReport, path: Path) -> int:
    """Write every unsuppressed reference of ``report`` as accepted; the number of entries written."""
    counts: dict[tuple[str, str, str], int] = {}
    for f in report.findings:
        if not f.suppressed:
            key = (f.path, f.deprecation, f.line_text)
            counts[key] = counts.get(key, 0) + 1
    refs = [{"path": p, "deprecation": d, "line": t, "count": n} for (p, d, t), n in sorted(counts.items())]
    body = {"version": BASELINE_VERSION,
            "comment": "References to deprecated models accepted as existing; "
                       "written by `deprecator check --update-baseline`.",
            "references": refs}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(refs)


# --------------------------------------------------------------------------- the check

@dataclass
class _Raw:
    """A reference before classification."""

    path: str
    line: int
    column: int
    end_column: int
    target: Target
    relation: str | None
    written: str
    via: Via
    mapped_by: Literal["manifest", "name", "sql", "depends_on", "compiled"]


def run_check(
    registry: Registry,
    *,
    paths: Sequence[str] = (),
    cwd: Path | None = None,
    base: str | None = None,
    manifest_path: str | Path | None = None,
    baseline_path: str | Path | None = None,
    fail_before_sunset: int | None = None,
    today: _dt.date | None = None,
    dialect: str = "postgres",
    default_schema: Sequence[str] = (),
    default_catalog: str | None = None,
    guides_root: Path | None = None,
) -> CheckReport:
    """Check SQL files and dbt models for references to deprecated models; see the module docstring."""
    from deprecator.gitdiff import diff_against, repo_root

    cwd = (cwd or Path.cwd()).resolve()
    today = today or _dt.date.today()
    manifest = None
    if manifest_path is not None:
        from deprecator.dbt.manifest import load_manifest

        manifest = load_manifest(manifest_path, dialect=dialect)
    diff = diff_against(base, cwd) if base is not None else None
    root = diff.root if diff is not None else (repo_root(cwd) or cwd)
    targets, notes = build_targets(registry, manifest, dialect=dialect, root=root, guides_root=guides_root)

    patterns = list(paths) or ["."]
    problems: list[CheckProblem] = []
    if diff is not None:
        bases = [(Path(p) if Path(p).is_absolute() else cwd / p).resolve() for p in patterns
                 if not glob.has_magic(p)]
        globbed = {Path(m).resolve() for p in patterns if glob.has_magic(p)
                   for m in glob.glob(str(Path(p) if Path(p).is_absolute() else cwd / p), recursive=True)}
        files = [diff.root / rel for rel in sorted(diff.files)
                 if (rel.lower().endswith(".sql") and _within((diff.root / rel).resolve(), bases))
                 or (diff.root / rel).resolve() in globbed]
    else:
        from deprecator.gitdiff import visible_files

        files, problems = discover(patterns, cwd, visible=visible_files(root))

    baseline_file = Path(baseline_path) if baseline_path else root / BASELINE_NAME
    baseline = load_baseline(baseline_file) if diff is None else None

    names = sorted({n for t in targets for n in t.names} | {t.relation.name for t in targets if t.relation})
    prefilter = Prefilter(names, wildcard_tables=dialect == "bigquery") if names else None
    lowered = [n.lower() for n in names]

    raws: list[_Raw] = []
    suppressions: list[Suppression] = []
    line_texts: dict[tuple[str, int], str] = {}
    parsed = 0
    for f in files:
        shown = _display(f, root)
        text, problem = _read(f, shown)
        if problem is not None:
            problems.append(problem)
            continue
        assert text is not None
        low = text.lower()
        file_nodes = manifest.nodes_for_file(shown) if manifest is not None else []
        depends_on_target = any(t.unique_id in n.depends_on for n in file_nodes for t in targets if t.unique_id)
        mentions = any(n in low for n in lowered) or (prefilter is not None and prefilter.wildcard_tables
                                                      and "*`" in text)   # `p.d.events_*` names none
        has_suppression = "deprecator:" in low
        dynamic = _DYNAMIC_CALL.search(text) is not None
        if not (mentions or has_suppression or depends_on_target or dynamic) and manifest is not None:
            compiled = [manifest.compiled_sql(n) for n in file_nodes]
            mentions = any(c and any(n in c.lower() for n in lowered) for c in compiled)
        if not (mentions or has_suppression or depends_on_target or dynamic):
            continue
        parsed += 1
        sups, sup_problems = parse_suppressions(text, shown, today)
        suppressions.extend(sups)
        problems.extend(sup_problems)
        found, file_notes, file_problems = _check_text(
            text, shown, targets, manifest, file_nodes, prefilter, dialect, default_schema, default_catalog)
        notes.extend(file_notes)
        problems.extend(file_problems)
        if found:
            lines = text.split("\n")
            for r in found:
                line_texts[(shown, r.line)] = lines[r.line - 1].strip() if r.line <= len(lines) else ""
        raws.extend(found)

    findings = _classify(raws, suppressions, line_texts, today, fail_before_sunset, diff, baseline)
    for s in suppressions:
        if s.status == "expired":
            notes.append(CheckNote(s.path, s.line, s.column,
                                   f"suppression of {', '.join(s.names)} expired on {s.until}; it no longer applies"))
        elif s.status == "unused":
            notes.append(CheckNote(s.path, s.line, s.column,
                                   f"unused suppression of {', '.join(s.names)}: no reference to a deprecated "
                                   f"model on line {s.applies_to}"))
    return CheckReport(
        findings=findings, problems=problems, suppressions=suppressions, notes=notes,
        files_checked=len(files), files_parsed=parsed, today=today, root=root,
        mode="base" if diff is not None else "baseline", base=base,
        merge_base=diff.merge_base if diff is not None else None,
        baseline=_display(baseline_file, root) if diff is None else None,
        baseline_found=baseline is not None, fail_before_sunset=fail_before_sunset,
        manifest=str(manifest_path) if manifest_path is not None else None, targets=targets,
    )


def _check_text(text: str, path: str, targets: list[Target], manifest: Any, file_nodes: list[Any],
                prefilter: Prefilter | None, dialect: str, default_schema: Sequence[str],
                default_catalog: str | None) -> tuple[list[_Raw], list[CheckNote], list[CheckProblem]]:
    from deprecator.dbt.refs import has_jinja, scan_jinja

    raws: list[_Raw] = []
    notes: list[CheckNote] = []
    problems: list[CheckProblem] = []
    variants: tuple[str, ...] = (text,)
    if has_jinja(text):
        scan = scan_jinja(text)
        if scan.error is not None or scan.masked is None:
            problems.append(CheckProblem(path, scan.error or "Jinja did not parse", scan.error_line, "jinja"))
            return raws, notes, problems
        variants = scan.variants or (scan.masked,)
        for ref in scan.refs:
            end_col = ref.column + len(ref.text.split("\n", 1)[0])
            if ref.dynamic:
                hits = _dynamic_targets(file_nodes, targets)
                if hits:
                    for t in hits:
                        raws.append(_Raw(path, ref.line, ref.column, end_col, t, _rel(t), ref.text,
                                         "dynamic_ref", "depends_on"))
                elif manifest is None:
                    notes.append(CheckNote(path, ref.line, ref.column,
                                           f"{ref.text} is dynamic: only dbt knows what it resolves to; "
                                           "give --manifest to check it through the manifest's depends_on"))
                elif not file_nodes:
                    notes.append(CheckNote(path, ref.line, ref.column,
                                           f"{ref.text} is dynamic and the manifest has no model for this file "
                                           "(a macro?), so what it resolves to is not checked here"))
                continue
            if manifest is not None and _manifest_node(ref, manifest) is None:
                notes.append(CheckNote(path, ref.line, ref.column,
                                       f"{ref.text} is not in the manifest, so it could not be mapped to a "
                                       "relation (is the manifest stale? run `dbt parse`)"))
                continue
            for t, how, rel in _ref_targets(ref, targets, manifest):
                raws.append(_Raw(path, ref.line, ref.column, end_col, t, rel, ref.text, ref.kind, how))
    for n, masked in enumerate(variants):
        if prefilter is None or not prefilter.may_reference(masked):
            continue
        from deprecator.sql import find_references

        res = find_references(masked, dialect, default_schema, default_catalog)
        if res.status != "parsed":
            which = "" if len(variants) == 1 else f" with branch {n + 1} of each {{% if %}}"
            problems.append(CheckProblem(
                path, f"the SQL{which} may reference a deprecated model but did not parse ({res.status}"
                      f"{': ' + res.error if res.error else ''})", None, "sql"))
        for r in res.references:
            for t in _relation_targets(r, targets):
                raws.append(_Raw(path, r.line, r.column, r.column + len(r.written.split("\n", 1)[0]), t,
                                 _rel(t) if r.wildcard else str(r.relation), r.written,
                                 "wildcard" if r.wildcard else "relation", "sql"))
    raws.extend(_compiled(path, targets, manifest, file_nodes, raws, prefilter, notes, dialect, default_schema,
                          default_catalog))
    return raws, notes, problems


def _compiled(path: str, targets: list[Target], manifest: Any, file_nodes: list[Any], found: list[_Raw],
              prefilter: Prefilter | None, notes: list[CheckNote], dialect: str, default_schema: Sequence[str],
              default_catalog: str | None) -> list[_Raw]:
    """Relations only the compiled SQL shows (a macro or a variable wrote them), at line 1 of the model.

    What the file itself writes is found above, at its place; this adds what
    dbt's rendering produces beyond that.
    """
    if manifest is None or prefilter is None:
        return []
    from deprecator.sql import find_references

    seen = {r.target.model for r in found}
    out: list[_Raw] = []
    for node in file_nodes:
        sql = manifest.compiled_sql(node)
        if not sql or not prefilter.may_reference(sql):
            continue
        res = find_references(sql, dialect, default_schema, default_catalog)
        if res.status != "parsed":
            notes.append(CheckNote(path, None, None, f"the compiled SQL of {node.unique_id} did not parse "
                                                     f"({res.status}); only the model's own text was checked"))
        for r in res.references:
            for t in _relation_targets(r, targets):
                if t.model not in seen:
                    seen.add(t.model)
                    out.append(_Raw(path, 1, 1, 1, t, _rel(t) if r.wildcard else str(r.relation), r.written,
                                    "compiled", "compiled"))
    return out


def _classify(raws: list[_Raw], suppressions: list[Suppression], line_texts: dict[tuple[str, int], str],
              today: _dt.date, fail_before_sunset: int | None, diff: Any,
              baseline: dict[tuple[str, str], list[str]] | None) -> list[CheckFinding]:
    # one finding per place and deprecation (a ref and the relation it compiles to are the same use)
    seen: set[tuple[str, int, int, str]] = set()
    remaining = {k: list(v) for k, v in (baseline or {}).items()}
    out: list[CheckFinding] = []
    for r in sorted(raws, key=lambda r: (r.path, r.line, r.column, r.target.model)):
        key = (r.path, r.line, r.column, r.target.model)
        if key in seen:
            continue
        seen.add(key)
        t = r.target
        line_text = line_texts.get((r.path, r.line), "")
        if diff is not None:
            new = diff.is_added(r.path, r.line)
        else:
            accepted = remaining.get((r.path, t.model))
            if accepted and line_text in accepted:
                accepted.remove(line_text)
                new = False
            else:
                new = True
        days = (t.sunset - today).days
        level: Level
        rule: Literal["new-reference", "existing-reference", "sunset"] = "sunset"
        if today > t.sunset:
            level, why = "error", f"its sunset date {t.sunset} has passed, so every reference is an error"
        elif fail_before_sunset is not None and days <= fail_before_sunset:
            level, why = "error", (f"sunset on {t.sunset}, in {days} day(s); --fail-before-sunset "
                                   f"{fail_before_sunset} makes every reference an error")
        elif new:
            level, why, rule = "error", f"added by this change; sunset on {t.sunset}", "new-reference"
        else:
            level, why, rule = ("warning", f"existing reference; sunset on {t.sunset} ({days} day(s) left)",
                                "existing-reference")
        finding = CheckFinding(r.path, r.line, r.column, r.end_column, t.model, r.relation, r.written, r.via,
                               r.mapped_by, t.replacement, t.sunset, t.guide, new, level, why, line_text, rule)
        for i, s in enumerate(suppressions):
            if s.path == r.path and s.applies_to == r.line and s.status != "expired" and s.covers(t, r.written):
                finding = replace(finding, level="note", suppressed=True, suppression_reason=s.reason)
                suppressions[i] = replace(s, status="used")
                break
        out.append(finding)
    return out
