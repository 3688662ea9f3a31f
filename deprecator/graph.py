"""The order of views by what they read, on the standard library's ``graphlib``: one order, one cycle error.

Pure (no I/O), below both the planner and the warehouse adapters.
"""

from __future__ import annotations

import heapq
from graphlib import CycleError, TopologicalSorter
from itertools import count
from typing import Any, Callable, Collection, Hashable, Iterable, Mapping, TypeVar

from deprecator.errors import ViewCycleError

N = TypeVar("N", bound=Hashable)


def dependency_order(
    nodes: Iterable[N],
    reads: Mapping[N, Collection[N]],
    *,
    key: Callable[[N], Any],
    name: Callable[[N], str] = str,
    levels: bool = True,
) -> list[N]:
    """``nodes``, each once, every one after the nodes it reads (``reads[n]``).

    What a node reads outside ``nodes``, and a node reading itself, do not count.
    ``levels``: level by level, each level sorted by ``key``: first every node that
    reads none of the others, then every node that reads only those, and so on (the
    plan's order). Otherwise the smallest ready node by ``key`` comes next each time
    (the PostgreSQL catalog's ``dependents`` order). Nodes that read each other raise
    :class:`ViewCycleError` naming one cycle by ``name``, from its smallest node by ``key``.
    """
    pending = sorted(set(nodes), key=key)     # sorted: the same cycle is named whatever the input order
    members = set(pending)
    sorter: TopologicalSorter[N] = TopologicalSorter()
    for n in pending:
        sorter.add(n, *sorted((set(reads.get(n, ())) & members) - {n}, key=key))
    try:
        sorter.prepare()
    except CycleError as e:
        raise ViewCycleError([name(n) for n in _reading_cycle(e.args[1], key)]) from None
    out: list[N] = []
    if levels:
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=key)
            out.extend(ready)
            sorter.done(*ready)
        return out
    tie = count()                              # equal keys: the order they became ready (never compare nodes)
    heap = [(key(n), next(tie), n) for n in sorter.get_ready()]
    heapq.heapify(heap)
    while heap:
        n = heapq.heappop(heap)[2]
        out.append(n)
        sorter.done(n)
        for r in sorter.get_ready():
            heapq.heappush(heap, (key(r), next(tie), r))
    return out


def _reading_cycle(cycle: list[N], key: Callable[[N], Any]) -> list[N]:
    """graphlib's cycle ([a, c, b, a]: each is read by the next) as each reading the next, from the smallest."""
    ring = list(reversed(cycle[:-1]))
    start = min(range(len(ring)), key=lambda i: key(ring[i]))
    ring = ring[start:] + ring[:start]
    return ring + ring[:1]
