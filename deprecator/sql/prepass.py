"""The text pre-pass: the text sqlglot reads instead of the author's, with every offset kept.

PostgreSQL-family ``$n`` placeholders become numbers of the same length, and
(PostgreSQL) ``U&"..."`` identifiers the plain quoted names they spell
(``deprecator.sql.pgunicode``), so whatever is parsed has the author's character offsets.
"""

from __future__ import annotations

from deprecator.sql import pgunicode

POSTGRES_FAMILY = frozenset({"postgres", "redshift", "duckdb", "materialize", "risingwave"})


def is_ident_char(c: str) -> bool:
    return c.isalnum() or c in "_$"


def neutralize_placeholders(sql: str) -> str:
    """Replace ``$<digits>`` placeholders by same-length numeric literals.

    sqlglot reads ``IN ($1,$2)`` as a dollar-quoted string ``$1,$``; a number of
    the same length parses everywhere a placeholder may stand and keeps every
    offset identical. Strings, quoted identifiers, comments and dollar-quoted
    bodies are left untouched.
    """
    if "$" not in sql:
        return sql
    out = list(sql)
    i, n = 0, len(sql)
    changed = False
    while i < n:
        c = sql[i]
        if c == "'":
            j = i + 1
            backslash = i > 0 and sql[i - 1] in "eE" and (i < 2 or not is_ident_char(sql[i - 2]))
            while j < n:
                if backslash and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == '"':
            j = sql.find('"', i + 1)
            while j != -1 and j + 1 < n and sql[j + 1] == '"':
                j = sql.find('"', j + 2)
            i = n if j == -1 else j + 1
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j == -1 else j + 1
        elif c == "/" and sql.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
        elif c == "$":
            if i > 0 and is_ident_char(sql[i - 1]):
                i += 1
                continue
            j = i + 1
            if j < n and sql[j].isdigit():
                while j < n and sql[j].isdigit():
                    j += 1
                out[i] = "0"
                changed = True
                i = j
                continue
            # dollar-quoted body: $tag$ ... $tag$ (tag empty or an identifier)
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            if j < n and sql[j] == "$" and (j == i + 1 or not sql[i + 1].isdigit()):
                tag = sql[i : j + 1]
                end = sql.find(tag, j + 1)
                i = n if end == -1 else end + len(tag)
            else:
                i += 1
        else:
            i += 1
    return "".join(out) if changed else sql


def parser_text(sql: str, dialect: str) -> str:
    """The text sqlglot reads: placeholders neutralized and (PostgreSQL) ``U&"..."`` names decoded, offsets kept."""
    if dialect not in POSTGRES_FAMILY:
        return sql
    text = neutralize_placeholders(sql)
    return pgunicode.decode(text) if dialect == "postgres" and '&"' in text else text
