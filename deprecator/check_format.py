"""Renderings of a ``CheckReport``: text, GitHub workflow commands (+ step summary), SARIF 2.1.0."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from deprecator.check import CheckFinding, CheckReport
from deprecator.text import visible, visible_block

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/deprecator/deprecator"

RULES = {
    "new-reference": ("A new reference to a deprecated model",
                      "The change adds a reference to a model that is being retired; use its replacement."),
    "sunset": ("A reference to a model past (or near) its sunset",
               "After the sunset date every reference to the model is an error."),
    "existing-reference": ("An existing reference to a deprecated model",
                           "The reference predates the change; migrate it before the sunset date."),
    "unchecked-file": ("A file that could not be checked",
                       "The file could not be read or parsed where it may reference a deprecated model."),
    "suppression": ("A suppression that is malformed, expired or unused",
                    "`deprecator: allow NAME until YYYY-MM-DD reason \"...\"` comments are checked too."),
}


def _version() -> str:
    try:
        return version("deprecator")
    except PackageNotFoundError:
        return "0"


def rule_of(f: CheckFinding) -> str:
    return f.rule


# --------------------------------------------------------------------------- text

def format_text(report: CheckReport) -> str:
    out: list[str] = []
    for f in report.findings:
        if f.suppressed:
            continue
        out.append(f"{f.path}:{f.line}:{f.column}: {f.level}: {f.message()}")
    for p in report.problems:
        out.append(f"{p.path}:{p.line or 1}:1: error: {p.message}")
    for n in report.notes:
        where = f"{n.path}:{n.line}:{n.column or 1}" if n.line else n.path
        out.append(f"{where}: note: {n.message}")
    name_only = [f for f in report.findings if f.mapped_by == "name"]
    if name_only:
        out.append(f"note: {len(name_only)} ref() call(s) were matched to deprecations by model name only; "
                   "give --manifest (target/manifest.json) to map refs to relations exactly")
    if report.errors:
        first = report.errors[0]
        out.append(f"hint: use the replacement; to keep one reference knowingly, put a comment on its line: "
                   f"-- deprecator: allow {first.deprecation} until YYYY-MM-DD reason \"...\"")
    out.append(summary_line(report))
    # every line is one line: a control character from the data (a file name, a name) is shown escaped
    return "\n".join(map(visible, out))


def summary_line(report: CheckReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    suppressed = sum(f.suppressed for f in report.findings)
    if report.mode == "base":
        scope = (f"{report.files_checked} changed file(s) since the merge base "
                 f"{(report.merge_base or '')[:12]} with {report.base}")
    else:
        scope = f"{report.files_checked} file(s), against the baseline {report.baseline}"
        if not report.baseline_found:
            scope += " (none yet: every reference is new; `deprecator check --update-baseline` accepts them)"
    verdict = ("FAILED" if report.exit_code == 1 else "INCOMPLETE" if report.exit_code == 2 else "passed")
    return (f"deprecator check {verdict}: {errors} error(s), {warnings} warning(s), {suppressed} suppressed, "
            f"{len(report.problems)} file problem(s); checked {scope}")


# --------------------------------------------------------------------------- GitHub

def _gh_data(s: str) -> str:
    # newlines are the command's own escapes; any other control character is shown escaped
    return visible_block(s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def _gh(level: str, path: str, line: int | None, col: int | None, title: str, message: str,
        end_col: int | None = None) -> str:
    props = [f"file={_gh_prop(path)}"]
    if line:
        props.append(f"line={line}")
        if col:
            props.append(f"col={col}")
            if end_col:
                props.append(f"endColumn={end_col}")
    props.append(f"title={_gh_prop(title)}")
    return f"::{level} {','.join(props)}::{_gh_data(message)}"


def format_github(report: CheckReport) -> str:
    """Workflow commands; GitHub shows only the first 10 of each level per step, so see ``step_summary``."""
    out: list[str] = []
    # errors first in the log (GitHub caps annotations per level, so this changes the log, not the caps)
    for f in sorted(report.findings, key=lambda f: f.level != "error"):
        if f.suppressed:
            continue
        out.append(_gh(f.level, f.path, f.line, f.column, f"deprecated: {f.deprecation}", f.message(),
                       f.end_column))
    for p in report.problems:
        out.append(_gh("error", p.path, p.line, None, "deprecator: file not checked", p.message))
    for n in report.notes:
        out.append(_gh("notice", n.path, n.line, n.column, "deprecator", n.message))
    out.append(summary_line(report))
    return "\n".join(out)


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


# GitHub takes at most 1 MiB of step summary per step; a row is a few hundred bytes.
MAX_SUMMARY_ROWS = 1000


def step_summary(report: CheckReport) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: the findings beyond the first ten annotations (errors first)."""
    lines = ["## deprecator check", "", summary_line(report), ""]
    shown = sorted((f for f in report.findings if not f.suppressed), key=lambda f: f.level != "error")
    if shown:
        lines += ["| | where | deprecated | written | replacement | why |", "|---|---|---|---|---|---|"]
        for f in shown[:MAX_SUMMARY_ROWS]:
            icon = {"error": ":x:", "warning": ":warning:"}.get(f.level, ":information_source:")
            lines.append(f"| {icon} | `{_md(f.path)}:{f.line}:{f.column}` | {_md(f.deprecation)} | "
                         f"`{_md(f.written)}` | {_md(f.replacement or '')} | {_md(f.why)} |")
        if len(shown) > MAX_SUMMARY_ROWS:
            lines.append(f"\n... and {len(shown) - MAX_SUMMARY_ROWS} more (`--format json` lists them all)")
        lines.append("")
    if report.problems:
        lines += ["### Files not checked", ""] + [f"- `{_md(str(p))}`" for p in report.problems] + [""]
    if report.notes:
        lines += ["### Notes", ""] + [
            f"- {'`' + _md(n.path) + (f':{n.line}' if n.line else '') + '`: ' if n.path else ''}{_md(n.message)}"
            for n in report.notes] + [""]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SARIF

def _region(line: int | None, col: int | None, end_col: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(line or 1, 1)}
    if col:
        region["startColumn"] = col
        if end_col and end_col > col:
            region["endColumn"] = end_col
    return region


def _location(path: str, line: int | None, col: int | None, end_col: int | None = None) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                                 "region": _region(line, col, end_col)}}


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (GitHub code scanning accepts it)."""
    rule_ids = list(RULES)
    rules = [{"id": rid, "name": rid.replace("-", " ").title().replace(" ", ""),
              "shortDescription": {"text": RULES[rid][0]}, "fullDescription": {"text": RULES[rid][1]},
              "helpUri": INFO_URI} for rid in rule_ids]
    results: list[dict[str, Any]] = []
    for f in report.findings:
        rid = rule_of(f)
        result: dict[str, Any] = {
            "ruleId": rid, "ruleIndex": rule_ids.index(rid),
            "level": "note" if f.suppressed else f.level,
            "message": {"text": f.message()},
            "locations": [_location(f.path, f.line, f.column, f.end_column)],
            "partialFingerprints": {"deprecatorReference/v1": f.fingerprint()},
            "properties": {"deprecation": f.deprecation, "replacement": f.replacement,
                           "sunset": f.sunset.isoformat(), "new": f.new, "via": f.via},
        }
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": f.suppression_reason or ""}]
        results.append(result)
    for p in report.problems:
        rid = "suppression" if p.kind == "suppression" else "unchecked-file"
        results.append({"ruleId": rid, "ruleIndex": rule_ids.index(rid), "level": "error",
                        "message": {"text": p.message}, "locations": [_location(p.path, p.line, None)]})
    for s in report.suppressions:
        if s.status in ("expired", "unused"):
            text = (f"suppression of {', '.join(s.names)} expired on {s.until}" if s.status == "expired"
                    else f"unused suppression of {', '.join(s.names)}")
            results.append({"ruleId": "suppression", "ruleIndex": rule_ids.index("suppression"),
                            "level": "warning", "message": {"text": text},
                            "locations": [_location(s.path, s.line, s.column)]})
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "deprecator", "version": _version(), "informationUri": INFO_URI,
                                "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.resolve().as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",      # columns count characters, as Python and the text output do
            "results": results,
            "invocations": [{"executionSuccessful": report.exit_code != 2}],
        }],
    }
