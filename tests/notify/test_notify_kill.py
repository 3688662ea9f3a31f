"""Crash safety for real: SIGKILL `deprecator notify` at several points; re-running delivers the rest,
and the fake Slack server receives each notice exactly once.

Kill points (each a separate case):
- when Slack has stored message N but before it answers (the process dies with the message posted and
  its outbox row still pending: the same state as dying between Slack's answer and the outbox write);
- right after Slack's answer has been written to the socket (the outbox write races the kill:
  either outcome must end with one message);
- as a post arrives (Slack still stores it), and as a post is lost on the way (the row is pending,
  the message never arrived: the next run finds no marker and sends it);
- at a user lookup or DM open (between two owners);
- twice: once at a post, then again during the next run's reconciliation (conversations.history).
"""

from __future__ import annotations

import collections
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notify.notify_project import write_project

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {"CBI", "CPLATFORM", "DUALICE", "DUBOB"}     # the four notices, in sending order


def run(project: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "deprecator", "notify"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_at(fake, proc_box, kind: str, target: str, nth: int, when: str = "before") -> None:
    """Arm the fake server to SIGKILL the running notify process at the nth matching event."""
    seen = collections.Counter()

    def kill() -> None:
        if proc_box and proc_box[-1].poll() is None:
            os.kill(proc_box[-1].pid, signal.SIGKILL)
            proc_box[-1].wait()
        fake.on_post = fake.on_request = None   # once

    if kind == "post":
        def on_post(msg, phase):
            if phase == when:
                seen["post", phase] += 1
                if seen["post", phase] == nth:
                    kill()
        fake.on_post = on_post
    else:
        def on_request(method, params):
            if method == target:
                seen[method] += 1
                if seen[method] == nth:
                    kill()
                    return "drop" if when == "drop" else None
            return None
        fake.on_request = on_request


CASES = [
    ("post", "chat.postMessage", 1, "before"),
    ("post", "chat.postMessage", 3, "before"),
    ("post", "chat.postMessage", 4, "before"),
    ("post", "chat.postMessage", 2, "after"),
    ("post", "chat.postMessage", 4, "after"),
    ("request", "chat.postMessage", 2, None),     # killed as the post arrives; Slack still posts it
    ("request", "chat.postMessage", 3, "drop"),   # killed and the post never reaches Slack
    ("request", "users.lookupByEmail", 2, None),
    ("request", "conversations.open", 1, None),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind, target, nth, when", CASES,
                         ids=[f"{k}-{t}-{n}-{w}" for k, t, n, w in CASES])
def test_kill_then_rerun_delivers_each_notice_exactly_once(tmp_path, slack_env, kind, target, nth, when):
    fake = slack_env.fake
    write_project(tmp_path, slack_env.base_url)
    env = dict(os.environ, SLACK_BOT_TOKEN=fake.token, DEPRECATOR_TODAY="2026-12-02",
               PYTHONPATH=str(ROOT))
    procs: list[subprocess.Popen] = []
    kill_at(fake, procs, kind, target, nth, when or "before")
    procs.append(run(tmp_path, env))
    out, err = procs[-1].communicate(timeout=120)
    assert procs[-1].returncode == -signal.SIGKILL, (out, err)
    delivered_before = len(fake.messages)
    # re-run until it finishes cleanly (it must on the first try)
    procs.append(run(tmp_path, env))
    out, err = procs[-1].communicate(timeout=120)
    assert procs[-1].returncode == 0, (out, err)
    assert fake.token not in out + err
    counts = collections.Counter(m["channel"] for m in fake.messages)
    assert counts == {c: 1 for c in OWNERS}, (delivered_before, counts, out)
    rows = sqlite3.connect(tmp_path / "state.db").execute(
        "select owner_key, status from notify_outbox").fetchall()
    sent = collections.Counter(k for k, s in rows if s == "sent")
    assert set(sent.values()) == {1} and len(sent) == 4, rows
    assert not [r for r in rows if r[1] == "pending"]
    # and a third run sends nothing
    p = run(tmp_path, env)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and len(fake.messages) == 4 and "4 skipped" in out, (out, err)


@pytest.mark.slow
def test_killed_again_during_reconciliation(tmp_path, slack_env):
    fake = slack_env.fake
    write_project(tmp_path, slack_env.base_url)
    env = dict(os.environ, SLACK_BOT_TOKEN=fake.token, DEPRECATOR_TODAY="2026-12-02", PYTHONPATH=str(ROOT))
    procs: list[subprocess.Popen] = []
    kill_at(fake, procs, "post", "chat.postMessage", 2, "before")
    procs.append(run(tmp_path, env))
    procs[-1].communicate(timeout=120)
    assert procs[-1].returncode == -signal.SIGKILL
    kill_at(fake, procs, "request", "conversations.history", 1)
    procs.append(run(tmp_path, env))
    procs[-1].communicate(timeout=120)
    assert procs[-1].returncode == -signal.SIGKILL
    procs.append(run(tmp_path, env))
    out, err = procs[-1].communicate(timeout=120)
    assert procs[-1].returncode == 0, (out, err)
    assert "had arrived" in out
    assert collections.Counter(m["channel"] for m in fake.messages) == {c: 1 for c in OWNERS}


@pytest.mark.slow
def test_a_second_run_while_one_is_sending_is_refused(tmp_path, slack_env):
    import threading

    fake = slack_env.fake
    write_project(tmp_path, slack_env.base_url)
    env = dict(os.environ, SLACK_BOT_TOKEN=fake.token, DEPRECATOR_TODAY="2026-12-02", PYTHONPATH=str(ROOT))
    reached, release = threading.Event(), threading.Event()

    def hold(msg, phase):       # the first run waits inside its first post
        if phase == "before" and len(fake.messages) == 1:
            reached.set()
            release.wait(60)
    fake.on_post = hold
    first = run(tmp_path, env)
    assert reached.wait(60)
    second = run(tmp_path, env)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 2, (out, err)
    assert "another `deprecator notify` is sending (pid" in err and str(first.pid) in err
    release.set()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, (out, err)
    assert collections.Counter(m["channel"] for m in fake.messages) == {c: 1 for c in OWNERS}
    # the lock was released: the next run runs (and sends nothing new)
    p = run(tmp_path, env)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and "4 skipped" in out, (out, err)
