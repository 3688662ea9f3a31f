"""Ctrl-C, for real: the CLI as a subprocess, SIGINT sent while a scan is reading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import orjson

from tests.history_project import CONFIG, REGISTRY


def test_ctrl_c_mid_scan_exits_130_with_one_line_and_records_nothing(tmp_path):
    (tmp_path / "deprecator.yml").write_text(CONFIG)
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    # The history is a named pipe: the scan is certainly mid-read (blocked on the
    # pipe, half the rows consumed) when the signal arrives.
    fifo = tmp_path / "history.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "deprecator", "scan", "--workers", "1"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with open(fifo, "wb") as w:          # returns once the scan has opened the pipe
            for i in range(2000):
                w.write(orjson.dumps({"query_text": f"select {i} from analytics.customer_facts",
                                      "user_name": "ann"}) + b"\n")
            w.flush()
            time.sleep(1.0)                  # the scan reads them and waits for more
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 130, (proc.returncode, text)
    assert text.strip() == "interrupted; nothing was changed", text
    assert b"Traceback" not in out + err
    # the scan was not recorded: no state store was even created
    assert not (tmp_path / ".deprecator" / "state.db").exists()


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """`deprecator scan --format json | head -c 10`: no error line, no traceback, exit 1 as click does."""
    (tmp_path / "deprecator.yml").write_text(CONFIG)
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    (tmp_path / "history.jsonl").write_bytes(b"".join(
        orjson.dumps({"query_text": f"select {i} from analytics.customer_facts", "user_name": f"u{i}"}) + b"\n"
        for i in range(3000)))
    proc = subprocess.Popen([sys.executable, "-m", "deprecator", "scan", "--workers", "1", "--format", "json"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10)
    proc.stdout.close()                      # the reader goes away mid-output
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1 and err == b"", err
