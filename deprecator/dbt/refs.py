"""``ref()`` and ``source()`` calls in dbt model SQL, found with jinja2's own parser.

jinja2's AST nodes carry a line number only. To report the exact line and
column of every ``ref`` (inside macro arguments, ``{% set %}``, ``{% if %}``
branches, ``{{ ... }}`` blocks spanning lines), the parser is fed a token
stream whose "line number" is each token's character offset (plus one): the
lexer's raw tokens are laid on the source in order, so each one's offset is
known exactly, and every node the parser builds from a token then carries that
token's offset. Nothing is guessed from text: a ``ref`` in a Jinja comment or a
``{% raw %}`` block is not a call and is not reported.

The same token positions mask the Jinja for the SQL reference engine: every
Jinja construct is replaced by a placeholder of the same length (newlines
kept), so offsets, lines and columns in the masked text are those of the file.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Literal

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.ext import Extension
from jinja2.lexer import TokenStream
from jinja2.parser import Parser

_NEWLINES = re.compile(r"\r\n?")
# Tokens whose text the lexer consumed but which hold no Jinja construct.
_OPENERS = {"variable_begin": "variable_end", "block_begin": "block_end", "comment_begin": "comment_end",
            "linestatement_begin": "linestatement_end"}
_SINGLE = ("raw_begin", "raw_end")   # ``{% raw %}`` / ``{% endraw %}``: one token each; the body is SQL
# Calls whose output is no relation and stands where SQL has none (masked as blanks, not a name).
_BLANK_CALLS = frozenset({"config", "set", "do"})

CallKind = Literal["ref", "source"]


@dataclass(frozen=True)
class DbtRef:
    """One ``ref(...)`` (or ``source(...)``) call, where the ``ref`` name is written.

    ``name`` is the model (for ``source``: the table), ``package`` the package
    (for ``source``: the source name). A call whose arguments are not all
    literals is ``dynamic``: its target is known only to dbt (the manifest's
    ``depends_on``), and ``name`` is None when the model itself is not a literal.
    """

    kind: CallKind
    name: str | None
    package: str | None
    version: str | None
    start: int          # offset of ``ref`` in the file
    end: int            # exclusive end of the call (after its closing parenthesis)
    line: int           # 1-based
    column: int         # 1-based, in characters
    text: str           # the call as written
    dynamic: bool = False


@dataclass(frozen=True)
class JinjaComment:
    """A ``{# ... #}`` comment: its text (without the delimiters) and where it starts."""

    text: str
    start: int
    line: int
    column: int


@dataclass(frozen=True)
class JinjaScan:
    """What jinja2 found in one file. ``error`` set means the Jinja did not parse (nothing else is set)."""

    refs: tuple[DbtRef, ...] = ()
    comments: tuple[JinjaComment, ...] = ()
    masked: str | None = None
    has_jinja: bool = False
    # ``masked`` is the first of these: one text per rendering of the ``{% if %}``
    # chains (the first branch of each, then the second, ..., an absent ``else``
    # counting as an empty branch), so that ``{% if %} where a {% else %} where b
    # {% endif %}`` never reaches the SQL parser as two WHERE clauses.
    variants: tuple[str, ...] = ()
    error: str | None = None
    error_line: int | None = None


def has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


class _BlockExtension(Extension):
    """dbt's own block tags (``{% test %}``, ``{% snapshot %}``, ``{% materialization %}``, ...):
    their bodies are parsed like a macro's so calls inside them are found."""

    tags = {"test", "data_test", "snapshot", "materialization", "docs", "unit_test"}

    def parse(self, parser: Parser) -> nodes.Node:
        tag = next(parser.stream)
        while parser.stream.current.type != "block_end":
            next(parser.stream)
        body = parser.parse_statements((f"name:end{tag.value}",), drop_needle=True)
        return nodes.Scope(body, lineno=tag.lineno)


class _PositionedEnvironment(Environment):
    """An Environment whose parser sees character offsets (+1) where line numbers would be."""

    def __init__(self) -> None:
        super().__init__(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", _BlockExtension])
        self.positioned: list[tuple[int, str, str]] = []

    def _tokenize(self, source: str, name: str | None, filename: str | None = None,
                  state: str | None = None) -> TokenStream:
        self.positioned = []
        raw = self.lexer.tokeniter(source, name, filename, state)
        stream: Any = TokenStream(self.lexer.wrap(self._offsets(raw, source), name, filename), name, filename)
        for ext in self.iter_extensions():
            stream = ext.filter_stream(stream)
            if not isinstance(stream, TokenStream):
                stream = TokenStream(stream, name, filename)
        return stream

    def _offsets(self, raw: Iterable[tuple[int, str, str]], source: str) -> Iterator[tuple[int, str, str]]:
        pos = 0
        try:
            for _lineno, kind, value in raw:
                # Tokens come in source order; only whitespace the lexer strips
                # (``{%-``, trim_blocks) lies between them, so the next
                # occurrence of a token's text at or after the cursor is it.
                at = source.find(value, pos) if value else pos
                if at < 0:   # cannot happen with the default lexer; keep positions monotonic
                    at = pos
                self.positioned.append((at, kind, value))
                pos = at + len(value)
                yield at + 1, kind, value
        except TemplateSyntaxError as e:
            # Raised by the lexer with a real line number: encode it as an offset like the rest.
            if e.lineno:
                e.lineno = _line_start(source, e.lineno) + 1
            raise


def _line_start(text: str, line: int) -> int:
    at = 0
    for _ in range(line - 1):
        nl = text.find("\n", at)
        if nl < 0:
            return len(text)
        at = nl + 1
    return at


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1


def scan_jinja(text: str) -> JinjaScan:
    """Every ``ref``/``source`` call, every Jinja comment, and the masked SQL of ``text``."""
    if not has_jinja(text):
        return JinjaScan(masked=text)
    # jinja2 reads \r\n and \r as \n; work on the normalized text and map positions
    # back by (line, column), which normalization does not change.
    norm = _NEWLINES.sub("\n", text)
    env = _PositionedEnvironment()
    norm_lines = _Lines(norm)
    orig_lines = _Lines(text) if norm is not text and norm != text else norm_lines
    try:
        template = env.parse(norm)
    except TemplateSyntaxError as e:
        line = None
        if e.lineno:
            line = norm_lines.position(min(e.lineno - 1, len(norm)))[0]
        return JinjaScan(has_jinja=True, error=f"Jinja syntax error: {e.message}", error_line=line)

    def to_orig(offset: int) -> tuple[int, int, int]:
        line, col = norm_lines.position(offset)
        return orig_lines.offset(line, col), line, col

    tokens = env.positioned
    token_at = {t[0]: i for i, t in enumerate(tokens) if t[1] == "name"}
    refs: list[DbtRef] = []
    for call in template.find_all(nodes.Call):
        callee = call.node
        if isinstance(callee, nodes.Name) and callee.name in ("ref", "source"):
            kind, first = callee.name, callee
        elif (isinstance(callee, nodes.Getattr) and callee.attr in ("ref", "source")
              and isinstance(callee.node, nodes.Name) and callee.node.name == "builtins"):
            kind, first = callee.attr, callee.node     # dbt's builtins.ref(), used inside a ref() override
        else:
            continue
        start = first.lineno - 1
        end = _call_end(tokens, token_at.get(start), len(norm))
        o_start, line, col = to_orig(start)
        o_end = to_orig(end)[0]
        refs.append(_make_ref(call, kind, o_start, o_end, line, col, text[o_start:o_end]))
    refs.sort(key=lambda r: r.start)
    comments = []
    for at, kind, value in tokens:
        if kind == "comment":
            o, line, col = to_orig(at)
            comments.append(JinjaComment(value, o, line, col))
    base = _mask(norm, tokens)
    variants = [_blank(base, spans) for spans in _branch_variants(norm, tokens)]
    if norm != text:
        variants = [_restore_newlines(text, v) for v in variants]
    return JinjaScan(tuple(refs), tuple(comments), variants[0], True, variants=tuple(dict.fromkeys(variants)))


def _call_end(tokens: list[tuple[int, str, str]], name_index: int | None, limit: int) -> int:
    """Offset after the parenthesis closing the call whose name is ``tokens[name_index]``."""
    if name_index is None:
        return limit
    depth = 0
    for at, kind, value in tokens[name_index + 1:]:
        if kind != "operator":
            continue
        if value in "([{":
            depth += 1
        elif value in ")]}":
            depth -= 1
            if depth == 0:
                return at + 1
    return limit


def _literal(node: nodes.Node | None) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, (str, int, float)) and not isinstance(node.value, bool):
        return str(node.value)
    return None


def _make_ref(call: nodes.Call, kind: str, start: int, end: int, line: int, col: int, text: str) -> DbtRef:
    args = [_literal(a) for a in call.args]
    dynamic = (any(a is None for a in args) or not args or len(args) > 2
               or call.dyn_args is not None or call.dyn_kwargs is not None)
    version = None
    for kw in call.kwargs:
        if kw.key in ("v", "version"):
            version = _literal(kw.value)
            if version is None:
                dynamic = True
    name = args[-1] if args and len(args) <= 2 else None
    package = args[0] if len(args) == 2 else None
    return DbtRef(kind, name, package, version, start, end, line, col, text, dynamic)  # type: ignore[arg-type]


def _mask(norm: str, tokens: list[tuple[int, str, str]]) -> str:
    """``norm`` with every Jinja construct blanked (newlines kept).

    A ``{{ ... }}`` becomes a name of its own length on its first line (it
    stands where SQL has a relation or a value); ``{{ config(...) }}``, blocks
    and comments become blanks.
    """
    out = list(norm)
    i = 0
    while i < len(tokens):
        at, kind, _value = tokens[i]
        closer = _OPENERS.get(kind)
        if closer is None:
            if kind in _SINGLE:
                for k in range(at, at + len(_value)):
                    if out[k] != "\n":
                        out[k] = " "
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and tokens[j][1] != closer:
            j += 1
        end = tokens[j][0] + len(tokens[j][2]) if j < len(tokens) else len(norm)
        inner = [t for t in tokens[i + 1:j] if t[1] != "whitespace"]
        blank_call = (len(inner) >= 2 and inner[0][1] == "name" and inner[0][2] in _BLANK_CALLS
                      and inner[1][2] == "(")
        name_like = kind == "variable_begin" and not blank_call
        first_line = True
        for k in range(at, end):
            if out[k] == "\n":
                first_line = False
                continue
            out[k] = "_" if (name_like and first_line) else " "
        i = j + 1
    return "".join(out)


MAX_VARIANTS = 4


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    out = list(text)
    for start, end in spans:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


def _branch_variants(norm: str, tokens: list[tuple[int, str, str]]) -> list[list[tuple[int, int]]]:
    """For each rendering of the ``{% if %}`` chains, the branch bodies to blank.

    Rendering ``v`` keeps branch ``v`` of every chain (its last one when it has
    fewer; an ``if`` without ``else`` has an empty last branch). At most
    ``MAX_VARIANTS`` renderings; the first keeps every first branch.
    """
    chains: list[tuple[list[tuple[int, int]], bool]] = []
    stack: list[list[Any]] = []      # ["if", branches, body_start, has_else] or ["for"]
    i = 0
    while i < len(tokens):
        at, kind, _ = tokens[i]
        if kind not in ("block_begin", "linestatement_begin"):
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and tokens[j][1] == "whitespace":
            j += 1
        tag = tokens[j][2] if j < len(tokens) and tokens[j][1] == "name" else None
        k = j
        while k < len(tokens) and tokens[k][1] not in ("block_end", "linestatement_end"):
            k += 1
        tag_end = tokens[k][0] + len(tokens[k][2]) if k < len(tokens) else len(norm)
        if tag == "if":
            stack.append(["if", [], tag_end, False])
        elif tag == "for":
            stack.append(["for"])
        elif tag in ("elif", "else") and stack and stack[-1][0] == "if":
            top = stack[-1]
            top[1].append((top[2], at))
            top[2] = tag_end
            top[3] = top[3] or tag == "else"
        elif tag == "endif" and stack and stack[-1][0] == "if":
            top = stack.pop()
            top[1].append((top[2], at))
            chains.append((top[1], top[3]))
        elif tag == "endfor" and stack and stack[-1][0] == "for":
            stack.pop()
        i = k + 1
    if not chains:
        return [[]]
    count = min(MAX_VARIANTS, max(len(b) + (0 if has_else else 1) for b, has_else in chains))
    out = []
    for v in range(count):
        spans: list[tuple[int, int]] = []
        for branches, has_else in chains:
            keep = min(v, len(branches) - (1 if has_else else 0))
            spans.extend(span for n, span in enumerate(branches) if n != keep)
        out.append(spans)
    return out


def _restore_newlines(text: str, masked_norm: str) -> str:
    """Map a mask computed on \\n-normalized text back onto the original line endings."""
    out: list[str] = []
    lines_m = masked_norm.split("\n")
    parts = re.split(r"(\r\n?|\n)", text)
    for idx in range(0, len(parts), 2):
        out.append(lines_m[idx // 2] if idx // 2 < len(lines_m) else parts[idx])
        if idx + 1 < len(parts):
            out.append(parts[idx + 1])
    return "".join(out)
