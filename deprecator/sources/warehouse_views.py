"""The SQL a warehouse keeps, as a source: view definitions, view rules and function bodies.

One text per view definition; on engines that have them (PostgreSQL), also one
per view rule action (``ON INSERT ... DO INSTEAD <action>``) and one per SQL or
PL/pgSQL function or procedure body. pg_depend records what a view's query and
its rules read, but not what a function body reads (except SQL-standard
``BEGIN ATOMIC`` bodies), so only reading the text finds those consumers.
A PL/pgSQL body is read as the SQL statements it runs (``deprecator.sql.plpgsql``:
conditions, loop queries, ``PERFORM``, assignments and ``RETURN QUERY`` become
SQL; control flow is set aside; ``EXECUTE`` of a constant string reads its SQL).
What still does not parse leaves the body listed as not fully analysed with the
reason, never as "no references"; so does every ``EXECUTE`` of SQL built at run
time (``EXECUTE v``, ``format(...)``, ``'...' || x``), naming its line, even when
the body spells no deprecated name: what it runs may name one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from deprecator.sources.base import SourceItem, SourceProblem, SqlText

if TYPE_CHECKING:
    from deprecator.warehouse.base import Warehouse

# Source kinds of the texts this source yields (findings and unparsed entries carry them).
VIEW, VIEW_RULE, FUNCTION, PLPGSQL_FUNCTION = "view", "view_rule", "function", "plpgsql_function"


@dataclass
class WarehouseViewsSource:
    """Wraps ``Warehouse.list_views()`` (and ``list_functions()`` where the adapter has it)."""

    warehouse: Warehouse
    kind: str = VIEW

    @property
    def name(self) -> str:
        return str(getattr(self.warehouse, "display_url", "warehouse"))

    def read(self) -> Iterator[SourceItem]:
        for view in self.warehouse.list_views():
            yield SqlText(
                text=view.definition,
                source=VIEW,
                object=str(view.relation),
                extra={"kind": view.kind, "definition_is_create": view.definition_is_create,
                       "relation": view.relation},
            )
            for rule in view.extra.get("rules") or ():
                action = rule_action(str(rule["definition"]))
                if action:
                    yield SqlText(text=action, source=VIEW_RULE, object=f"{view.relation} rule {rule['name']}",
                                  extra={"relation": view.relation, "rule": rule["name"]})
        list_functions = getattr(self.warehouse, "list_functions", None)
        if not callable(list_functions):
            return
        from deprecator.sources.pg_stat_statements import parse_search_path
        from deprecator.sql.plpgsql import read_plpgsql

        for fn in list_functions():
            # PL/pgSQL: the SQL statements the body runs, control flow set aside (deprecator.sql.plpgsql)
            text = fn.body
            if fn.language == "plpgsql":
                read = read_plpgsql(fn.body)
                text = read.sql
                if read.dynamic:
                    yield SourceProblem(
                        PLPGSQL_FUNCTION, fn.signature,
                        "PL/pgSQL body runs SQL built at run time, which cannot be read, so it may use any "
                        "relation: " + "; ".join(str(d) for d in read.dynamic) + " (lines of the body)",
                        kind="partial")
            if not text.strip():
                continue
            path = tuple(parse_search_path(fn.search_path)) if fn.search_path else None
            yield SqlText(
                text=text,
                source=PLPGSQL_FUNCTION if fn.language == "plpgsql" else FUNCTION,
                object=fn.signature,
                default_schema=path or None,
                extra={"language": fn.language, "kind": fn.kind, "atomic": fn.atomic},
            )


def rule_action(definition: str) -> str | None:
    """The action of a rule as ``pg_get_ruledef`` prints it: ``CREATE RULE r AS ON e TO v [WHERE c]
    DO [ALSO|INSTEAD] action`` -> ``action`` (several actions: their statements); None for NOTHING.

    The ``DO`` that starts the action is the first DO token outside strings,
    quoted names and parentheses (a WHERE condition cannot contain one at top level).
    """
    i, n, depth = 0, len(definition), 0
    while i < n:
        c = definition[i]
        if c in "'\"":
            j = i + 1
            while j < n and not (definition[j] == c and definition[j + 1:j + 2] != c):
                j += 2 if definition[j] == c else 1
            i = j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and definition[i:i + 2].upper() == "DO" and _word_at(definition, i, 2):
            rest = definition[i + 2:].lstrip()
            for mode in ("INSTEAD", "ALSO"):
                if rest.upper().startswith(mode) and _word_at(rest, 0, len(mode)):
                    rest = rest[len(mode):].lstrip()
            rest = rest.rstrip().rstrip(";").rstrip()
            if rest.startswith("(") and rest.endswith(")"):
                rest = rest[1:-1].strip()
            return None if rest.upper() == "NOTHING" or not rest else rest
        i += 1
    return None


def _word_at(text: str, i: int, length: int) -> bool:
    """``text[i:i+length]`` is a whole word."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + length] if i + length < len(text) else " "
    return not (before.isalnum() or before in "_$") and not (after.isalnum() or after in "_$")
