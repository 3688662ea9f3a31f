"""BigQuery names that are not plain table names: ML models, table decorators, wildcard tables.

* ``ML.PREDICT(MODEL d.m, TABLE d.t)`` and the other ML/AI functions name a model
  after ``MODEL``: a model is not a table. sqlglot reads a few of these functions
  (``Predict``, ``MLForecast``, ...) and fails on the rest (``ML.EVALUATE`` is a
  parse error), so a parser for the others is registered here: the model, then
  each argument (``TABLE t``, a query, or an expression). The model's table node
  is marked so the reference walker sets it aside.
* ``p.d.t$20230101`` (a partition) and ``p.d.t@1690000000000`` (a snapshot) are
  decorators written inside the backticks: the relation is ``p.d.t``.
* ``p.d.events_2023*`` is a wildcard table: it reads every table whose name starts
  with ``events_2023``. Which ones, only a registry (or the warehouse) can say.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from deprecator.sql.model import RelationName

# Marks a Table node that names an ML model (set by the parsers below).
MODEL_MARK = "deprecator_ml_model"

# ML functions whose first argument is MODEL <name>, that sqlglot does not read itself.
_MODEL_FUNCTIONS = (
    "EVALUATE", "EXPLAIN_PREDICT", "EXPLAIN_FORECAST", "DETECT_ANOMALIES", "RECOMMEND",
    "UNDERSTAND_TEXT", "PROCESS_DOCUMENT", "TRANSCRIBE", "ANNOTATE_IMAGE", "FEATURE_IMPORTANCE",
    "GLOBAL_EXPLAIN", "WEIGHTS", "ADVANCED_WEIGHTS", "CENTROIDS", "PRINCIPAL_COMPONENTS",
    "PRINCIPAL_COMPONENT_INFO", "ARIMA_COEFFICIENTS", "ARIMA_EVALUATE", "TRAINING_INFO", "TRIAL_INFO",
    "FEATURE_INFO", "CONFUSION_MATRIX", "ROC_CURVE", "RECONSTRUCTION_LOSS", "GET_INSIGHTS",
    "VALIDATE_DATA_SKEW",
)
# sqlglot's own ML nodes: their ``this`` is the model.
_MODEL_NODES = tuple(getattr(exp, n) for n in (
    "Predict", "MLForecast", "MLTranslate", "GenerateText", "GenerateEmbedding", "GenerateTable",
    "GenerateBool", "GenerateInt", "GenerateDouble") if hasattr(exp, n))
_QUERY_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.FROM}


def _parse_model_function(self: Any) -> exp.Expression:
    """``ML.<name>(MODEL m[, TABLE t | (query) | expr ...])``; any other ``<name>(...)`` as a plain call."""
    name = self._tokens[self._index - 2].text
    prefix = self._tokens[self._index - 4] if self._index >= 4 else None
    dot = self._tokens[self._index - 3] if self._index >= 3 else None
    if (prefix is None or prefix.text.upper() not in ("ML", "AI") or dot is None
            or dot.token_type != TokenType.DOT or not self._match_text_seq("MODEL")):
        return exp.Anonymous(this=name, expressions=self._parse_csv(self._parse_lambda))
    model = self._parse_table()
    if isinstance(model, exp.Table):
        model.meta[MODEL_MARK] = True
    args: list[Any] = [model]
    while self._match(TokenType.COMMA):
        if self._match(TokenType.TABLE):
            args.append(self._parse_table())
        elif self._curr is not None and self._curr.token_type == TokenType.L_PAREN and (
                self._next is not None and self._next.token_type in _QUERY_STARTS):
            args.append(self._parse_table())
        else:
            args.append(self._parse_lambda())
    return exp.Anonymous(this=name, expressions=args)


def install() -> None:
    """Teach sqlglot's BigQuery parser the ML functions that take a model (idempotent)."""
    parsers = Dialect.get_or_raise("bigquery").parser_class.FUNCTION_PARSERS
    for name in _MODEL_FUNCTIONS:
        parsers.setdefault(name, _parse_model_function)


def is_model(table: exp.Table) -> bool:
    """The table node names an ML model (``MODEL m`` in an ML function), not a table."""
    if table.meta.get(MODEL_MARK):
        return True
    return isinstance(table.parent, _MODEL_NODES) and table.arg_key == "this"


# A decorator at the end of the last name part: $<partition> or @<time>[-<time>].
_DECORATOR = re.compile(r"(\$[A-Za-z0-9_]+|@-?[0-9]+(?:--?[0-9]*)?)\Z")


def decorator(name: str) -> str:
    """The decorator written at the end of a table name (``$20230101``, ``@-3600000``), or ""."""
    if "$" not in name and "@" not in name:
        return ""
    m = _DECORATOR.search(name)
    return m.group(1) if m is not None and m.start() > 0 else ""


def undecorated(relation: RelationName) -> RelationName:
    """The relation a decorated name reads: ``p.d.t$20230101`` and ``p.d.t@1690000000000`` read ``p.d.t``."""
    dec = decorator(relation.name)
    return RelationName(relation.catalog, relation.schema, relation.name[: -len(dec)]) if dec else relation


# The pseudo-column of a wildcard table: which table a row came from, not a column of any.
TABLE_SUFFIX = "_table_suffix"


def is_wildcard(name: str) -> bool:
    """A wildcard table name (``events_*``): the pattern is the text before the trailing ``*``."""
    return name.endswith("*") and "*" not in name[:-1]


def wildcard_covers(pattern: str, name: str) -> bool:
    """Whether the wildcard table name ``pattern`` (``events_2023*``) covers table ``name``."""
    return is_wildcard(pattern) and name.startswith(pattern[:-1])
