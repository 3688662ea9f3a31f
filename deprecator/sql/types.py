"""Column type names as catalogs spell them (PostgreSQL ``format_type``): pure string rules.

Planning uses them to block a replacement whose column types differ in kind; the
PostgreSQL adapter keys its type categories with ``base_type``.
"""

from __future__ import annotations

import re
from typing import Mapping

_TYPMOD = re.compile(r"\(\s*\d+\s*(?:,\s*-?\d+\s*)?\)")


def base_type(type_name: str) -> str:
    """A type name without its modifier: ``numeric(10,2)`` -> ``numeric``."""
    return " ".join(_TYPMOD.sub("", type_name).split()).lower()


def type_category(type_name: str, categories: Mapping[str, str]) -> str | None:
    """The engine's category of a type (PostgreSQL ``typcategory``), None when unknown."""
    return categories.get(base_type(type_name))


def incompatible(old_type: str, new_type: str, categories: Mapping[str, str]) -> bool:
    """True when both types are known and belong to different categories (e.g. integer vs text).

    Types of one category (integer -> bigint, timestamp -> timestamptz) are compatible:
    the view keeps working and is dropped and recreated if its output types change.
    """
    if base_type(old_type) == base_type(new_type):
        return False
    a, b = type_category(old_type, categories), type_category(new_type, categories)
    return a is not None and b is not None and a != b
