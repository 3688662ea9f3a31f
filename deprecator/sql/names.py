"""Identifier and relation-name normalization per dialect."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError

from deprecator.sql.model import RelationName


@lru_cache(maxsize=None)
def get_dialect(dialect: str) -> Dialect:
    return Dialect.get_or_raise(dialect)


@lru_cache(maxsize=65536)
def normalize_part(name: str, quoted: bool, dialect: str, *, table_part: bool = True) -> str:
    """Normalize one identifier as ``dialect`` resolves it.

    Quoted identifiers keep their case, except in dialects that resolve every
    identifier case-insensitively (DuckDB, SQLite, Redshift by default), where
    ``"Foo"`` and ``foo`` are the same name. BigQuery dataset and table names are
    case-sensitive, so relation parts are kept as written there.
    """
    if dialect == "bigquery" and table_part:
        return name
    d = get_dialect(dialect)
    return d.normalize_identifier(exp.Identifier(this=name, quoted=quoted)).name


def relation_from_table(
    table: exp.Table,
    dialect: str,
    default_schema: Sequence[str] = (),
    default_catalog: str | None = None,
) -> RelationName:
    """Fully qualified, normalized name of a sqlglot Table node."""

    def part(key: str) -> str | None:
        node = table.args.get(key)
        if node is None:
            return None
        if isinstance(node, exp.Identifier):
            return normalize_part(node.name, bool(node.quoted), dialect)
        return node.name if isinstance(node, exp.Expression) else str(node)

    name = part("this") or table.name
    schema = part("db")
    catalog = part("catalog")
    if schema is None and default_schema:
        schema = normalize_part(default_schema[0], False, dialect)
    if catalog is None and default_catalog and schema is not None:
        catalog = normalize_part(default_catalog, False, dialect)
    return RelationName(catalog, schema, name)


def normalize_relation(
    text: str,
    dialect: str,
    default_schema: Sequence[str] | str | None = (),
    default_catalog: str | None = None,
) -> RelationName:
    """Normalize a relation written as text (``analytics.customer_facts``, ``"A"."b"``).

    Raises ValueError when the text is not a relation name.
    """
    if isinstance(default_schema, str):
        default_schema = (default_schema,)
    try:
        table = exp.to_table(text.strip(), dialect=dialect)
    except (ParseError, Exception) as e:  # sqlglot raises several error types here
        raise ValueError(f"{text!r} is not a relation name: {e}") from None
    if not isinstance(table, exp.Table) or not table.name:
        raise ValueError(f"{text!r} is not a relation name")
    return relation_from_table(table, dialect, tuple(default_schema or ()), default_catalog)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Words reserved in the common dialects; sqlglot accepts some of them bare
# where the warehouse would not, so they are always quoted.
RESERVED = frozenset("""
all analyse analyze and any array as asc asymmetric between both by case cast check collate column
constraint create cross current_catalog current_date current_role current_time current_timestamp
current_user default deferrable desc distinct do else end except exists false fetch for foreign from
full grant group having in initially inner intersect into is join lateral leading left like limit
localtime localtimestamp natural not null offset on only or order outer over partition placing primary
qualify references returning right rows select session_user some symmetric table then to trailing true
union unique user using values variadic when where window with
""".split())


@lru_cache(maxsize=4096)
def needs_quotes(name: str, dialect: str, *, table_part: bool = True) -> bool:
    """Whether ``name`` must be quoted to mean exactly ``name`` (a normalized part) in ``dialect``."""
    if not _PLAIN.match(name):
        return True
    if normalize_part(name, False, dialect, table_part=table_part) != name:
        return True
    if name.lower() in RESERVED:
        return True
    # reserved words: an unquoted keyword does not parse back as this identifier
    try:
        parsed = exp.to_identifier(name)
        sql = f"SELECT {name} FROM {name}"
        tree = sqlglot.parse_one(sql, read=dialect)
    except Exception:  # any parse failure means the word is not usable bare
        return True
    table = tree.find(exp.Table) if tree is not None else None
    return not (isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier)
                and table.this.name == parsed.name and not table.args.get("alias"))


def quote_part(name: str, dialect: str) -> str:
    """``name`` inside the dialect's identifier quotes, escaping embedded quotes."""
    d = get_dialect(dialect)
    start = d.IDENTIFIER_START
    end = d.IDENTIFIER_END
    return f"{start}{name.replace(end, end + end)}{end}"


def render_part(name: str, dialect: str, *, quote: bool = False, like: str | None = None,
                table_part: bool = True) -> str:
    """Write one normalized name part as SQL text.

    ``like`` is the author's written part this one replaces: an unquoted
    lowercase or uppercase original keeps that case when the dialect folds it
    to the same identifier, so a rewrite reads like the surrounding code.
    """
    if quote or needs_quotes(name, dialect, table_part=table_part):
        if not quote and like is not None:
            for cased in (name.lower(), name.upper()):
                if (_PLAIN.match(cased) and normalize_part(cased, False, dialect, table_part=table_part) == name
                        and not needs_quotes(cased, dialect, table_part=False)
                        and _same_case_style(cased, like)):
                    return cased
        return quote_part(name, dialect)
    if like is not None:
        for cased in (name.lower(), name.upper()):
            if (cased != name and _same_case_style(cased, like)
                    and normalize_part(cased, False, dialect, table_part=table_part) == name):
                return cased
    return name


def display_name(dotted: str, dialect: str | None) -> str:
    """A relation's ``schema.name`` as SQL text for people: parts quoted where they must be (mixed case,
    spaces, keywords), so a name can be copied from a report into a query. (A part that itself holds a
    dot cannot be told apart here and is shown as it is.)"""
    if dialect is None:
        return dotted
    try:
        return ".".join(render_part(p, dialect) for p in dotted.split("."))
    except Exception:  # rendering is cosmetic: never lose a report over it
        return dotted


def _same_case_style(candidate: str, like: str) -> bool:
    letters = [c for c in like if c.isalpha()]
    if not letters:
        return False
    if all(c.islower() for c in letters):
        return candidate == candidate.lower()
    if all(c.isupper() for c in letters):
        return candidate == candidate.upper()
    return False


_UNQUOTED_COLUMN = re.compile(r"[^\W\d][\w$]*\Z")


@lru_cache(maxsize=4096)
def column_name(spelling: str, dialect: str) -> str:
    """A column name as a registry or the command line spells it, normalized for ``dialect``.

    The spelling is the SQL identifier as written in the dialect: a name that needs
    quotes (mixed case kept, spaces, punctuation) is quoted as the dialect quotes it,
    ``"Cust ID"`` (BigQuery: ```Cust ID```), with an embedded quote escaped as the
    dialect escapes it (``"a""b"``); an unquoted name folds as the dialect folds it
    (``CustID`` is ``custid`` in PostgreSQL, ``CUSTID`` in Snowflake). Raises
    ValueError, saying what is wrong and how to write it, for anything else.
    """
    text = spelling.strip()
    if not text:
        raise ValueError("is empty")
    try:
        tokens = get_dialect(dialect).tokenize(text)
    except Exception:   # TokenError: an unclosed quote
        raise ValueError(f"{text} is not a column name: a quote is not closed") from None
    if len(tokens) == 1 and tokens[0].token_type.name == "IDENTIFIER":
        if not tokens[0].text:
            raise ValueError(f"{text} is an empty quoted name")
        return normalize_part(tokens[0].text, True, dialect, table_part=False)
    if _UNQUOTED_COLUMN.match(text):
        return normalize_part(text, False, dialect, table_part=False)
    inner = text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "\"`'" else text
    raise ValueError(f"{text} is not a plain column name: write it as {dialect} SQL quotes it, "
                     f"{quote_part(inner, dialect)}")


def column_text_name(spelling: str, dialect: str) -> str:
    """The name to write for a registry column spelling: a quoted one as written (its case kept
    even where the dialect compares quoted names case-insensitively, so ``"Order Amount"`` is not
    written back as ``"order amount"``), an unquoted one normalized. ValueError as ``column_name``."""
    normalized = column_name(spelling, dialect)
    tokens = get_dialect(dialect).tokenize(spelling.strip())
    return tokens[0].text if tokens[0].token_type.name == "IDENTIFIER" else normalized


def split_column_mapping(text: str) -> tuple[str, str]:
    """``OLD=NEW`` as the command line takes it, split at the one ``=`` outside quoted names
    (``"a=b"=c`` maps ``"a=b"``). ValueError when there is no such ``=`` or more than one."""
    splits: list[int] = []
    quote: str | None = None
    for i, c in enumerate(text):
        if quote is not None:
            if c == quote:
                quote = None     # a doubled quote closes and reopens: same result
        elif c in "\"`":
            quote = c
        elif c == "[":
            quote = "]"
        elif c == "=":
            splits.append(i)
    if len(splits) != 1:
        raise ValueError("expected OLD=NEW with one = outside quoted names")
    old, new = text[:splits[0]].strip(), text[splits[0] + 1:].strip()
    if not old or not new:
        raise ValueError("expected OLD=NEW with a name on each side")
    return old, new
