"""The service layer: the operations every interface needs, each one call returning a typed result.

``scan``, ``make_plan``, ``apply``, ``rollback`` and ``list_applies`` open what
they need (the warehouse, the registry normalized for it, the state store),
run the library, close everything, and return frozen values whose
``to_dict()`` is the stable JSON contract. The CLI parses options, calls one
of these, prints the result and maps errors to exit codes (``cli/base.py``);
another interface (a scheduler, a notebook, a web hook) calls the same
functions.

Nothing here writes to the terminal. What an interface must show or ask while
an operation runs comes through callbacks: ``progress`` hears what an apply
waits for (a lock, a retry) and how far a scan got; ``review`` sees the plan
(or the rollback) before anything changes and answers whether to go on, so
confirming stays with the interface that can ask.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from deprecator.errors import DeprecatorError
from deprecator.parallel import DEFAULT_MAX_CHARS

if TYPE_CHECKING:
    from deprecator.apply import ApplyResult, RollbackPlan
    from deprecator.config import Config
    from deprecator.guide import Guide
    from deprecator.notify.digest import Digest
    from deprecator.notify.digest_service import DigestResult
    from deprecator.notify.notices import NotifyReport
    from deprecator.plan import Plan
    from deprecator.registry import Registry
    from deprecator.report import ScanReport
    from deprecator.scan import ProgressFn
    from deprecator.state import ApplyRecord

Progress = Callable[[str], None]


# --- plan ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanResult:
    """A plan, and where the AST engine and the warehouse's dependency catalog disagree about it."""

    plan: Plan
    cross_check: tuple[Any, ...] = ()    # deprecator.warehouse.CrossCheck records ([] for engines without one)

    def to_dict(self) -> dict[str, Any]:
        return {**self.plan.to_dict(), "cross_check": [c.to_dict() for c in self.cross_check]}


def make_plan(config: Config, *, progress: Progress | None = None) -> PlanResult:
    """Read the warehouse and plan every rewrite; a registered name the warehouse lacks is an error.

    Nothing is written to the warehouse. ``progress`` hears what the catalog read waits
    for (a lock another session holds, and each retry).
    """
    from deprecator.apply import cross_check, open_target, plan_warehouse
    from deprecator.existence import check_registered_names

    warehouse, registry = open_target(config, progress)
    try:
        check_registered_names(warehouse, registry)   # a misspelt name is an error, not "No changes"
        plan, views = plan_warehouse(warehouse, registry)
        return PlanResult(plan, tuple(cross_check(warehouse, registry, plan, views)))
    finally:
        warehouse.close()


def write_plan(plan: Plan, path: Path) -> None:
    """Save ``plan`` as JSON for a later ``apply``; a file that cannot be written is an error naming it."""
    try:
        path.write_text(plan.to_json(), encoding="utf-8")
    except OSError as e:
        raise DeprecatorError(f"cannot write the plan to {path}: {e.strerror}") from None


def read_plan(path: Path) -> Plan:
    """A saved plan; an unreadable, binary or foreign file is an error naming it, not a traceback."""
    from deprecator.plan import Plan

    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DeprecatorError(f"cannot read the plan {path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DeprecatorError(f"{path}: not a deprecator plan (not UTF-8 text: invalid byte 0x{raw[e.start]:02x} "
                              f"at offset {e.start})",
                              hint="`deprecator plan --out PLAN` writes one") from None
    return Plan.from_json(text, source=str(path))


# --- apply and rollback -------------------------------------------------------------------------------------------

def apply(config: Config, plan_path: Path | None = None, *, review: Callable[[PlanResult], bool] | None = None,
          progress: Progress | None = None) -> ApplyResult:
    """Apply exactly the plan saved at ``plan_path``, or a plan made now, in one transaction.

    A saved plan is checked against the warehouse and the registry and refused
    as stale (``StalePlanError``) when it is no longer what deprecator would do.
    Without ``plan_path`` a fresh plan is made and handed to ``review`` (with the
    cross-check) before anything changes; ``review`` returning False cancels
    (``DeprecatorError``, nothing changed). ``progress`` hears what the apply
    and its catalog reads wait for.
    """
    from deprecator.apply import apply_plan, cross_check, open_state, open_target, plan_warehouse
    from deprecator.existence import check_registered_names

    warehouse, registry = open_target(config, progress)
    try:
        if plan_path is not None:
            plan = read_plan(plan_path)
        else:
            check_registered_names(warehouse, registry)
            plan, views = plan_warehouse(warehouse, registry)
            if review is not None and not review(PlanResult(plan, tuple(cross_check(warehouse, registry, plan,
                                                                                     views)))):
                raise DeprecatorError("apply cancelled: nothing was changed")
        state = open_state(config)
        try:
            # a plan read from a file is planned again and compared; one made here a moment ago is not
            result = apply_plan(plan, warehouse, registry, state, progress=progress, derive=plan_path is not None)
        finally:
            state.close()
    finally:
        warehouse.close()
    return result


def rollback(config: Config, apply_id: str, *, force: bool = False, views: Sequence[str] | None = None,
             review: Callable[[RollbackPlan], bool] | None = None, progress: Progress | None = None) -> ApplyResult:
    """Restore what apply ``apply_id`` replaced (definitions, grants, owner, comments), in one transaction.

    Every refusal (a failed or interrupted apply, one already rolled back, a
    view changed since: ``RollbackRefused``) comes before ``review`` sees the
    prepared rollback; ``review`` returning False cancels (nothing changed).
    ``force`` restores views changed since the apply anyway; ``views`` limits
    the rollback to those views.
    """
    from deprecator.apply import open_state, prepare_rollback, run_rollback
    from deprecator.warehouse import connect

    state = open_state(config)
    try:
        warehouse = connect(config)
        try:
            prepared = prepare_rollback(apply_id, warehouse, state, force=force, views=views or None)
            if review is not None and not review(prepared):
                raise DeprecatorError("rollback cancelled: nothing was changed")
            result = run_rollback(prepared, warehouse, state, progress=progress)
        finally:
            warehouse.close()
    finally:
        state.close()
    return result


# --- the audit log ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplyEntry:
    """One apply or rollback of the audit log."""

    id: str
    created_at: _dt.datetime
    actor: str
    warehouse: str
    kind: str                            # "apply" | "rollback"
    status: str                          # applied | pending | failed | not applied | interrupted
    error: str | None
    rollback_of: str | None
    rolled_back_by: str | None
    views: tuple[str, ...]
    statements: tuple[str, ...]
    # The rollbacks that undid this apply, each with how many of its views (`rollback --view` undoes a part).
    undone_by: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, r: ApplyRecord, undone_by: Sequence[tuple[str, int]] = ()) -> ApplyEntry:
        return cls(r.id, r.created_at, r.actor, r.warehouse, r.kind, r.status, r.error, r.rollback_of,
                   r.rolled_back_by, tuple(r.before), tuple(r.statements), tuple(undone_by))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at.isoformat(), "actor": self.actor,
                "warehouse": self.warehouse, "kind": self.kind, "status": self.status, "error": self.error,
                "rollback_of": self.rollback_of, "rolled_back_by": self.rolled_back_by, "views": list(self.views),
                "statements": list(self.statements)}


@dataclass(frozen=True)
class AppliesResult:
    """The audit log, oldest first, after settling interrupted applies."""

    entries: tuple[ApplyEntry, ...]
    reconciled: tuple[tuple[str, str], ...] = ()   # (apply id, new status) of pending applies settled now

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON of ``deprecator applies``: a list of entries."""
        return [e.to_dict() for e in self.entries]


def list_applies(config: Config) -> AppliesResult:
    """The audit log of applies and rollbacks, oldest first.

    A pending entry (a process stopped between journaling an apply and settling
    it) is first settled against what the warehouse holds now, when a
    warehouse is configured (``apply.reconcile_pending``).
    """
    from deprecator.apply import open_state, reconcile_pending

    state = open_state(config)
    try:
        reconciled: tuple[tuple[str, str], ...] = ()
        if any(r.status == "pending" for r in state.list_applies()) and config.warehouse.url:
            from deprecator.warehouse import connect

            warehouse = connect(config)
            try:
                reconciled = tuple(reconcile_pending(warehouse, state))
            finally:
                warehouse.close()
        records = state.list_applies()
    finally:
        state.close()
    undone: dict[str, list[tuple[str, int]]] = {}
    for r in records:
        if r.rollback_of and r.status == "applied":
            undone.setdefault(r.rollback_of, []).append((r.id, len(r.before)))
    return AppliesResult(tuple(ApplyEntry.of(r, undone.get(r.id, ())) for r in records), reconciled)


# --- scan ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScanResult:
    """A scan's report, and the registry it was made for (the text rendering names its deprecations)."""

    report: ScanReport
    registry: Registry

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()


def scan(config: Config, *, paths: Sequence[str] = (), progress: ProgressFn | None = None,
         workers: int | None = None, max_chars: int = DEFAULT_MAX_CHARS, waiting: Progress | None = None) -> ScanResult:
    """Find every use of the deprecated relations in the configured sources (``scan.run_scan``).

    ``paths`` replaces the config's SQL paths; ``progress`` hears ``ScanProgress``
    values; ``waiting`` hears what the warehouse's catalog read waits for (a lock
    another session holds, and each retry). A usage snapshot is recorded when a
    query history was read; a recording that failed is on ``report.record_error``, the report is still whole.
    """
    from deprecator.scan import run_scan

    registry = config.load_registry()
    if config.dbt.manifest is not None:   # models dbt marks deprecated are deprecations too, as in check and list
        from deprecator.dbt.manifest import load_manifest
        from deprecator.dbt.models import with_manifest_deprecations

        registry, _ = with_manifest_deprecations(registry, load_manifest(config.dbt.manifest, dialect=config.dialect))
    report = run_scan(config, registry, paths=paths, progress=progress if progress is not None else False,
                      workers=workers, max_chars=max_chars, waiting=waiting)
    return ScanResult(report, registry)


# --- notices, digest, guide ---------------------------------------------------------------------------------------

def notify(config: Config, *, dry_run: bool = False, only: str | None = None, redact: bool = True,
           resend_unverified: bool = False) -> NotifyReport:
    """One Slack message per owner still using a deprecated model, or what would be sent (``dry_run``).

    Returns the ``NotifyReport``; owners not reached are on ``not_reached`` (the others were still sent).
    """
    from deprecator.notify import run_notify

    return run_notify(config, config.load_registry(), dry_run=dry_run, only=only, redact=redact,
                      resend_unverified=resend_unverified)


@dataclass(frozen=True)
class DigestOutcome:
    """A weekly digest, and what became of it: rendered (``text``), written to ``written``, or ``sent``."""

    digest: Digest
    text: str | None = None              # the rendering, when rendered rather than sent
    written: Path | None = None          # the file it was written to
    sent: DigestResult | None = None     # when it went to Slack (or was skipped: sent.skipped says why)


def digest(config: Config, *, today: _dt.date, done_weeks: int = 4, trend_weeks: int = 6, only: str | None = None,
           fmt: str = "text", out: Path | None = None, send: bool = True, force: bool = False) -> DigestOutcome:
    """Gather the weekly usage digest from the state store; write it to ``out`` in ``fmt``, or send it to
    slack.digest_channel once per ISO week (``force`` sends again), or, with neither, render it."""
    from deprecator.apply import open_state
    from deprecator.notify.digest_service import gather_digest, render_digest, send_digest

    registry = config.load_registry()
    state = open_state(config)
    try:
        gathered = gather_digest(config, registry, state, today, done_weeks=done_weeks, trend_weeks=trend_weeks,
                                 only=only)
        templates = config.slack.templates or config.templates_dir
        if out is not None:
            from deprecator.yamlio import write_atomic

            text = render_digest(gathered, fmt, templates)
            write_atomic(out, text)
            return DigestOutcome(gathered, text, written=out)
        if not send:
            return DigestOutcome(gathered, render_digest(gathered, fmt, templates))
        return DigestOutcome(gathered, sent=send_digest(config, gathered, state, force=force))
    finally:
        state.close()


@dataclass(frozen=True)
class GuideOutcome:
    """A migration guide: its facts, its Markdown (unless only the facts were asked for), the file written."""

    guide: Guide                         # ``to_dict()`` is the JSON of `guide --format json`
    text: str | None = None
    written: Path | None = None


def guide(config: Config, model: str, *, today: _dt.date, scan: bool = True, render: bool = True,
          template_dir: Path | None = None, write: bool = True, out_dir: Path | None = None) -> GuideOutcome:
    """The migration guide of ``model``: gathered (a fresh scan unless ``scan`` is False; nothing recorded),
    rendered with ``template_dir`` (default: ``templates:`` of the config, else the shipped template), and
    written as ``out_dir/<table>.md``, else at its registered or default path beside deprecator.yml."""
    from deprecator.guide import guide_for, render_guide

    facts = guide_for(config, model, today=today, scan=scan)
    if not render:
        return GuideOutcome(facts)
    text = render_guide(facts, template_dir or config.templates_dir)
    if not write:
        return GuideOutcome(facts, text)
    target = out_dir / Path(facts.path).name if out_dir is not None else config.root / facts.path
    from deprecator.yamlio import write_atomic

    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, text)
    return GuideOutcome(facts, text, target)


# --- registering --------------------------------------------------------------------------------------------------

def check_new_names(config: Config, model: str, replacement: str, dropped: bool = False) -> str | None:
    """Before ``deprecate`` writes: with a warehouse configured, a name it lacks is an error (``RegistryError``,
    with "did you mean"); MODEL must not exist with ``dropped``.

    Registering stays possible offline: a warehouse that cannot be reached
    returns why the names were not checked (scan and plan check them again);
    None when they were checked, or no warehouse is configured.
    """
    if not config.warehouse.url:
        return None
    from types import SimpleNamespace

    from deprecator.errors import WarehouseError
    from deprecator.existence import check_registered_names
    from deprecator.registry import Registry
    from deprecator.warehouse import connect

    entry = SimpleNamespace(model=model, replacement=replacement, dropped=dropped, path=None, line=None)
    registry = Registry((), dialect=config.dialect, default_schema=config.warehouse.default_schema,
                        default_catalog=config.warehouse.default_catalog)
    try:
        warehouse = connect(config)
    except WarehouseError as e:
        return e.message
    try:
        check_registered_names(warehouse, registry, [entry], command_line=True)
    except WarehouseError as e:
        return e.message
    finally:
        warehouse.close()
    return None
