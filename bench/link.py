"""A shaped TCP relay for benchmarks: a slower, farther network between client and server.

    python3 -m bench.link --upstream 127.0.0.1:5432 --mbit 100 --latency-ms 1 [--port 0]

Listens on 127.0.0.1 (port 0: any free port), forwards every connection to
``--upstream`` and shapes each direction on its own, like a full-duplex link:
the bytes read from one side are serialised at ``--mbit`` (one chunk of at most
64 KiB at a time, i.e. a token bucket whose burst is one chunk) and delivered
``--latency-ms`` after their last byte has been "sent". At most ``--window``
bytes per direction are in flight; beyond that the relay stops reading, so the
sender feels back-pressure as it would from TCP's windows over a real path.
Without ``--mbit`` and ``--latency-ms`` it is a plain relay (to size its own cost).

Why user space: ``tc qdisc ... netem`` (the kernel's way to add latency) is not
built into this machine's kernel ("Specified qdisc kind is unknown"; tbf/htb
exist but add no delay), and shaping ``lo`` would slow every other engineer's
PostgreSQL tests too. The relay runs as its own process so its CPU is not the
scan's; the runner reads its CPU time from /proc.

Protocol on stdout (one line each, flushed): ``listening HOST:PORT`` once, then
``{"opened": N}`` per accepted connection and, when it closes, one JSON object
with its bytes each way and seconds open. ``RelayProcess`` runs it for the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Shape:
    """One direction of the link: rate in bytes per second (None: unlimited) and one-way delay."""

    rate_bps: float | None
    latency_s: float
    window: int = 4 * 2**20


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, shape: Shape, count: list[int]) -> None:
    """Copy reader to writer through the shaped direction, adding the bytes read to ``count[0]``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    in_flight = 0
    room = asyncio.Event()
    room.set()

    async def intake() -> None:
        nonlocal in_flight
        link_free = 0.0
        while True:
            data = await reader.read(CHUNK)
            if not data:
                queue.put_nowait(None)
                return
            now = loop.time()
            count[0] += len(data)
            sent = now
            if shape.rate_bps:
                sent = max(now, link_free) + len(data) / shape.rate_bps
                link_free = sent
            queue.put_nowait((sent + shape.latency_s, data))
            in_flight += len(data)
            if in_flight >= shape.window:
                room.clear()
                await room.wait()

    async def deliver() -> None:
        nonlocal in_flight
        while True:
            item = await queue.get()
            if item is None:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            due, data = item
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
            in_flight -= len(data)
            if in_flight < shape.window:
                room.set()

    await asyncio.gather(intake(), deliver())


async def serve(host: str, port: int, upstream: tuple[str, int], shape: Shape) -> None:
    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        t0 = time.perf_counter()
        up, down = [0], [0]
        opened[0] += 1
        print(json.dumps({"opened": opened[0]}), flush=True)
        try:
            s_reader, s_writer = await asyncio.open_connection(*upstream)
        except OSError:
            c_writer.close()
            return
        tasks = [asyncio.ensure_future(pipe(c_reader, s_writer, shape, up)),
                 asyncio.ensure_future(pipe(s_reader, c_writer, shape, down))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            if any(t.exception() for t in done):   # a reset on one side ends both directions
                for t in tasks:
                    t.cancel()
            await asyncio.wait(tasks)
        finally:
            for w in (c_writer, s_writer):
                w.close()
            print(json.dumps({"to_server": up[0], "to_client": down[0],
                              "open_s": round(time.perf_counter() - t0, 3)}), flush=True)

    opened = [0]
    server = await asyncio.start_server(handle, host, port, limit=2 * CHUNK)
    sock = server.sockets[0].getsockname()
    print(f"listening {sock[0]}:{sock[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


class RelayProcess:
    """``python3 -m bench.link`` as a child process: its port, its CPU time, the connections it logged."""

    def __init__(self, upstream: str, mbit: float | None, latency_ms: float) -> None:
        args = [sys.executable, "-m", "bench.link", "--upstream", upstream, "--latency-ms", str(latency_ms)]
        if mbit is not None:
            args += ["--mbit", str(mbit)]
        self.proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("listening "):
            self.proc.kill()
            raise RuntimeError(f"bench.link did not start: {first!r}")
        self.port = int(first.rsplit(":", 1)[1])
        self.opened = 0
        self.closed: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            with self._lock:
                if "opened" in event:
                    self.opened = event["opened"]
                else:
                    self.closed.append(event)

    def cpu_s(self) -> float:
        """User + system CPU seconds of the relay so far (from /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def settled(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until every accepted connection was logged closed; return all closed so far."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self.closed) >= self.opened:
                    return list(self.closed)
            time.sleep(0.02)
        with self._lock:
            return list(self.closed)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def parse_spec(spec: str, default_latency_ms: float) -> tuple[float | None, float]:
    """``100mbit``, ``1000mbit@20ms``, ``relay`` (no cap, no delay) -> (Mbit/s or None, one-way ms)."""
    s = spec.strip().lower()
    if s == "relay":
        return None, 0.0
    rate, _, lat = s.partition("@")
    mbit = float(rate.removesuffix("mbit"))
    ms = float(lat.removesuffix("ms")) if lat else default_latency_ms
    if mbit <= 0 or ms < 0:
        raise ValueError(f"bad link spec {spec!r}")
    return mbit, ms


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.link", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", default="127.0.0.1:5432")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mbit", type=float, default=None, help="rate per direction in Mbit/s (default: unlimited)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="one-way delay added per direction")
    ap.add_argument("--window", type=int, default=4 * 2**20, help="bytes in flight per direction at most")
    a = ap.parse_args(argv)
    host, _, port = a.upstream.rpartition(":")
    shape = Shape(None if a.mbit is None else a.mbit * 1e6 / 8, a.latency_ms / 1000, a.window)
    try:
        asyncio.run(serve(a.host, a.port, (host, int(port)), shape))
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()


if __name__ == "__main__":
    main()
