"""Plain names without the parser give exactly what sqlglot gives, in every dialect they answer for."""

from __future__ import annotations

import re

import pytest
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from deprecator.config import known_dialects
from deprecator.registry import _parsed_relation
from deprecator.sql.names import column_name
from deprecator.sql.plain_names import FOLDS, fold, plain_column, plain_relation

_STRATEGY_FOLDS = {
    NormalizationStrategy.LOWERCASE: "lower", NormalizationStrategy.CASE_INSENSITIVE: "lower",
    NormalizationStrategy.UPPERCASE: "upper", NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE: "upper",
    NormalizationStrategy.CASE_SENSITIVE: "keep",
}


def test_folds_are_the_pinned_sqlglots():
    """Every dialect but BigQuery, folding as its sqlglot class says, with no rules of its own."""
    assert set(FOLDS) == set(known_dialects()) - {"bigquery"}
    for name, how in FOLDS.items():
        d = Dialect.get_or_raise(name)
        assert type(d).normalize_identifier is Dialect.normalize_identifier, name
        assert _STRATEGY_FOLDS[d.normalization_strategy] == how, name


def _words(dialect: str) -> list[str]:
    """The words the parser might treat specially (the dialect's keywords: any other word is
    an identifier token), and a few names."""
    words = Dialect.get_or_raise(dialect).tokenizer_class.KEYWORDS
    return sorted(w for w in words if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", w)) + [
        "Orders", "customer_facts", "_", "_x", "t1", "Cust_ID"]


@pytest.mark.parametrize("dialect", sorted(FOLDS))
def test_plain_names_normalize_as_sqlglot_does(dialect):
    for w in _words(dialect):
        for text in (w, f"s.{w}", f"{w}.Orders", f"{w}.s.t"):
            assert plain_relation(text, dialect, ("Public",), "Prod") == _parsed_relation(
                text, dialect, ("Public",), "Prod"), text
        with pytest.raises(ValueError):     # what is no name is left to sqlglot, which says why
            _parsed_relation(f"c.s.t.{w}", dialect, (), None)
        assert plain_relation(f"c.s.t.{w}", dialect) is None
        assert plain_column(w, dialect) == column_name(w, dialect), w
    for schema, catalog in [((), None), (("Public",), None), ((), "Prod")]:
        for text in ("orders", "s.orders", "c.s.orders"):
            assert plain_relation(text, dialect, schema, catalog) == _parsed_relation(
                text, dialect, schema, catalog), (text, schema, catalog)


@pytest.mark.parametrize("dialect, text", [
    ("postgres", '"Marts".orders'), ("postgres", "a b"), ("postgres", "a-b.c"), ("postgres", "a.b.c.d"),
    ("postgres", "s.Straße"), ("postgres", "1abc"), ("postgres", ""), ("postgres", "a..b"),
    ("snowflake", "s.`x`"), ("bigquery", "proj.ds.orders"),
])
def test_other_spellings_are_left_to_sqlglot(dialect, text):
    assert plain_relation(text, dialect, ("public",)) is None
    assert plain_column(text, dialect) is None


def test_defaults_that_are_not_plain_are_left_to_sqlglot():
    assert plain_relation("orders", "postgres", ("My Schema",)) is None
    assert plain_relation("s.orders", "postgres", ("public",), "my-db") is None
    assert plain_relation("c.s.orders", "postgres", ("My Schema",), "my-db") is not None
    assert fold("Orders", "mysql") == "Orders" and fold("Orders", "oracle") == "ORDERS"
