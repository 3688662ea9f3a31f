"""A cheap test that rules out texts which cannot mention any deprecated relation.

Soundness argument: a text can reference relation ``R`` only if ``R``'s bare
name appears in it, as written. Normalization only changes case (folding),
and a quoted identifier escapes its quote character by doubling it
(``"a""b"`` is the name ``a"b``; BigQuery writes ``\\``` inside backticks). So
we compare case-folded text against case-folded names in every escaped
spelling, as whole words. A BigQuery ```project.dataset.table``` still
contains ``table``. A plain substring test runs first; the word-boundary regex
only confirms the few texts that contain a needle at all.
False positives only cost a parse; false negatives would hide references.

Two spellings escape the argument, as they write a name without its
characters, so every text that may hold one is a candidate:

* a PostgreSQL Unicode identifier (``U&"customer_\\0066acts"``, or
  ``U&"customer!005ffacts" UESCAPE '!'``): any text containing ``U&"``, rare in
  real SQL. The engine decodes these identifiers (``deprecator.sql.pgunicode``),
  so the reference is found and can be rewritten; one PostgreSQL would refuse
  is left as written, and the rewrite refuses a text with one (see
  ``deprecator.sql.rewrite.unicode_identifiers``).
* a BigQuery backtick identifier with backslash escapes (```customer\\x5ffacts```,
  ``\\u005f``, ``\\137``): any text with a backslash after a backtick. The
  parser decodes these, so the reference is found (not rewritten: its span is
  not exact).

And a BigQuery wildcard table (```p.d.events_2023*```) reads tables it does not
name: with ``wildcard_tables`` any text holding ``*``` (the star must be
backticked) is a candidate.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

# Quote characters and how each dialect escapes them inside a quoted identifier.
_ESCAPES = (('"', '""'), ("`", "``"), ("`", "\\`"), ("]", "]]"), ("'", "''"))

# The opening of a PostgreSQL Unicode-escaped identifier, case-folded: it may spell any name.
UNICODE_IDENTIFIER = 'u&"'
# A backtick, later a backslash: where a BigQuery identifier with escapes (`a\x5fb`) may be.
BACKSLASH_AFTER_BACKTICK = re.compile(r"`[^`]*\\")


def _fold(s: str) -> str:
    return s.lower() if s.isascii() else s.casefold()


def spellings(name: str, fold: Callable[[str], str] = _fold) -> set[str]:
    """Every case-folded way ``name`` can appear in SQL text (``fold``: how to fold the case)."""
    out = {name}
    for quote, escaped in _ESCAPES:
        if quote in name:
            out |= {s.replace(quote, escaped) for s in list(out)}
    return {fold(s) for s in out if s}


class Prefilter:
    """``may_reference(text)`` is False only when no name can occur in ``text``.

    A name that starts (ends) with a word character must not be preceded
    (followed) by one: ``customer_facts_v2`` or ``xcustomer_facts`` is another
    identifier, so it cannot be a reference to ``customer_facts``. Quote
    characters, dots, spaces, operators and ``-`` (BigQuery project names) all
    count as boundaries, so any way of writing the name itself still passes.
    """

    def __init__(self, names: Iterable[str], wildcard_tables: bool = False) -> None:
        # wildcard_tables (BigQuery): a wildcard table (`p.d.events_*`) reads tables it does not name
        self.wildcard_tables = wildcard_tables
        needles: set[str] = set()
        for n in names:
            needles |= spellings(n)
        self.needles: tuple[str, ...] = tuple(sorted(needles))
        self.ascii_needles: tuple[str, ...] = tuple(n for n in self.needles if n.isascii())
        self._all = _Confirm(self.needles)
        self._ascii = _Confirm(self.ascii_needles)

    def may_reference(self, text: str) -> bool:
        ascii_text = text.isascii()
        low = text.lower() if ascii_text else text.casefold()
        if ("&" in text and UNICODE_IDENTIFIER in low) or (   # one-character tests first: they are cheap
                "\\" in text and "`" in text and BACKSLASH_AFTER_BACKTICK.search(text) is not None):
            return bool(self.needles)   # an escaped identifier may spell any name, in ASCII too
        if self.wildcard_tables and "*`" in text:
            return bool(self.needles)   # `p.d.events_2023*` may cover any deprecated name
        # A reference in an ASCII text has an ASCII name, so only ASCII needles can match.
        return (self._ascii if ascii_text else self._all).found(low)


class _Confirm:
    """Whether one of ``needles`` occurs in a case-folded text as a whole word (at its word-character ends).

    A plain substring test rules out most texts. The rest are confirmed without one regex of
    alternatives (which costs ~0.2 ms a text with a few dozen names): a needle made only of word
    characters occurs as a whole word exactly when it is one of the text's maximal runs of word
    characters (``\\w+``, the same ``\\w`` as the lookarounds of :func:`_pattern`); other needles are
    confirmed by their own small pattern.
    """

    def __init__(self, needles: tuple[str, ...]) -> None:
        self.needles = needles
        self.words = frozenset(n for n in needles if _WORDS.fullmatch(n))
        self.others = tuple(p for p in (_pattern([n]) for n in needles if n not in self.words) if p is not None)

    def found(self, low: str) -> bool:
        if not any(n in low for n in self.needles):
            return False
        if self.words and not self.words.isdisjoint(_WORDS.findall(low)):
            return True
        return any(p.search(low) is not None for p in self.others)


def _pattern(needles: Iterable[str]) -> "re.Pattern[str] | None":
    parts = []
    for n in sorted(needles, key=len, reverse=True):
        head = r"(?<!\w)" if _WORD.match(n[0]) else ""
        tail = r"(?!\w)" if _WORD.match(n[-1]) else ""
        parts.append(head + re.escape(n) + tail)
    return re.compile("|".join(parts)) if parts else None


_WORD = re.compile(r"\w")
_WORDS = re.compile(r"\w+")


def name_needles(name: str) -> tuple[str, ...]:
    """Lowercased spellings of a name as it can appear in SQL text, with every dialect's quote
    escape (``spellings``); lowercased the way ``TextIndex`` lowercases texts."""
    return tuple(sorted(spellings(name, str.lower)))


class TextIndex:
    """Which texts could name a relation: a cheap prefilter before parsing.

    A name made of word characters must appear as a whole word of the lowercased
    text (a set lookup: ``customer_facts_v2`` does not name ``customer_facts``);
    any other name (spaces, quotes, ``$``) as a substring. Where ``Prefilter`` holds
    one set of names and is asked about many texts (a scan), this reads each text
    once, by ``key``, and is asked about many names (plan and apply: every view
    against the relations that change).
    """

    def __init__(self) -> None:
        self._words: dict[Any, tuple[str, frozenset[str]]] = {}

    def mentions(self, key: Any, text: str, needles: Iterable[str]) -> bool:
        entry = self._words.get(key)
        if entry is None:
            low = text.lower()
            entry = self._words[key] = (low, frozenset(_WORDS.findall(low)))
        low, words = entry
        for n in needles:
            if _WORDS.fullmatch(n):
                if n in words:
                    return True
            elif n in low:
                return True
        return False
