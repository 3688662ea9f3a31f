"""The SQL inside a PL/pgSQL body, as plain SQL statements the reference engine can read.

A PL/pgSQL body mixes SQL statements with control flow (``IF ... THEN``,
``FOR r IN <query> LOOP``, ``PERFORM``, ``x := <expr>``, ``RETURN QUERY``).
sqlglot reads SQL, not PL/pgSQL, so the body is turned into the SQL it runs:

* SQL statements stay as written (``SELECT ... INTO var`` loses its ``INTO var``,
  which names variables, not a table);
* conditions and assignments become ``SELECT <expression>`` (they can hold subqueries);
* ``FOR ... IN <query> LOOP``, ``RETURN QUERY <query>`` and ``OPEN c FOR <query>`` give the query;
* ``PERFORM ...`` is ``SELECT ...``;
* block structure (``DECLARE``, ``BEGIN``, ``END [IF|LOOP|CASE]``, ``ELSE``,
  ``EXCEPTION``), ``RAISE``, ``NULL``, ``EXIT``, ``CONTINUE``, ``RETURN``
  without a query and the like carry no relation and are left out.

``EXECUTE`` (also ``RETURN QUERY EXECUTE``, ``FOR ... IN EXECUTE``, ``OPEN c FOR
EXECUTE``) runs the SQL a string holds. When that string is a constant (a quoted
or dollar-quoted literal, or literals joined by ``||``), its SQL is read like the
rest (``INTO`` and ``USING`` set aside; ``$1`` parameters parse). When it is built
at run time (``EXECUTE v``, ``EXECUTE format(...)``, ``EXECUTE 'a' || x``, an
``E'...'`` escape string) it cannot be read: ``read_plpgsql`` leaves it out of
the SQL (its expression is read as ``SELECT <expression>``, which may hold a
subquery) and returns it in ``dynamic`` with its line and form, so the caller lists
the body as not fully analysed, whatever else the body holds. The result is for
finding references only: offsets are not those of the body, so it is never
rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

# Tokens after which a new PL/pgSQL statement starts (besides ``;``).
_HEADER_ENDS = {"THEN", "LOOP", "ELSE", "BEGIN", "EXCEPTION"}
# Statements that carry no relation.
_SKIP = {"END", "BEGIN", "ELSE", "EXCEPTION", "DECLARE", "RAISE", "NULL", "EXIT", "CONTINUE", "GET",
         "ASSERT", "CLOSE", "FETCH", "MOVE", "FOREACH", "CASE", "COMMIT", "ROLLBACK"}
# What may follow INTO's targets in a SELECT (the clause after the variables).
_AFTER_INTO = {TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY, TokenType.LIMIT,
               TokenType.UNION, TokenType.HAVING, TokenType.WINDOW, TokenType.OFFSET, TokenType.FETCH,
               TokenType.FOR, TokenType.EXCEPT, TokenType.INTERSECT, TokenType.SEMICOLON}
_QUERY_STARTS = {"SELECT", "WITH", "VALUES", "(", "TABLE"}


@dataclass(frozen=True)
class DynamicSql:
    """An ``EXECUTE`` whose SQL is built at run time and so cannot be read."""

    line: int          # 1-based line in the body
    form: str          # what is executed, as written (shortened)
    why: str           # why it cannot be read

    def __str__(self) -> str:
        return f"line {self.line}: EXECUTE {self.form} ({self.why})"


@dataclass(frozen=True)
class PlpgsqlText:
    sql: str                              # the SQL statements the body runs that can be read
    dynamic: tuple[DynamicSql, ...] = ()  # what it runs that cannot be read


def plpgsql_sql(body: str) -> str:
    """The SQL statements ``body`` runs, one per line, each ending in ``;`` ("" when there are none).

    SQL built at run time is left out: use ``read_plpgsql`` to learn about it.
    """
    return read_plpgsql(body).sql


def read_plpgsql(body: str) -> PlpgsqlText:
    """The SQL ``body`` runs that can be read, and each ``EXECUTE`` whose SQL cannot."""
    tokens = Dialect.get_or_raise("postgres").tokenize(body)
    out = []
    dynamic: list[DynamicSql] = []
    declaring = False
    for chunk in _chunks(tokens):
        if chunk[0].text.upper() == "DECLARE":
            declaring = True                 # declarations run to the block's BEGIN
        if declaring:
            declaring = chunk[-1].text.upper() != "BEGIN"
            statement = _declaration(body, chunk[:-1] if not declaring else chunk)
            if statement:
                out.append(statement)
            continue
        statement = _statement(body, chunk, dynamic)
        if statement:
            out.append(statement)
    return PlpgsqlText("".join(f"{s};\n" for s in out), tuple(dynamic))


def _declaration(body: str, chunk: list[Token]) -> str:
    """``n int := <expr>`` / ``DEFAULT <expr>`` -> ``SELECT <expr>``; ``c CURSOR FOR <query>`` -> the query."""
    if chunk and chunk[0].text.upper() == "DECLARE":
        # the tokenizer reads DECLARE's first declaration as one string token
        text = chunk[1].text if len(chunk) > 1 and chunk[1].token_type == TokenType.STRING else ""
        return _declaration(text, Dialect.get_or_raise("postgres").tokenize(text)) if text else ""
    words = [t.text.upper() for t in chunk]
    if "CURSOR" in words and "FOR" in words[words.index("CURSOR"):]:
        return _text(body, chunk[words.index("FOR", words.index("CURSOR")) + 1:])
    for i, t in enumerate(chunk):
        if t.text in (":=", "=") or t.text.upper() == "DEFAULT":
            return "SELECT " + _text(body, chunk[i + 1:]) if chunk[i + 1:] else ""
        if t.token_type == TokenType.COLON and i + 1 < len(chunk) and chunk[i + 1].token_type == TokenType.EQ:
            return "SELECT " + _text(body, chunk[i + 2:]) if chunk[i + 2:] else ""
    return ""


def _chunks(tokens: list[Token]) -> list[list[Token]]:
    """Split at ``;`` and after the keywords that end a control-flow header, at parenthesis depth 0."""
    chunks: list[list[Token]] = [[]]
    depth = 0
    for t in tokens:
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth = max(0, depth - 1)
        if depth == 0 and t.token_type == TokenType.SEMICOLON:
            chunks.append([])
            continue
        chunks[-1].append(t)
        if depth == 0 and t.text.upper() in _HEADER_ENDS and not _inside_case(chunks[-1]):
            chunks.append([])
    return [c for c in chunks if c]


def _inside_case(chunk: list[Token]) -> bool:
    """A THEN/ELSE of a CASE expression inside a SQL statement does not end it."""
    opened = sum(1 for t in chunk if t.token_type == TokenType.CASE)
    closed = sum(1 for t in chunk if t.token_type == TokenType.END)
    return chunk[0].token_type != TokenType.CASE and opened > closed


def _text(body: str, tokens: list[Token]) -> str:
    """The written text of ``tokens``; where tokens were left out, the runs are joined by a space."""
    runs: list[list[Token]] = []
    for t in tokens:
        if runs and runs[-1][-1].end + 1 <= t.start and _adjacent(body, runs[-1][-1], t):
            runs[-1].append(t)
        else:
            runs.append([t])
    return " ".join(body[r[0].start:r[-1].end + 1].strip() for r in runs)


def _adjacent(body: str, a: Token, b: Token) -> bool:
    """Nothing but whitespace and comments lies between tokens ``a`` and ``b`` of ``body``."""
    gap = body[a.end + 1:b.start]
    return not any(ch.isalnum() for ch in _strip_comments(gap))


def _strip_comments(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = len(text) if j < 0 else j + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# String tokens whose text is exactly the string's value (plain '...' with '' unescaped,
# dollar-quoted); an E'...' escape string is not read (its escapes are not certain).
_CONSTANT_STRINGS = {TokenType.STRING, TokenType.HEREDOC_STRING}


def _execute(body: str, execute: Token, rest: list[Token], dynamic: list[DynamicSql]) -> str:
    """The SQL an ``EXECUTE`` runs when its string is a constant; else "" and a DynamicSql."""
    if not rest:
        dynamic.append(DynamicSql(execute.line, "", "nothing to execute"))
        return ""
    # Re-read what follows EXECUTE: at the start of a statement the tokenizer
    # takes it as one opaque command string.
    raw = body[execute.end + 1:rest[-1].end + 1]
    try:
        tokens = Dialect.get_or_raise("postgres").tokenize(raw)
    except Exception:   # an unclosed string: nothing can be read
        tokens = []
    # EXECUTE expr [INTO [STRICT] targets] [USING params]: INTO names variables; USING's
    # parameters are expressions evaluated as SQL (read as SELECT <params>)
    parts: dict[str, list[Token]] = {"expr": [], "INTO": [], "USING": []}
    part, depth = "expr", 0
    for t in tokens:
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        if depth == 0 and t.token_type in (TokenType.INTO, TokenType.USING):
            part = t.text.upper()
            continue
        parts[part].append(t)
    expr, params = parts["expr"], parts["USING"]
    using = f";\nSELECT {raw[params[0].start:params[-1].end + 1]}" if params else ""
    form = " ".join(raw.split())
    if expr:
        form = " ".join(raw[expr[0].start:expr[-1].end + 1].split())
    if len(form) > 60:
        form = form[:57] + "..."
    strings = expr[0::2]
    joins = expr[1::2]
    if (expr and len(expr) % 2 == 1 and all(t.token_type in _CONSTANT_STRINGS for t in strings)
            and all(t.token_type == TokenType.DPIPE for t in joins)):
        sql = "".join(t.text for t in strings).strip().rstrip(";").strip()
        if sql:
            return sql + using
        dynamic.append(DynamicSql(execute.line, form, "an empty string"))
        return using[3:]
    if not expr:
        why = "cannot be read"
    elif any(t.token_type == TokenType.BYTE_STRING for t in expr):
        why = "an E'...' escape string is not read"
    elif expr[0].token_type == TokenType.FORMAT or expr[0].text.lower() == "format":
        why = "SQL built by format() at run time"
    elif any(t.token_type == TokenType.DPIPE for t in expr):
        why = "SQL concatenated at run time"
    elif len(expr) == 1 and expr[0].token_type == TokenType.VAR:
        why = "SQL held in a variable"
    else:
        why = "SQL built at run time"
    dynamic.append(DynamicSql(execute.line, form, why))
    # the expression itself is evaluated as SQL (it may hold a subquery)
    return ("SELECT " + raw[expr[0].start:expr[-1].end + 1] + using) if expr else using[3:]


def _statement(body: str, chunk: list[Token], dynamic: list[DynamicSql]) -> str:
    while len(chunk) >= 2 and chunk[0].token_type == TokenType.LT and chunk[1].token_type == TokenType.LT:
        close = next((i for i, t in enumerate(chunk) if t.token_type == TokenType.GT), None)   # <<label>>
        chunk = chunk[close + 2:] if close is not None else []
    if not chunk:
        return ""
    words = [t.text.upper() for t in chunk]
    head = words[0]
    if words[-1] in _HEADER_ENDS:
        if head in ("IF", "ELSIF", "ELSEIF", "WHILE", "WHEN") and len(chunk) > 2:
            return "SELECT " + _text(body, chunk[1:-1])            # the condition
        if head == "FOR" and words[-1] == "LOOP" and "IN" in words:
            query = chunk[words.index("IN") + 1:-1]
            if query and query[0].text.upper() == "EXECUTE":
                return _execute(body, query[0], query[1:], dynamic)
            return _text(body, query) if query and query[0].text.upper() in _QUERY_STARTS else ""
        return ""
    if head in _SKIP:
        return ""
    if head == "PERFORM":
        return "SELECT " + _text(body, chunk[1:])
    if head == "EXECUTE":
        return _execute(body, chunk[0], chunk[1:], dynamic)
    if head == "RETURN":
        rest = chunk[1:]
        if rest and rest[0].text.upper() == "QUERY":
            if len(rest) > 1 and rest[1].text.upper() == "EXECUTE":
                return _execute(body, rest[1], rest[2:], dynamic)
            return _text(body, rest[1:])
        if rest and rest[0].text.upper() == "NEXT":
            rest = rest[1:]
        return "SELECT " + _text(body, rest) if rest else ""
    if head == "OPEN" and "FOR" in words:
        query = chunk[words.index("FOR") + 1:]
        if query and query[0].text.upper() == "EXECUTE":
            return _execute(body, query[0], query[1:], dynamic)
        return _text(body, query)
    if len(chunk) > 2 and chunk[1].text in (":=", "=") or (
            len(chunk) > 3 and chunk[1].token_type == TokenType.COLON and chunk[2].token_type == TokenType.EQ):
        start = 2 if chunk[1].text in (":=", "=") else 3
        return "SELECT " + _text(body, chunk[start:])               # an assignment
    return _text(body, _without_into(chunk))


def _without_into(chunk: list[Token]) -> list[Token]:
    """``SELECT a INTO [STRICT] x, y FROM t`` -> ``SELECT a FROM t`` (and ``RETURNING ... INTO x``)."""
    out: list[Token] = []
    depth, i = 0, 0
    insert = chunk[0].token_type == TokenType.INSERT
    while i < len(chunk):
        t = chunk[i]
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        if depth == 0 and t.token_type == TokenType.INTO and not (insert and i == 1):
            i += 1
            if i < len(chunk) and chunk[i].text.upper() == "STRICT":
                i += 1
            while i < len(chunk) and chunk[i].token_type not in _AFTER_INTO:
                i += 1
            continue
        out.append(t)
        i += 1
    return out
