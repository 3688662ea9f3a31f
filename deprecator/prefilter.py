"""A cheap test that rules out texts which cannot mention any deprecated relation.

Soundness argument: a text can reference relation ``R`` only if ``R``'s bare
name appears in it, as written. Normalization only changes case (folding),
and a quoted identifier escapes its quote character by doubling it
(``"a""b"`` is the name ``a"b``; BigQuery writes ``\\``` inside backticks). So
we compare case-folded text against case-folded names in every escaped
spelling. A BigQuery ```project.dataset.table``` still contains ``table``.
False positives only cost a parse; false negatives would hide references.
"""

from __future__ import annotations

from typing import Iterable

# Quote characters and how each dialect escapes them inside a quoted identifier.
_ESCAPES = (('"', '""'), ("`", "``"), ("`", "\\`"), ("]", "]]"), ("'", "''"))


def _fold(s: str) -> str:
    return s.lower() if s.isascii() else s.casefold()


def spellings(name: str) -> set[str]:
    """Every case-folded way ``name`` can appear in SQL text."""
    out = {name}
    for quote, escaped in _ESCAPES:
        if quote in name:
            out |= {s.replace(quote, escaped) for s in list(out)}
    return {_fold(s) for s in out if s}


class Prefilter:
    """``may_reference(text)`` is False only when no name can occur in ``text``."""

    def __init__(self, names: Iterable[str]) -> None:
        needles: set[str] = set()
        for n in names:
            needles |= spellings(n)
        # A needle containing another is redundant: the shorter one already passes.
        ordered = sorted(needles, key=len)
        kept: list[str] = []
        for n in ordered:
            if not any(k in n for k in kept):
                kept.append(n)
        self.needles: tuple[str, ...] = tuple(kept)
        self.ascii_needles: tuple[str, ...] = tuple(n for n in kept if n.isascii())

    def may_reference(self, text: str) -> bool:
        if text.isascii():
            low = text.lower()
            # A reference in an ASCII text has an ASCII name, so only ASCII needles can match.
            for n in self.ascii_needles:
                if n in low:
                    return True
            return False
        low = text.casefold()
        for n in self.needles:
            if n in low:
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.needles)
