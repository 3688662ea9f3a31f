"""The views of a warehouse, as a source: one text per view definition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from deprecator.sources.base import SourceItem, SqlText


@dataclass
class WarehouseViewsSource:
    """Wraps ``Warehouse.list_views()``; findings get source ``view`` and the view's name."""

    warehouse: Any                       # deprecator.warehouse.base.Warehouse
    kind: str = "view"

    @property
    def name(self) -> str:
        return str(getattr(self.warehouse, "display_url", "warehouse"))

    def read(self) -> Iterator[SourceItem]:
        for view in self.warehouse.list_views():
            yield SqlText(
                text=view.definition,
                source="view",
                object=str(view.relation),
                extra={"kind": view.kind, "definition_is_create": view.definition_is_create,
                       "relation": view.relation},
            )
