"""Warehouse adapters: one per engine, chosen by the URL's backend.

Adapters are registered by import path so that connecting to SQLite never
imports a PostgreSQL driver. An adapter class is called as
``Adapter(url, root=..., config=...)`` and must satisfy
:class:`deprecator.warehouse.base.Warehouse`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from deprecator.config import Config, WarehouseConfig
from deprecator.errors import ConfigError, WarehouseError
from deprecator.redact import mask_url
from deprecator.sql.model import RelationName
from deprecator.warehouse.base import ViewInfo, Warehouse

__all__ = ["ViewInfo", "Warehouse", "connect", "cross_check_plan", "register_adapter", "ADAPTERS"]

# backend name (as SQLAlchemy spells it) -> "module:ClassName"
ADAPTERS: dict[str, str] = {
    "sqlite": "deprecator.warehouse.sqlite:SQLiteWarehouse",
    "postgresql": "deprecator.warehouse.postgres:PostgresWarehouse",
}


def register_adapter(backend: str, target: str) -> None:
    """Register ``"package.module:ClassName"`` for URLs whose backend is ``backend``."""
    ADAPTERS[backend] = target


def connect(
    config_or_url: Config | WarehouseConfig | str,
    *,
    root: Path | None = None,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> Warehouse:
    """Open the warehouse a config (or a SQLAlchemy URL) names.

    Relative SQLite paths resolve from ``root`` (default: the config file's folder,
    else the working directory). ``options`` go to the adapter.

    From a :class:`Config`, the adapter is also offered what deprecator.yml
    configures for it, under the keywords it declares: ``dbt_manifest`` (the
    ``dbt.manifest`` path) and the apply lock settings (``lock_timeout_ms``,
    ``lock_retries``, ``lock_backoff_s``). Lock settings an adapter cannot
    honour are a ConfigError, never silently ignored. ``progress`` (to adapters
    that take it) hears what a catalog read waits for, such as a lock.
    """
    wh_config: WarehouseConfig | None
    config_file = str(config_or_url.path) if isinstance(config_or_url, Config) and config_or_url.path else None
    if isinstance(config_or_url, Config):
        wh_config = config_or_url.warehouse
        root = root or config_or_url.root
        url = wh_config.url
    elif isinstance(config_or_url, WarehouseConfig):
        wh_config = config_or_url
        url = wh_config.url
    else:
        wh_config = None
        url = config_or_url
    if not url:
        raise ConfigError("no warehouse URL is configured", path=config_file, field="warehouse.url",
                          hint="set warehouse.url in deprecator.yml (e.g. sqlite:///warehouse.db)")
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(f"not a SQLAlchemy URL: {mask_url(url)}", path=config_file, field="warehouse.url") from None
    target = ADAPTERS.get(backend)
    if target is None:
        raise WarehouseError(
            f"no warehouse adapter for {backend!r} URLs ({mask_url(url)})",
            hint="supported: " + ", ".join(sorted(ADAPTERS)),
        )
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    # Offer what we know; each adapter takes the keywords it declares.
    offered: dict[str, Any] = {"root": root or Path.cwd()}
    if progress is not None:
        offered["progress"] = progress
    if wh_config is not None:
        offered["config"] = wh_config
        if wh_config.default_schema:
            offered["default_schema"] = wh_config.default_schema
    accepted = _parameters(cls)
    for key, value in offered.items():
        if key in accepted:
            options.setdefault(key, value)
    if wh_config is not None:
        locks = wh_config.lock_options()
        refused = [k for k in locks if k not in accepted]
        if refused:
            raise ConfigError(
                f"the {backend} warehouse adapter has no apply lock settings "
                f"({', '.join(_LOCK_KEYS[k] for k in refused)})",
                path=config_file, line=wh_config.line, field="warehouse." + _LOCK_KEYS[refused[0]],
                hint="remove them: they apply to PostgreSQL warehouses")
        for key, value in locks.items():
            options.setdefault(key, value)
    if isinstance(config_or_url, Config) and config_or_url.dbt.manifest is not None and "dbt_manifest" in accepted:
        manifest = config_or_url.dbt.manifest
        if not manifest.is_file():
            raise ConfigError(f"the dbt manifest {manifest} does not exist", path=config_file,
                              line=config_or_url.dbt.line, field="dbt.manifest",
                              hint="run `dbt parse` (or `dbt compile`) in the dbt project to write "
                                   "target/manifest.json, or fix the path (relative to deprecator.yml)")
        options.setdefault("dbt_manifest", manifest)
    warehouse: Warehouse = cls(url, **options)
    return warehouse


_LOCK_KEYS = {"lock_timeout_ms": "lock_timeout", "lock_retries": "lock_retries", "lock_backoff_s": "lock_backoff"}


def _parameters(cls: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return set()


def cross_check_plan(warehouse: Warehouse, deprecated: Iterable[RelationName], plan_views: Iterable[RelationName],
                     views: Sequence[ViewInfo]) -> list[Any]:
    """Where the AST engine and the warehouse's own dependency records disagree, for one plan.

    Covers the views the plan lists and every view the warehouse says reads a
    ``deprecated`` relation (directly or through views). Adapters without a
    dependency catalog (no ``cross_check_relations``) give ``[]``. Each item has
    ``to_dict()`` and ``describe()``.
    """
    check = getattr(warehouse, "cross_check_relations", None)
    if check is None:
        return []
    wanted = set(plan_views)
    return list(check(list(deprecated), [v for v in views if v.relation in wanted]))
