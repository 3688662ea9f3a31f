"""The warehouse adapter protocol: read views, make DDL, run a plan atomically."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

from deprecator.errors import StalePlanError
from deprecator.operations import DdlContext, Operation
from deprecator.sql.model import RelationName


@dataclass(frozen=True)
class ViewInfo:
    """A view (or materialized view) as the warehouse holds it."""

    relation: RelationName               # normalized per the warehouse dialect
    definition: str                      # text the engine parses (a full CREATE statement or the SELECT body)
    kind: str = "view"                   # "view" | "materialized_view"
    definition_is_create: bool = False   # True when ``definition`` is the whole CREATE statement (SQLite)
    owner: str | None = None
    comment: str | None = None
    column_comments: dict[str, str] = field(default_factory=dict)
    grants: tuple[tuple[str, ...], ...] = ()      # adapter-specific, order-stable
    options: dict[str, str] = field(default_factory=dict)
    columns: tuple[tuple[str, str], ...] = ()     # (name, type) in order
    extra: dict[str, Any] = field(default_factory=dict)   # indexes, populated flag, ...
    managed_by: str | None = None        # e.g. "dbt" when a dbt manifest owns it
    # The engine holds no explicit ACL (PostgreSQL relacl IS NULL: the built-in defaults, ``grants``
    # lists them); a GRANT that leaves the same privileges still makes the ACL explicit.
    default_acl: bool = False

    def fingerprint(self) -> str:
        """Hash of everything an apply would have to keep: definition, grants, options, comments, owner."""
        payload: dict[str, Any] = {
            "definition": self.definition,
            "owner": self.owner,
            "comment": self.comment,
            "column_comments": self.column_comments,
            "grants": [list(g) for g in self.grants],
            "options": self.options,
            "columns": [list(c) for c in self.columns],
            "extra": self.extra,
        }
        if self.default_acl:  # only when set, so fingerprints of engines without it do not change
            payload["default_acl"] = True
        raw = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()


def check_expected(expected: Mapping[RelationName, str | None], current: Mapping[RelationName, str]) -> None:
    """Raise StalePlanError naming every view whose fingerprint in ``current`` is not the
    ``expected`` one (None: the view must not exist)."""
    changes = []
    for rel, fp in expected.items():
        now = current.get(rel)
        if now == fp:
            continue
        if fp is None:
            changes.append(f"view {rel} was created")
        elif now is None:
            changes.append(f"view {rel} was dropped")
        else:
            changes.append(f"view {rel} was changed")
    if changes:
        raise StalePlanError(changes)


class Warehouse(Protocol):
    """What plan/apply need from an engine. One implementation per engine."""

    dialect: str
    display_url: str                     # URL with the password masked
    default_schema: tuple[str, ...]      # effective search path (config, else the engine's default)
    default_catalog: str | None
    # True when replacing a view's definition forces views built on it to be
    # dropped and recreated too (the plan then lists DDL for them as well).
    recreate_dependents: bool

    def list_views(self) -> list[ViewInfo]: ...

    def relation_columns(self, relation: RelationName) -> list[tuple[str, str]] | None:
        """(name, type) of a table or view, or None when it does not exist."""
        ...

    # True when the engine cannot replace a view in place while others depend on it: the plan
    # then runs every changed view's leading drop_view operations first, dependents first.
    two_phase: bool

    def view_operations(self, view: ViewInfo, new_definition: str, context: DdlContext[ViewInfo] = DdlContext()) -> list[Operation]:
        """Typed DDL that gives ``view`` the definition ``new_definition``, keeping everything else
        (owner, grants, comments, options). Also used for inverses: pass the old definition.

        A function of its arguments and the catalog only: whatever depends on the rest of
        the plan (``context``) is passed in by the planner, never remembered between calls."""
        ...

    def execute_atomically(
        self,
        operations: Sequence[Operation | str],
        verify: Sequence[RelationName] = (),
        expected: Mapping[RelationName, str | None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Run every operation (a plain statement: an untyped one) in one transaction, verify each relation answers, commit.

        ``progress`` (optional) hears what the apply waits for ("waiting for a lock on
        analytics.v, attempt 2 of 4"); adapters never write to the terminal themselves.

        ``expected`` maps views to the fingerprint they must still have (None: must not
        exist); it is checked inside the transaction, after the write lock is taken,
        and a mismatch raises StalePlanError naming the views. On any error roll back
        and raise ApplyError naming the failing statement.
        """
        ...

    def identity(self) -> dict[str, str]:
        """What the warehouse is, independent of the URL that reaches it (a plan is bound to it)."""
        ...

    def close(self) -> None: ...
