"""PostgreSQL: the adapter (``adapter.PostgresWarehouse``), its catalog queries (``catalog``),
the DDL for a rewrite (``ddl``), the transaction that applies it (``executor``) and the
planning probes of new definitions (``probes``). ``from deprecator.warehouse.postgres import
PostgresWarehouse`` works as before.
"""

from __future__ import annotations

from deprecator.warehouse.postgres.adapter import (
    DependencyDisagreement as DependencyDisagreement,
    FunctionInfo as FunctionInfo,
    PostgresWarehouse as PostgresWarehouse,
    quote_ident_if_needed as quote_ident_if_needed,
    quote_relation as quote_relation,
)
from deprecator.warehouse.quoting import quote_ident as quote_ident, quote_literal as quote_literal
