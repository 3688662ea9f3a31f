"""The sources a scan reads, built from the config: SQL files, history exports and tables, warehouse views.

``HISTORY_SOURCE_TYPES`` maps each ``history:`` type to the factory that builds its source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from deprecator.config import Config
from deprecator.errors import SourceError
from deprecator.sources.base import Source


def build_sources(config: Config, paths: Sequence[str] = (), *, cwd: Path | None = None,
                  waiting: Callable[[str], None] | None = None) -> tuple[list[Source], list[Any]]:
    """The sources a scan reads: ``paths`` (else the config's ``sql_paths``), history files, warehouse views.

    Returns the sources and the objects to close afterwards (warehouse connections).
    ``waiting`` hears what the warehouse's catalog read waits for (a lock).
    """
    from deprecator.sources.files import FileSource

    sources: list[Source] = []
    closers: list[Any] = []
    if paths:
        sources.append(FileSource(tuple(paths), root=cwd or Path.cwd(), strict=True))
    elif config.sql_paths:
        sources.append(FileSource(tuple(config.sql_paths), root=config.root))
    for h in config.history:
        factory = HISTORY_SOURCE_TYPES.get(h.type)
        if factory is None:
            raise SourceError(f"unknown history source type {h.type!r}",
                              hint=f"known types: {', '.join(sorted(HISTORY_SOURCE_TYPES))}")
        src = factory(config, h)
        sources.append(src)
        if hasattr(src, "close"):
            closers.append(src)
    if config.warehouse.url:
        from deprecator.sources.warehouse_views import WarehouseViewsSource
        from deprecator.warehouse import connect

        wh = connect(config, progress=waiting)
        closers.append(wh)
        sources.append(WarehouseViewsSource(wh))
    return sources, closers


def _history_file(config: Config, history: Any) -> Source:
    """A history export (JSONL or CSV), its path relative to the config's folder."""
    from deprecator.sources.files import display_path
    from deprecator.sources.history_file import HistoryFileSource

    if history.path is None:
        raise SourceError("a history source of type file needs a path")
    p = history.path if history.path.is_absolute() else config.root / history.path
    return HistoryFileSource.from_options(p, history.options, object_name=display_path(p, config.root))


# Each history type builds its source with a factory ``(config, HistorySourceConfig) -> Source``.
HISTORY_SOURCE_TYPES: dict[str, Callable[[Config, Any], Source]] = {"file": _history_file}


def _lazy_factory(module: str) -> Callable[[Config, Any], Source]:
    def build(config: Config, history: Any) -> Source:
        import importlib

        return importlib.import_module(module).from_config(config, history)
    return build


HISTORY_SOURCE_TYPES["pg_stat_statements"] = _lazy_factory("deprecator.sources.pg_stat_statements")


HISTORY_SOURCE_TYPES["sql"] = _lazy_factory("deprecator.sources.sql_history")
