"""Reading a parsed JSON document field by field, naming the path of anything that is not as expected.

A saved plan (``deprecator.plan.Plan.from_json``) and its operations
(``deprecator.operations.Operation.from_json``) are read through :class:`Node`:
each value knows where it is (``views[3].operations[1].sql``), so a damaged or
hand-edited file is refused with ``views[3].operations[1].sql: expected text,
found null`` rather than a Python exception's text. Pure: no I/O, no imports
beyond the standard library.
"""

from __future__ import annotations

import json
import re
from typing import Collection, NoReturn, Sequence

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class JsonShapeError(ValueError):
    """A value of the document is missing or not of the expected shape; ``path`` says where."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


def describe(value: object) -> str:
    """What a JSON value is, in words: ``text``, ``null``, ``a list``, ``an object``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def child_path(path: str, key: str | int) -> str:
    """``path`` followed by a list index (``[3]``) or an object key (``.sql``, or ``["a.b"]`` when not a name)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


class Node:
    """One value of a parsed JSON document and its path from the document's root (``""``: the root)."""

    __slots__ = ("value", "path")

    def __init__(self, value: object, path: str = "") -> None:
        self.value = value
        self.path = path

    def fail(self, expected: str, found: str | None = None) -> NoReturn:
        raise JsonShapeError(self.path, f"expected {expected}, found {found or describe(self.value)}")

    # -- objects ----------------------------------------------------------------------------------------------
    def obj(self, *, fields: Collection[str] | None = None) -> Obj:
        """This value as an object; ``fields``: the only keys it may have (None: any)."""
        if not isinstance(self.value, dict):
            self.fail("an object")
        if fields is not None:
            for key in self.value:
                if key not in fields:
                    raise JsonShapeError(self.path, f"unknown field {json.dumps(key)}")
        return Obj(self.value, self.path)

    def text_map(self) -> dict[str, str]:
        """An object whose every value is text."""
        return {key: node.text() for key, node in self.obj().entries()}

    # -- lists ------------------------------------------------------------------------------------------------
    def items(self, length: int | None = None, shape: str = "") -> list[Node]:
        """This value's items; ``length``: how many it must have, ``shape`` says what they are (``[a, b]``)."""
        expected = f"a list {shape}" if shape else "a list"
        if not isinstance(self.value, list):
            self.fail(expected)
        if length is not None and len(self.value) != length:
            self.fail(expected, f"a list of {_items(len(self.value))}")
        return [Node(v, child_path(self.path, i)) for i, v in enumerate(self.value)]

    def texts(self) -> tuple[str, ...]:
        """A list of text."""
        return tuple(item.text() for item in self.items())

    # -- scalars ----------------------------------------------------------------------------------------------
    def text(self) -> str:
        if not isinstance(self.value, str):
            self.fail("text")
        return self.value

    def text_or_null(self) -> str | None:
        if self.value is not None and not isinstance(self.value, str):
            self.fail("text or null")
        return self.value

    def whole_number_or_null(self) -> int | None:
        if self.value is not None and (isinstance(self.value, bool) or not isinstance(self.value, int)):
            self.fail("a whole number or null")
        return self.value

    def boolean_or_null(self) -> bool | None:
        if self.value is not None and not isinstance(self.value, bool):
            self.fail("true, false or null")
        return self.value

    def one_of(self, choices: Sequence[str], what: str = "") -> str:
        """Text that is one of ``choices``; ``what`` names them in the message (``an operation kind``)."""
        listed = ", ".join(choices)
        expected = f"{what} ({listed})" if what else f"one of {listed}"
        if not isinstance(self.value, str):
            self.fail(expected)
        if self.value not in choices:
            shown = json.dumps(self.value)
            self.fail(expected, shown if len(shown) <= 60 else shown[:56] + '..."')
        return self.value


class Obj:
    """A JSON object and its path: its fields, each a :class:`Node`, and a missing field named."""

    __slots__ = ("value", "path")

    def __init__(self, value: dict[str, object], path: str) -> None:
        self.value = value
        self.path = path

    def __contains__(self, key: str) -> bool:
        return key in self.value

    def field(self, key: str) -> Node:
        """The field ``key``, which must be there."""
        if key not in self.value:
            raise JsonShapeError(self.path, f"missing field {json.dumps(key)}")
        return Node(self.value[key], child_path(self.path, key))

    def optional(self, key: str) -> Node | None:
        """The field ``key``, or None when it is absent."""
        return Node(self.value[key], child_path(self.path, key)) if key in self.value else None

    def entries(self) -> list[tuple[str, Node]]:
        return [(key, Node(v, child_path(self.path, key))) for key, v in self.value.items()]
