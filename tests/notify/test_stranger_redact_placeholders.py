"""Bind placeholders are not literal values: ``$1`` stays ``$1`` when a query is redacted.

pg_stat_statements stores texts with ``$1``, ``$2`` ...; redacting the number in a
placeholder turned ``where a = $1 and b = $2`` into ``where a = $0 and b = $0`` in
notices and guides, a query nobody ran.
"""

from __future__ import annotations

import pytest

from deprecator.sql.literals import redact_literals

CASES = [
    ("select * from customer where country = $1", "select * from customer where country = $1"),
    ("select * from t where a = $1 and b in ($2, $3) and c = 42 limit $4",
     "select * from t where a = $1 and b in ($2, $3) and c = 0 limit $4"),
    ("select * from t where a = $1 and b = 'x@example.com'", "select * from t where a = $1 and b = '***'"),
]


@pytest.mark.parametrize("sql, expected", CASES)
def test_placeholders_keep_their_number(sql: str, expected: str) -> None:
    assert redact_literals(sql, "postgres").text == expected


@pytest.mark.parametrize("sql, expected", CASES)
def test_placeholders_keep_their_number_from_tokens(sql: str, expected: str) -> None:
    assert redact_literals(sql, "postgres", tokens_only=True).text == expected
