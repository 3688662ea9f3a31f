"""deprecator.yml: loading, ${ENV} interpolation and validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WarehouseConfig:
    url: str | None = None               # SQLAlchemy URL, secrets interpolated from the environment
    dialect: str | None = None           # sqlglot dialect; inferred from the URL when omitted
    default_schema: tuple[str, ...] = () # search path; first entry qualifies unqualified names
    default_catalog: str | None = None


@dataclass(frozen=True)
class HistorySourceConfig:
    type: str                            # "file" now; "pg_stat_statements", "sql" later
    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path | None                    # the deprecator.yml it came from (None: defaults)
    root: Path                           # folder relative paths resolve from
    warehouse: WarehouseConfig
    registry_path: Path
    history: tuple[HistorySourceConfig, ...] = ()
    sql_paths: tuple[str, ...] = ()      # files / folders / globs scanned by default
    state_url: str = "sqlite:///.deprecator/state.db"
    extra: dict[str, Any] = field(default_factory=dict)   # sections later issues add (owners, slack, dbt)

    @property
    def dialect(self) -> str:
        return self.warehouse.dialect or "postgres"
