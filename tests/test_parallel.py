"""The worker pool: crashes cost exactly one text, the scan goes on."""

from __future__ import annotations

import os
import signal
import time

from deprecator.parallel import ParsePool
from deprecator.sql.model import ParseResult


def echo_or_die(text, dialect, default_schema=(), default_catalog=None):
    """Test-only parse function: dies on sentinel texts, else echoes facts about its input."""
    if "SEGV" in text:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "EXIT" in text:
        os._exit(3)
    if "HANG" in text:
        time.sleep(60)
    if "RAISE" in text:
        raise ValueError("boom")
    return ParseResult("parsed", error=f"{text}|{dialect}|{','.join(default_schema)}|{default_catalog}")


def test_every_text_answered_with_its_own_result():
    texts = [(i, f"select {i}") for i in range(40)]
    with ParsePool("postgres", ("analytics",), "prod", workers=2, parse_fn=echo_or_die, batch_size=4) as pool:
        out = pool.map(texts)
        pool.submit("own path", "select x", ("public", "analytics"))  # a per-text search path wins
        out.update(pool.drain())
    assert sorted(k for k in out if isinstance(k, int)) == list(range(40))
    assert all(out[i].error == f"select {i}|postgres|analytics|prod" for i in range(40))
    assert out["own path"].error == "select x|postgres|public,analytics|prod"
    assert pool.crashes == 0


def test_segfault_costs_exactly_one_text_per_crash():
    texts = [(i, f"select {i}") for i in range(30)]
    for i in (0, 5, 6, 29):  # start of a batch, adjacent culprits, the very last text
        texts[i] = (i, f"select SEGV {i}")
    with ParsePool("postgres", workers=2, parse_fn=echo_or_die, batch_size=8) as pool:
        out = pool.map(texts)
    assert sorted(out) == list(range(30))
    errors = {k for k, r in out.items() if r.status == "error"}
    assert errors == {0, 5, 6, 29}
    for k in errors:
        assert out[k].error.startswith("worker crashed: signal 11"), out[k].error
    for k in set(range(30)) - errors:
        assert out[k].status == "parsed" and out[k].error.startswith(f"select {k}|")
    assert pool.crashes == 4


def test_exit_and_exception_are_reported():
    texts = [(0, "select 1"), (1, "EXIT now"), (2, "RAISE please"), (3, "select 3")]
    with ParsePool("sqlite", workers=1, parse_fn=echo_or_die, batch_size=4) as pool:
        out = pool.map(texts)
    assert out[1].status == "error" and out[1].error == "worker crashed: exit code 3"
    assert out[2].status == "error" and out[2].error == "parser raised ValueError: boom"
    assert out[0].status == out[3].status == "parsed"


def test_oversized_text_is_an_error_not_skipped():
    with ParsePool("postgres", workers=1, parse_fn=echo_or_die, max_chars=100) as pool:
        out = pool.map([(0, "select 1 " * 20), (1, "select 2")])
    assert out[0].status == "error"
    assert out[0].error == "too large (180 chars > limit 100)"
    assert out[1].status == "parsed"


def test_a_hanging_text_times_out_and_the_rest_finishes():
    texts = [(0, "select 0"), (1, "HANG"), (2, "select 2")]
    with ParsePool("postgres", workers=1, parse_fn=echo_or_die, batch_size=3, timeout=1.0) as pool:
        out = pool.map(texts)
    assert out[1].status == "error" and out[1].error == "timed out after 1s"
    assert out[0].status == out[2].status == "parsed"


def test_in_process_mode():
    with ParsePool("postgres", workers=0, parse_fn=echo_or_die) as pool:
        out = pool.map([(0, "a"), (1, "RAISE")])
    assert out[0].status == "parsed" and out[0].error == "a|postgres||None"
    assert out[1].status == "error" and out[1].error == "parser raised ValueError: boom"
    assert pool.workers == 0 and pool.crashes == 0


def test_keep_drops_the_references_the_caller_does_not_need():
    text = "select * from analytics.a join analytics.b on true join c on true"
    for workers in (1, 0):   # in the worker (forked), and in-process
        with ParsePool("postgres", ("analytics",), workers=workers, keep=lambda r: r.relation.name != "b") as pool:
            out = pool.map([(0, text), (1, "select 1")])
        assert out[0].status == "parsed"
        assert sorted(r.relation.name for r in out[0].references) == ["a", "c"], workers
        assert out[1].status == "parsed" and out[1].references == ()
