"""bench/link.py, the shaped relay behind ``python3 -m bench --only pg-scan --link``: bytes arrive intact, never faster than the cap."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.link import parse_spec

REPO = Path(__file__).resolve().parent.parent


def _sink_server() -> tuple[socket.socket, dict[str, object]]:
    """Upstream that reads everything, then answers with the sha256 of what it read."""
    srv = socket.create_server(("127.0.0.1", 0))
    got: dict[str, object] = {}

    def run() -> None:
        conn, _ = srv.accept()
        h = hashlib.sha256()
        n = 0
        while chunk := conn.recv(65536):
            h.update(chunk)
            n += len(chunk)
        got["n"] = n
        conn.sendall(h.hexdigest().encode())
        conn.close()

    threading.Thread(target=run, daemon=True).start()
    return srv, got


def _start_relay(upstream_port: int, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.link", "--upstream", f"127.0.0.1:{upstream_port}", *args],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening "), line
    return proc, int(line.rsplit(":", 1)[1])


def test_relay_delivers_bytes_intact_and_not_faster_than_the_cap() -> None:
    payload = os.urandom(1_500_000)
    mbit = 40.0                      # 5 MB/s: 1.5 MB take at least ~0.29 s at the cap
    srv, got = _sink_server()
    relay, port = _start_relay(srv.getsockname()[1], "--mbit", str(mbit), "--latency-ms", "5")
    try:
        with socket.create_connection(("127.0.0.1", port)) as c:
            t0 = time.perf_counter()
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := c.recv(1024):
                answer += chunk
            elapsed = time.perf_counter() - t0
        assert relay.stdout is not None
        assert json.loads(relay.stdout.readline()) == {"opened": 1}
        stats = relay.stdout.readline()     # the relay logs the connection once both directions closed
        assert got["n"] == len(payload)
        assert answer.decode() == hashlib.sha256(payload).hexdigest()
        # upper bound on throughput only (load can slow the relay, never speed it up); one chunk may be in
        # the pipe before the clock starts
        assert len(payload) - 65536 <= elapsed * mbit * 1e6 / 8
    finally:
        relay.terminate()
        relay.communicate(timeout=10)
        srv.close()
    assert json.loads(stats) == {"to_server": len(payload), "to_client": 64, "open_s": json.loads(stats)["open_s"]}


def test_link_specs() -> None:
    assert parse_spec("1000mbit", 1.0) == (1000.0, 1.0)
    assert parse_spec("100mbit@20ms", 1.0) == (100.0, 20.0)
    assert parse_spec("relay", 1.0) == (None, 0.0)
