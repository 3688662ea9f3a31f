"""Keeping sqlglot's fallback warnings off the terminal during the engine's own parsing.

sqlglot logs a warning ("... contains unsupported syntax. Falling back to parsing as a
'Command'") for every statement it keeps as an opaque Command. The engine reports those
texts as ``fallback`` (``ParseResult.status``), so during its own parsing the warning is
noise. Importing the engine changes no logging: the first parse adds a filter to the
``sqlglot`` logger that drops records below ERROR only while a parse of this engine runs
in the same thread or task (a ContextVar), so sqlglot used anywhere else in the process
logs as its application configured. Parse workers are covered too: they parse through
the same functions.
"""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from typing import Callable, ParamSpec, TypeVar

_parsing: ContextVar[bool] = ContextVar("deprecator_sql_parsing", default=False)

P = ParamSpec("P")
R = TypeVar("R")


class _DuringOwnParsing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not _parsing.get()


_FILTER = _DuringOwnParsing()


def quiet_sqlglot(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with sqlglot's warnings (not its errors) dropped; a decorator."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        logger = logging.getLogger("sqlglot")
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        token = _parsing.set(True)
        try:
            return fn(*args, **kwargs)
        finally:
            _parsing.reset(token)

    return wrapper
