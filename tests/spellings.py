"""Random spellings of a name for the property-style tests (seeded ``random.Random``).

Shared by test_prefilter and test_pg_sql_history (a plain module, not a test module, so importing it
collects no tests twice).
"""

from __future__ import annotations

import random


def unicode_spelling(rng: random.Random, name: str) -> str:
    """``name`` as a PostgreSQL Unicode identifier: ``U&"..."``, some characters escaped, maybe ``UESCAPE``."""
    esc = rng.choice(["\\", "\\", "!", "#", "~"])
    body = []
    for c in name:
        if rng.random() < 0.6:
            digits = f"{ord(c):04x}" if ord(c) < 0x10000 and rng.random() < 0.7 else f"+{ord(c):06x}"
            body.append(esc + (digits.upper() if rng.random() < 0.5 else digits))
        else:
            body.append(esc + esc if c == esc else '""' if c == '"' else c)
    uescape = f" UESCAPE '{esc}'" if esc != "\\" or rng.random() < 0.2 else ""
    return rng.choice(["U&", "u&"]) + '"' + "".join(body) + '"' + uescape
