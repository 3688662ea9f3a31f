"""One exception root for everything deprecator raises on purpose.

The CLI maps these to exit codes in one place (``deprecator.cli``):
``NewReferencesFound`` -> 1, every other ``DeprecatorError`` -> 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence


class DeprecatorError(Exception):
    """Root of every error deprecator raises deliberately."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(DeprecatorError):
    """deprecator.yml is missing, malformed or invalid."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        where = ""
        if path:
            where = path + (f":{line}" if line else "")
            if field:
                where += f": {field}"
            where += ": "
        elif field:
            where = f"{field}: "
        super().__init__(where + message, hint=hint)


class RegistryError(ConfigError):
    """deprecations.yml is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        text = "\n".join(str(p) for p in self.problems) or "invalid registry"
        DeprecatorError.__init__(self, text)
        self.path = first.path if first else None
        self.line = first.line if first else None
        self.field = first.field if first else None


class SourceError(DeprecatorError):
    """A source of SQL (file, history export, warehouse catalog) could not be read."""


class WarehouseError(DeprecatorError):
    """The warehouse could not be reached or answered with an error."""


class ViewCycleError(WarehouseError):
    """Views read each other, so no order puts every view after the views it reads.

    ``cycle`` names one such cycle, each view reading the next, back to the first:
    ``("s.a", "s.b", "s.a")``. SQLite and PostgreSQL (``CREATE OR REPLACE VIEW``) both
    keep such views, though querying them fails.
    """

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__(f"views {' -> '.join(self.cycle)} read each other (each reads the next)",
                         hint="a view in such a cycle cannot be queried: fix or drop one of them, then try again")


StaleKind = Literal[
    "warehouse",              # the plan was made for another warehouse
    "dialect",                # ... or another SQL dialect
    "registry",               # the registry (or one deprecation of it) changed
    "view_dropped",           # a planned (or applied, for rollback) view is gone
    "view_changed",           # its fingerprint (some of its fields) differs
    "entry_edited",           # a view's entry in the saved plan was edited by hand
    "replacement_columns",    # a rule's relation changed its columns, or was dropped or created
    "action_changed",         # a fresh plan would rewrite/recreate/block the view differently
    "rewritten_differently",  # a fresh plan keeps the action but emits other statements
    "no_longer_needed",       # a fresh plan leaves the view alone
    "new_reader",             # a view not in the plan now reads a deprecated or planned relation
    "compile_checks",         # the plan was made by a role that could (not) compile views, the apply role cannot (can)
]


@dataclass(frozen=True)
class StaleChange:
    """One reason a saved plan (or an apply to roll back) no longer holds.

    ``kind`` is what callers filter on; ``str()`` is the sentence users read.
    It lives here, below ``deprecator.plan`` (which makes them), so that
    ``StalePlanError`` can carry them.
    """

    kind: StaleKind
    view: str | None      # the view concerned, None for plan-wide changes
    message: str

    def __str__(self) -> str:
        return self.message


class StalePlanError(DeprecatorError):
    """A saved plan no longer matches the warehouse or the registry.

    ``changes`` are the sentences users read (the message lists them);
    ``records`` are the reasons that came as ``StaleChange`` records: all of
    them when apply or rollback refuses a plan, none when a warehouse's own
    re-check inside its transaction raises it (it has sentences only).
    """

    def __init__(self, changes: Sequence[StaleChange | str]) -> None:
        self.records = tuple(c for c in changes if isinstance(c, StaleChange))
        self.changes = [str(c) for c in changes]
        super().__init__(
            "the saved plan is stale; the following changed since it was made:\n"
            + "\n".join(f"  - {c}" for c in self.changes),
            hint="run `deprecator plan --out PLAN` again and review the new plan",
        )


class OtherWarehouseError(DeprecatorError):
    """A saved plan (or an apply to roll back) belongs to another warehouse than the one connected.

    Not "stale": nothing changed, it is simply the wrong target. ``planned`` and
    ``connected`` describe both (``deprecator.plan.describe_warehouse``).
    """

    def __init__(self, what: str, planned: str, connected: str, *, hint: str | None = None) -> None:
        self.planned = planned
        self.connected = connected
        super().__init__(f"{what} was made for a different warehouse: {planned}; this configuration connects to "
                         f"{connected}; nothing was changed",
                         hint=hint or "apply it with the configuration of the warehouse it was made for, or make "
                                      "a plan for this warehouse with `deprecator plan --out PLAN`")


class RollbackRefused(StalePlanError):
    """Views an apply changed were changed again since: rolling back would discard that.

    ``records`` name each view and what of it changed (definition, grants, comments, ...).
    """

    def __init__(self, apply_id: str, changes: Sequence[StaleChange | str], *, hint: str | None = None) -> None:
        super().__init__(changes)
        self.apply_id = apply_id
        self.message = (f"cannot roll back apply {apply_id}: these views changed since it (nothing was changed):\n"
                        + "\n".join(f"  - {c}" for c in self.changes))
        self.args = (self.message,)
        self.hint = hint


class ApplyError(DeprecatorError):
    """Applying a plan failed; nothing was changed."""

    def __init__(self, message: str, *, statement: str | None = None, hint: str | None = None) -> None:
        self.statement = statement
        if statement:
            message = f"{message}\n  failing statement: {statement}"
        super().__init__(message, hint=hint)


class LockError(ApplyError):
    """Another apply holds the lock, or a reader blocked the DDL past the timeout."""


class NotifyError(DeprecatorError):
    """Sending notices failed."""


class NewReferencesFound(DeprecatorError):
    """The CI check found new references to deprecated models (exit code 1)."""

    exit_code = 1

    def __init__(self, findings: Sequence[Any]) -> None:
        self.findings = list(findings)
        super().__init__(f"{len(self.findings)} new reference(s) to deprecated models")


class CheckIncomplete(DeprecatorError):
    """The CI check could not read or parse some files where they may reference a deprecated model
    (exit code 2): an incomplete check must not pass. ``problems`` are ``deprecator.check.CheckProblem``."""

    def __init__(self, problems: Sequence[Any]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} file(s) could not be checked:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


class GitError(DeprecatorError):
    """git is missing, the folder is in no repository, or the base of a comparison cannot be found."""
