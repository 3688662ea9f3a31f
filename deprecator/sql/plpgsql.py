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

``EXECUTE`` runs SQL built at run time: it is kept as written, so the engine
reports the text as not fully understood (a fallback) instead of clean. The
result is for finding references only: offsets are not those of the body, so it
is never rewritten.
"""

from __future__ import annotations

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


def plpgsql_sql(body: str) -> str:
    """The SQL statements ``body`` runs, one per line, each ending in ``;`` ("" when there are none)."""
    tokens = Dialect.get_or_raise("postgres").tokenize(body)
    out = []
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
        statement = _statement(body, chunk)
        if statement:
            out.append(statement)
    return "".join(f"{s};\n" for s in out)


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


def _statement(body: str, chunk: list[Token]) -> str:
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
            return _text(body, query) if query and query[0].text.upper() in _QUERY_STARTS else (
                _text(body, query) if query and query[0].text.upper() == "EXECUTE" else "")
        return ""
    if head in _SKIP:
        return ""
    if head == "PERFORM":
        return "SELECT " + _text(body, chunk[1:])
    if head == "RETURN":
        rest = chunk[1:]
        if rest and rest[0].text.upper() == "QUERY":
            return _text(body, rest[1:])
        if rest and rest[0].text.upper() == "NEXT":
            rest = rest[1:]
        return "SELECT " + _text(body, rest) if rest else ""
    if head == "OPEN" and "FOR" in words:
        return _text(body, chunk[words.index("FOR") + 1:])
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
