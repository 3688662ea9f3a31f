"""Warehouse adapters: one per engine, chosen by the URL's backend.

Adapters are registered by import path so that connecting to SQLite never
imports a PostgreSQL driver. An adapter class is called as
``Adapter(url, root=..., config=...)`` and must satisfy
:class:`deprecator.warehouse.base.Warehouse`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from deprecator.config import Config, WarehouseConfig
from deprecator.errors import ConfigError, WarehouseError
from deprecator.redact import mask_url
from deprecator.warehouse.base import ViewInfo, Warehouse

__all__ = ["ViewInfo", "Warehouse", "connect", "register_adapter", "ADAPTERS"]

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
    **options: Any,
) -> Warehouse:
    """Open the warehouse a config (or a SQLAlchemy URL) names.

    Relative SQLite paths resolve from ``root`` (default: the config file's folder,
    else the working directory). ``options`` go to the adapter.
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
    if wh_config is not None:
        offered["config"] = wh_config
        if wh_config.default_schema:
            offered["default_schema"] = wh_config.default_schema
    accepted = _parameters(cls)
    for key, value in offered.items():
        if key in accepted:
            options.setdefault(key, value)
    warehouse: Warehouse = cls(url, **options)
    return warehouse


def _parameters(cls: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return set()
