"""SIGTERM, for real: a scan subprocess with parse workers is terminated; no worker may outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.history_project import CONFIG, REGISTRY


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Running (a zombie no one has reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            state = next(line for line in fh if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "Z" not in state.split()[1]


def test_sigterm_mid_scan_leaves_no_worker(tmp_path: Path) -> None:
    (tmp_path / "deprecator.yml").write_text(CONFIG)
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    fifo = tmp_path / "history.jsonl"
    os.mkfifo(fifo)   # the scan blocks mid-read on the pipe, its workers started
    proc = subprocess.Popen([sys.executable, "-m", "deprecator", "scan", "--workers", "2", "--quiet"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        with open(fifo, "wb") as w:
            for i in range(400):    # distinct texts that pass the prefilter: both workers get some
                w.write(orjson.dumps({"query_text": f"select {i} from analytics.customer_facts",
                                      "user_name": "ann"}) + b"\n")
            w.flush()
            deadline = time.monotonic() + 20
            while len(workers) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
                workers = _children(proc.pid)
            assert len(workers) == 2, workers
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)], "parse workers outlived the terminated scan"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
