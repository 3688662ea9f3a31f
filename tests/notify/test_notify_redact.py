"""Literal values never reach a notice, in any dialect's quoting; the rest of the text keeps its bytes."""

from __future__ import annotations

import pytest

from deprecator.sql.literals import WITHHELD, redact_literals

SECRET = "jane.doe@example.com"

CASES = [
    ("postgres", f"select * from t where email = '{SECRET}'", "select * from t where email = '***'"),
    ("postgres", f"select * from t where email = E'{SECRET}\\'s'", "select * from t where email = '***'"),
    ("postgres", f"select * from t where email = $${SECRET}$$", "select * from t where email = '***'"),
    ("postgres", f"select * from t where email = $tag${SECRET}$tag$", "select * from t where email = '***'"),
    ("postgres", f"select * from t where email = U&'{SECRET}'", "select * from t where email = '***'"),
    ("postgres", f"select * from t where email = '{SECRET}' and id = 42 limit 10",
     "select * from t where email = '***' and id = 0 limit 10"),
    ("postgres", f"select * from t where email = '{SECRET}' -- was {SECRET}",
     "select * from t where email = '***' /* … */ "),
    ("mysql", f'select * from t where email = "{SECRET}"', "select * from t where email = '***'"),
    ("mysql", f"select * from t where email = '{SECRET}'", "select * from t where email = '***'"),
    ("bigquery", f'select * from t where email = "{SECRET}"', "select * from t where email = '***'"),
    ("bigquery", f"select * from t where email = r'{SECRET}'", "select * from t where email = '***'"),
    ("bigquery", f"select * from t where email = '''{SECRET}'''", "select * from t where email = '***'"),
    ("bigquery", f"select * from t where b = b'{SECRET}'", "select * from t where b = '***'"),
    ("tsql", f"select * from t where email = N'{SECRET}'", "select * from t where email = '***'"),
    ("snowflake", f"select * from t where email = $${SECRET}$$", "select * from t where email = '***'"),
    ("snowflake", f"select * from t where d = DATE '2024-01-01' and email ILIKE '%{SECRET}%'",
     "select * from t where d = DATE '***' and email ILIKE '***'"),
    ("oracle", f"select * from t where e = q'[{SECRET}]'", "select * from t where e = '***'"),
    ("duckdb", f"select * from t where e = $${SECRET}$$", "select * from t where e = '***'"),
    ("databricks", f"select * from t where e = r'{SECRET}'", "select * from t where e = '***'"),
    ("databricks", f'select * from t where e = "{SECRET}"', "select * from t where e = '***'"),
    ("hive", f'select * from t where e = "{SECRET}"', "select * from t where e = '***'"),
    ("clickhouse", f"select * from t where e = '{SECRET}'", "select * from t where e = '***'"),
    ("trino", f"select * from t where e = U&'{SECRET}'", "select * from t where e = '***'"),
    ("redshift", f"select * from t where e = '{SECRET}'", "select * from t where e = '***'"),
    ("sqlite", f"select * from t where e = '{SECRET}' and b = x'00ff'", "select * from t where e = '***' and b = '***'"),
    ("mysql", f"select * from t where e = _utf8mb4'{SECRET}' and b = b'101'",
     "select * from t where e = _utf8mb4'***' and b = '***'"),
    ("tsql", f"select * from t where e = '{SECRET}' and d = 0x1F", "select * from t where e = '***' and d = '***'"),
    # a text that does not parse is redacted from its tokens
    ("postgres", f"select * from t where email = '{SECRET}' and )", "select * from t where email = '***' and )"),
]


@pytest.mark.parametrize("dialect, sql, expected", CASES)
def test_literals_are_redacted(dialect, sql, expected):
    out = redact_literals(sql, dialect)
    assert out.text == expected
    assert SECRET not in out.text


def test_untokenizable_text_is_withheld():
    out = redact_literals(f"select '{SECRET}", "postgres")
    assert out.withheld and out.text == WITHHELD


def test_no_literals_is_identity():
    sql = "SELECT  a.x -- keep\nFROM   analytics.t AS a  /* c */"
    assert redact_literals(sql, "postgres").text == sql


@pytest.mark.parametrize("dialect, sql, expected", CASES)
def test_token_pass_then_tree_pass_is_the_tree_pass(dialect, sql, expected):
    """Notices redact from tokens first (to group texts differing only in literals), then on the tree."""
    first = redact_literals(sql, dialect, tokens_only=True)
    assert SECRET not in first.text and not first.withheld
    assert redact_literals(first.text, dialect).text == expected
