"""One exception root for everything deprecator raises on purpose.

The CLI maps these to exit codes in one place (``deprecator.cli``):
``NewReferencesFound`` -> 1, every other ``DeprecatorError`` -> 2.
"""

from __future__ import annotations

from typing import Any, Sequence


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


class StalePlanError(DeprecatorError):
    """A saved plan no longer matches the warehouse or the registry."""

    def __init__(self, changes: Sequence[str]) -> None:
        self.changes = list(changes)
        super().__init__(
            "the saved plan is stale; the following changed since it was made:\n"
            + "\n".join(f"  - {c}" for c in self.changes),
            hint="run `deprecator plan --out PLAN` again and review the new plan",
        )


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
