"""Deprecations as code: the records, deprecations.yml loading/validation, dbt import.

(Loading, validation, chain resolution and editing are implemented below the
record types.)
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Literal, Mapping

Stage = Literal["announced", "deprecated", "sunset passed"]


@dataclass(frozen=True)
class Deprecation:
    model: str                          # exactly as registered, e.g. "analytics.customer_facts"
    replacement: str                    # as registered (the direct replacement)
    sunset: _dt.date
    announced: _dt.date | None = None
    reason: str | None = None
    owner: str | None = None
    contact: str | None = None
    migration_guide: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    removed_columns: tuple[str, ...] = ()
    final_replacement: str | None = None   # end of the chain A->B->C (C); set by the loader
    origin: Literal["registry", "dbt"] = "registry"
    path: str | None = None             # file it came from
    line: int | None = None             # 1-based line of the entry

    @property
    def target(self) -> str:
        """The replacement to migrate to: the end of the chain."""
        return self.final_replacement or self.replacement

    def stage(self, today: _dt.date) -> Stage:
        if today > self.sunset:
            return "sunset passed"
        if self.announced is not None and today < self.announced:
            return "announced"
        return "deprecated"

    def days_to_sunset(self, today: _dt.date) -> int:
        return (self.sunset - today).days
