"""Migration guides: one Markdown page per deprecation, from a jinja2 template.

A guide says why the model goes, when (announced, sunset, the stage today), what
replaces it, how each column maps, a before/after taken from a real consumer (the
most used query or view that reads it, rewritten by the same span-preserving
rewrite ``plan`` uses, literals redacted), who still uses it and whom to ask.

``build_guide`` is pure (registry record, columns, scan findings and example texts
in; a ``Guide`` value out); ``guide_for`` gathers those inputs from the configured
warehouse and sources; ``render_guide`` renders the value with the shipped
template or a user's override of it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from deprecator.errors import ConfigError, DeprecatorError

GUIDE_TEMPLATE = "migration_guide.md.j2"
ColumnChangeKind = Literal["renamed", "kept", "removed", "new"]


@dataclass(frozen=True)
class ColumnChange:
    old: str | None            # column of the deprecated model (None: new in the replacement)
    new: str | None            # column of the replacement (None: removed)
    change: ColumnChangeKind


@dataclass(frozen=True)
class ExampleText:
    """A consumer's SQL that reads the deprecated model, and how much it is used."""

    text: str
    origin: str                 # e.g. "a query alice ran 14 times", "the view analytics.x"
    count: int = 1


@dataclass(frozen=True)
class GuideExample:
    origin: str
    before: str                 # literals redacted
    after: str                  # the real rewrite, literals redacted


@dataclass(frozen=True)
class Affected:
    """Who still uses the model, from a scan."""

    uses: int                   # query-history uses
    users: tuple[str, ...]      # distinct history users, most uses first
    views: tuple[str, ...]
    files: tuple[str, ...]
    producers: int = 0          # texts that write the model (jobs to switch off)

    @property
    def nobody(self) -> bool:
        return not (self.uses or self.users or self.views or self.files)


@dataclass(frozen=True)
class Guide:
    model: str
    replacement: str            # the end of the replacement chain
    direct_replacement: str     # as registered (differs when the chain is longer)
    reason: str | None
    owner: str | None
    contact: str | None
    announced: _dt.date | None
    sunset: _dt.date
    today: _dt.date
    stage: str
    days_to_sunset: int
    columns: tuple[ColumnChange, ...]
    columns_known: bool         # the warehouse told both column lists (else: the registry's mapping only)
    example: GuideExample | None
    example_note: str | None    # why there is no example, or what blocked the rewrite
    affected: Affected | None   # None: nothing was scanned
    path: str                   # where the guide belongs (registry's migration_guide or the default)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("announced", "sunset", "today"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def default_guide_path(model: str) -> str:
    """``migration_guides/<table name>.md``: where a guide goes when the registry names none."""
    bare = model.split(".")[-1].strip('"`[]').strip()
    return f"migration_guides/{bare or 'guide'}.md"


def guide_link(model: str, migration_guide: str | None, root: Path | None) -> str | None:
    """The guide to point people at: the registry's ``migration_guide``, else the generated one
    (``default_guide_path`` under ``root``, the folder of deprecator.yml) once `deprecator guide` wrote it.

    A guide that was never generated is not linked: a link to nothing sends people nowhere.
    """
    if migration_guide:
        return migration_guide
    if root is None:
        return None
    path = default_guide_path(model)
    return path if (root / path).is_file() else None


def column_changes(columns: dict[str, str] | Any, removed: Sequence[str],
                   old_columns: Sequence[str] | None, new_columns: Sequence[str] | None,
                   fold: Any = str.lower) -> tuple[ColumnChange, ...]:
    """The mapping table: every old column (renamed, kept or removed), then the replacement's new ones.

    ``fold`` compares names as the dialect does. Without the warehouse's column lists
    only the registry's renames and removals are listed.
    """
    renamed = {fold(o): n for o, n in dict(columns).items()}
    gone = {fold(c) for c in removed}
    rows: list[ColumnChange] = []
    if old_columns is None:
        rows += [ColumnChange(o, n, "renamed") for o, n in dict(columns).items()]
        rows += [ColumnChange(c, None, "removed") for c in removed]
        return tuple(rows)
    used_new: set[str] = set()
    for c in old_columns:
        key = fold(c)
        if key in gone:
            rows.append(ColumnChange(c, None, "removed"))
        elif key in renamed:
            rows.append(ColumnChange(c, renamed[key], "renamed"))
            used_new.add(fold(renamed[key]))
        else:
            rows.append(ColumnChange(c, c, "kept"))
            used_new.add(key)
    for c in new_columns or ():
        if fold(c) not in used_new:
            rows.append(ColumnChange(None, c, "new"))
    return tuple(rows)


def pick_example(candidates: Iterable[ExampleText], rule: Any, dialect: str,
                 default_schema: Sequence[str] = (), default_catalog: str | None = None,
                 ) -> tuple[GuideExample | None, str | None]:
    """The most used candidate that rewrites cleanly, before and after, literals redacted.

    Returns (example, note): the note says why there is none (no consumer known, or
    the blocker that stops the most used one) so the guide never invents an example.
    """
    from deprecator.sql.literals import redact_literals
    from deprecator.sql import rewrite

    ordered = sorted(candidates, key=lambda c: (-c.count, len(c.text), c.origin))
    if not ordered:
        return None, "no consumer's SQL was found to take an example from"
    first_blocker: str | None = None
    for cand in ordered:
        result = rewrite(cand.text, dialect, [rule], tuple(default_schema), default_catalog)
        if not result.changed:
            if first_blocker is None and result.blockers:
                first_blocker = f"{cand.origin}: {result.blockers[0].reason}"
            continue
        before = redact_literals(cand.text, dialect)
        after = redact_literals(result.text, dialect)
        if before.withheld or after.withheld:
            continue   # its literals could not be redacted safely: never quote it
        return GuideExample(cand.origin, before.text.strip(), after.text.strip()), None
    return None, ("no consumer's SQL could be rewritten automatically; the most used one: " + first_blocker
                  if first_blocker else "no consumer's SQL could be rewritten automatically")


def affected_from(findings: Iterable[Any], model: str) -> Affected:
    """Summarize a scan's findings for one deprecation (deprecator.report.Finding records)."""
    per_user: dict[str, int] = {}
    views: set[str] = set()
    files: set[str] = set()
    uses = producers = 0
    for f in findings:
        if f.deprecation != model:
            continue
        if getattr(f, "role", "read") == "write":
            producers += 1
        if f.source == "view":
            views.add(f.object)
        elif f.source in ("file", "dbt_model"):   # a dbt model is a file too
            files.add(f.path or f.object)
        else:
            uses += f.count
            if f.user:
                per_user[f.user] = per_user.get(f.user, 0) + f.count
    users = tuple(u for u, _ in sorted(per_user.items(), key=lambda x: (-x[1], x[0])))
    return Affected(uses, users, tuple(sorted(views)), tuple(sorted(files)), producers)


def examples_from(findings: Iterable[Any]) -> list[ExampleText]:
    """Each distinct consumer text among scan findings, with its total use and who ran it.

    Only texts that read the model are examples (a job that writes it is a producer
    to switch off, not a query to migrate).
    """
    runs: dict[str, list[Any]] = {}
    for f in findings:
        text = getattr(f, "text", None)
        if text and getattr(f, "role", "read") == "read":
            runs.setdefault(text, []).append(f)
    out = []
    for text, fs in runs.items():
        count = sum(f.count for f in fs)
        users = sorted({f.user for f in fs if f.user})
        if fs[0].source == "view":
            origin = f"the view {fs[0].object}"
        else:
            # a guide is shared widely: it says how much a query is used, never by whom
            runs_ = f"{count} {'time' if count == 1 else 'times'}"
            origin = (f"a query in the history, run {runs_} by {len(users)} users" if len(users) > 1
                      else f"a query in the history, run {runs_}")
        out.append(ExampleText(text, origin, count))
    return out


def build_guide(dep: Any, *, today: _dt.date, rule: Any, dialect: str,
                default_schema: Sequence[str] = (), default_catalog: str | None = None,
                old_columns: Sequence[str] | None = None, new_columns: Sequence[str] | None = None,
                examples: Iterable[ExampleText] = (), findings: Iterable[Any] | None = None) -> Guide:
    """A guide for ``dep`` (a registry Deprecation) from what is known about it."""
    from deprecator.sql.names import normalize_part

    def fold(name: str) -> str:
        return normalize_part(name, False, dialect, table_part=False)

    example, note = pick_example(examples, rule, dialect, default_schema, default_catalog)
    return Guide(
        model=dep.model, replacement=dep.target, direct_replacement=dep.replacement,
        reason=dep.reason, owner=dep.owner, contact=dep.contact,
        announced=dep.announced, sunset=dep.sunset, today=today,
        stage=dep.stage(today), days_to_sunset=dep.days_to_sunset(today),
        columns=column_changes(dep.target_columns, dep.target_removed_columns, old_columns, new_columns, fold),
        columns_known=old_columns is not None and new_columns is not None,
        example=example, example_note=note,
        affected=affected_from(findings, dep.model) if findings is not None else None,
        path=dep.migration_guide or default_guide_path(dep.model),
    )


def render_guide(guide: Guide, template_dir: Path | None = None) -> str:
    """Markdown for ``guide``: ``template_dir/migration_guide.md.j2`` when it exists, else the shipped one."""
    import jinja2

    from deprecator.config import _template

    source: str
    origin = "the shipped template"
    if template_dir is not None and (template_dir / GUIDE_TEMPLATE).is_file():
        origin = str(template_dir / GUIDE_TEMPLATE)
        source = (template_dir / GUIDE_TEMPLATE).read_text(encoding="utf-8")
    else:
        source = _template(GUIDE_TEMPLATE)
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False,
                             trim_blocks=True, lstrip_blocks=True)
    try:
        return env.from_string(source).render(g=guide, code=_code)
    except jinja2.TemplateError as e:
        line = getattr(e, "lineno", None) or _template_line(e)
        where = f":{line}" if line else ""
        raise ConfigError(f"{origin}{where}: the migration guide template failed: {e}") from None


def _template_line(e: BaseException) -> int | None:
    """The template line a render-time error happened on (jinja2 maps frames to template lines)."""
    line = None
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _code(name: str | None) -> str:
    """A name as Markdown inline code (backticks inside are doubled around)."""
    if name is None:
        return ""
    fence = "``" if "`" in name else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{name}{pad}{fence}"


def guide_for(config: Any, model: str, *, today: _dt.date, scan: bool = True,
              progress: Any = False, workers: int | None = None) -> Guide:
    """Gather what a guide needs for ``model`` from the configured warehouse and sources.

    With ``scan`` the configured sources are scanned (nothing is recorded in the
    state store) for who is affected and for the most used consumer's SQL.
    """
    registry = config.load_registry()
    dep = registry.by_model(model)
    if dep is None:
        known = ", ".join(d.model for d in registry) or "none"
        raise DeprecatorError(f"{model} is not a registered deprecation (registered: {known})",
                              hint="register it with `deprecator deprecate` first")
    rules = {r.label: r for r in registry.rewrite_rules()}
    rule = rules[dep.model]
    old_columns = new_columns = None
    if config.warehouse.url:
        from deprecator.warehouse import connect

        warehouse = connect(config)
        try:
            old = warehouse.relation_columns(rule.old)
            new = warehouse.relation_columns(rule.new)
        finally:
            warehouse.close()
        if old is not None and new is not None:
            old_columns, new_columns = [c for c, _ in old], [c for c, _ in new]
    findings: list[Any] | None = None
    examples: list[ExampleText] = []
    if scan:
        from deprecator.scan import run_scan

        report = run_scan(config, registry, progress=progress, record=False, workers=workers)
        findings = [f for f in report.findings if f.deprecation == dep.model]
        examples = examples_from(findings)
    return build_guide(dep, today=today, rule=rule, dialect=config.dialect,
                       default_schema=tuple(config.warehouse.default_schema or ()),
                       default_catalog=config.warehouse.default_catalog,
                       old_columns=old_columns, new_columns=new_columns,
                       examples=examples, findings=findings)
