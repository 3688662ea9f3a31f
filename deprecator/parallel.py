"""Parse SQL texts in worker processes that survive hostile input.

``find_references`` catches ``RecursionError`` itself, but a parser can still
take its process down (a segfault on extreme nesting, a C extension bug, the
OOM killer). Each worker answers text by text, so when one dies the pool
knows exactly which text killed it: that text is recorded as an ``error``
("worker crashed: signal 11"), the rest of the batch is requeued and a fresh
worker takes over. A text that runs past ``timeout`` seconds is treated the
same way ("timed out").
"""

from __future__ import annotations

import dataclasses
import faulthandler
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Generic, Hashable, Iterator, Sequence, TypeVar

from deprecator.sql.model import ParseResult, Reference

ParseFn = Callable[..., ParseResult]
# Which references of a parsed text the caller needs; the others are dropped in the worker,
# so they are neither pickled back nor held.
KeepFn = Callable[[Reference], bool]
# What the caller keys its texts by (the scan: its candidate's index); results come back with it.
K = TypeVar("K", bound=Hashable)

DEFAULT_MAX_CHARS = 1_000_000
DEFAULT_BATCH_SIZE = 8
DEFAULT_TIMEOUT = 120.0
_DONE = "__done__"


def default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, n)


def _default_parse_fn() -> ParseFn:
    from deprecator.sql import find_references

    return find_references


def _parse_one(parse_fn: ParseFn, text: str, dialect: str, default_schema: Sequence[str],
               default_catalog: str | None, keep: KeepFn | None = None) -> ParseResult:
    try:
        res = parse_fn(text, dialect, default_schema=default_schema, default_catalog=default_catalog)
    except RecursionError:
        return ParseResult("error", error="too deeply nested (recursion limit)")
    except Exception as e:  # the engine should not raise; if it does, one text is lost, not the scan
        return ParseResult("error", error=f"parser raised {type(e).__name__}: {e}")
    return _kept(res, keep)


def _kept(res: ParseResult, keep: KeepFn | None) -> ParseResult:
    if keep is None or not res.references:
        return res
    refs = tuple(r for r in res.references if keep(r))
    return res if len(refs) == len(res.references) else dataclasses.replace(res, references=refs)


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker go when the pool's process goes, however it goes (SIGTERM, SIGKILL, a crash).

    Without this a terminated scan leaves its workers behind: each holds inherited copies of the
    pipes' other ends, so none ever reads end-of-file. On Linux the kernel sends SIGKILL when the
    parent dies (PR_SET_PDEATHSIG); elsewhere the inherited ends are closed, so an idle worker reads
    end-of-file and returns.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:   # the parent went before the death signal was armed
        os._exit(0)


def _worker_main(conn: Connection, parse_fn: ParseFn | None, dialect: str, default_schema: tuple[str, ...],
                 default_catalog: str | None, keep: KeepFn | None = None, parent_pid: int | None = None,
                 inherited: Sequence[Connection] = ()) -> None:
    for other in inherited:   # forked: the pool's ends of this and earlier workers' pipes
        other.close()
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    fn = parse_fn or _default_parse_fn()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    faulthandler.disable()  # a crash is reported by the pool, not as a traceback on the user's terminal
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        for key, text, schema in batch:
            conn.send((key, _parse_one(fn, text, dialect, default_schema if schema is None else schema,
                                       default_catalog, keep)))
        conn.send(_DONE)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    outstanding: deque            # keys sent and not yet answered, in order
    texts: dict                   # key -> (text, schema) for outstanding keys (to requeue)
    last_progress: float = 0.0
    busy: bool = False


def _crash_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker crashed"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        return f"worker crashed: signal {-exitcode} ({name})"
    return f"worker crashed: exit code {exitcode}"


class ParsePool(Generic[K]):
    """Submit texts with a key; collect ``(key, ParseResult)`` as they finish.

    ``submit`` never blocks for long, so a reader can feed the pool while it
    streams a file and parsing overlaps reading. ``workers=0`` parses in this
    process (no crash isolation; for debugging).
    """

    def __init__(
        self,
        dialect: str,
        default_schema: Sequence[str] = (),
        default_catalog: str | None = None,
        *,
        workers: int | None = None,
        parse_fn: ParseFn | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float | None = DEFAULT_TIMEOUT,
        keep: KeepFn | None = None,
    ) -> None:
        self.dialect = dialect
        self.default_schema = tuple(default_schema)
        self.default_catalog = default_catalog
        self.workers = default_workers() if workers is None else max(0, workers)
        self.parse_fn = parse_fn
        self.max_chars = max_chars
        self.batch_size = max(1, batch_size)
        self.timeout = timeout
        self.keep = keep
        self.crashes = 0
        self._queue: deque[tuple[K, str, tuple[str, ...] | None]] = deque()
        self._ready: list[tuple[K, ParseResult]] = []
        self._pool: list[_Worker] = []
        self._ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context("spawn")
        if self.workers and self._ctx.get_start_method() == "fork" and parse_fn is None:
            # Import the engine and load the dialect once here; forked workers inherit both
            # instead of each paying for it (and every respawn after a crash).
            _default_parse_fn()
            from deprecator.sql.names import get_dialect

            get_dialect(dialect)
        self._closed = False

    # -- public ---------------------------------------------------------------
    def submit(self, key: K, text: str, default_schema: Sequence[str] | None = None) -> None:
        """Queue ``text``; ``default_schema`` overrides the pool's search path for this text."""
        schema = None if default_schema is None else tuple(default_schema)
        if len(text) > self.max_chars:
            self._ready.append((key, ParseResult("error", error=f"too large ({len(text)} chars > limit {self.max_chars})")))
            return
        if self.workers == 0:
            fn = self.parse_fn or _default_parse_fn()
            self._ready.append((key, _parse_one(fn, text, self.dialect,
                                                self.default_schema if schema is None else schema,
                                                self.default_catalog, self.keep)))
            return
        self._queue.append((key, text, schema))
        if len(self._queue) >= self.batch_size:
            self._pump(block=False)

    def poll(self) -> list[tuple[K, ParseResult]]:
        """Results finished so far (non-blocking)."""
        if self.workers:
            self._pump(block=False)
        out, self._ready = self._ready, []
        return out

    def drain(self) -> Iterator[tuple[K, ParseResult]]:
        """Every remaining result; returns when all submitted texts are answered."""
        while True:
            if self._ready:
                out, self._ready = self._ready, []
                yield from out
            if not self._queue and not any(w.outstanding for w in self._pool):
                if not self._ready:
                    return
                continue
            self._pump(block=True)

    def map(self, items: Sequence[tuple[K, str]]) -> dict[K, ParseResult]:
        for key, text in items:
            self.submit(key, text)
        return dict(self.drain())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in self._pool:
            try:
                w.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for w in self._pool:
            w.process.join(timeout=2)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._pool = []

    def __enter__(self) -> "ParsePool[K]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals ------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        forked = self._ctx.get_start_method() == "fork"
        # Forked, the worker filters its own results and closes the pool's pipe ends it inherited;
        # spawned, nothing is inherited and the filter runs here (it may not pickle).
        p = self._ctx.Process(
            target=_worker_main,
            args=(child, self.parse_fn, self.dialect, self.default_schema, self.default_catalog,
                  self.keep if forked else None, os.getpid(),
                  [parent, *(w.conn for w in self._pool)] if forked else []),
            daemon=True,
        )
        p.start()
        child.close()
        return _Worker(p, parent, deque(), {})

    def _dispatch(self) -> None:
        while len(self._pool) < self.workers and self._queue:
            self._pool.append(self._spawn())
        for w in list(self._pool):  # a failed send removes the worker
            if not self._queue:
                return
            if w.busy:
                continue
            # Small batches when little is queued keep both workers busy at the end.
            n = min(self.batch_size, max(1, len(self._queue) // max(1, len(self._pool))))
            batch = [self._queue.popleft() for _ in range(min(n, len(self._queue)))]
            for key, text, schema in batch:
                w.outstanding.append(key)
                w.texts[key] = (text, schema)
            w.busy = True
            w.last_progress = time.monotonic()
            try:
                w.conn.send(batch)
            except (OSError, BrokenPipeError):
                self._handle_death(w)

    def _pump(self, block: bool) -> None:
        self._dispatch()
        busy = [w for w in self._pool if w.busy]
        if not busy:
            return
        waitables: list[Any] = []
        for w in busy:
            waitables += [w.conn, w.process.sentinel]
        timeout = 0.0 if not block else (min(self.timeout, 1.0) if self.timeout else None)
        ready = set(wait(waitables, timeout=timeout))
        now = time.monotonic()
        for w in busy:
            if w.conn in ready:
                self._receive(w)
            if w.process.sentinel in ready and not w.process.is_alive():
                self._handle_death(w)
            elif w.busy and self.timeout and now - w.last_progress > self.timeout:
                self._handle_death(w, reason=f"timed out after {self.timeout:g}s")
        self._dispatch()

    def _receive(self, w: _Worker) -> None:
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg == _DONE:
                    w.busy = False
                    continue
                key, result = msg
                if self.keep is not None and self._ctx.get_start_method() != "fork":
                    result = _kept(result, self.keep)
                if w.outstanding and w.outstanding[0] == key:
                    w.outstanding.popleft()
                else:
                    w.outstanding.remove(key)
                w.texts.pop(key, None)
                w.last_progress = time.monotonic()
                self._ready.append((key, result))
        except (EOFError, OSError):
            pass  # the worker died mid-message; its sentinel reports it

    def _handle_death(self, w: _Worker, reason: str | None = None) -> None:
        self._receive(w)  # results it managed to send before dying
        if w.process.is_alive():
            w.process.kill()
        w.process.join()
        reason = reason or _crash_reason(w.process.exitcode)
        self.crashes += 1
        if w.outstanding:
            culprit = w.outstanding.popleft()
            w.texts.pop(culprit, None)
            self._ready.append((culprit, ParseResult("error", error=reason)))
            # Requeue the rest of the batch in front, in order: only the culprit is lost.
            for key in reversed(w.outstanding):
                self._queue.appendleft((key, *w.texts[key]))
        w.conn.close()
        self._pool.remove(w)
