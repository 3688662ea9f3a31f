"""The notice outbox in the state store: intent before each send, the result after.

A row is written ``pending`` (with its id, which also travels in the Slack
message's metadata) before ``chat.postMessage``, and set to ``sent`` with the
message ``ts`` after. A process that dies in between leaves a ``pending`` row;
the next run looks the marker up in the channel's history
(``conversations.history`` with ``include_all_metadata``) and settles the row
as ``sent`` (found) or ``lost`` (never arrived, so the notice is due again).
No token or message text is stored: only who, where, which deprecations (with a
fingerprint of what was used) and the Slack answer.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa

from deprecator.errors import NotifyError
from deprecator.state import StateStore, meta_table, notify_outbox

LOCK_KEY = "notify_lock"
LOCK_STALE_S = 6 * 3600      # a lock from another machine older than this is taken over


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class OutboxRow:
    id: str
    owner_key: str
    destination: str
    channel_id: str | None
    status: str                      # pending | sent | failed | lost
    created_at: _dt.datetime
    updated_at: _dt.datetime
    ts: str | None
    error: str | None
    items: dict[str, str]            # deprecation -> fingerprint of what the owner used
    payload_sha: str


def _row(r: Any) -> OutboxRow:
    return OutboxRow(r.id, r.owner_key, r.destination, r.channel_id, r.status, r.created_at, r.updated_at, r.ts,
                     r.error, json.loads(r.items), r.payload_sha)


class Outbox:
    def __init__(self, store: StateStore) -> None:
        self.engine = store.engine

    def intend(self, owner_key: str, destination: str, channel_id: str | None, items: dict[str, str],
               payload_sha: str) -> str:
        oid = uuid.uuid4().hex
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(sa.insert(notify_outbox).values(
                id=oid, owner_key=owner_key, destination=destination, channel_id=channel_id, status="pending",
                created_at=now, updated_at=now, items=json.dumps(items, sort_keys=True), payload_sha=payload_sha))
        return oid

    def settle(self, oid: str, status: str, *, ts: str | None = None, channel_id: str | None = None,
               error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": _now(), "error": error}
        if ts is not None:
            values["ts"] = ts
        if channel_id is not None:
            values["channel_id"] = channel_id
        with self.engine.begin() as conn:
            conn.execute(sa.update(notify_outbox).where(notify_outbox.c.id == oid).values(**values))

    def pending(self) -> list[OutboxRow]:
        q = sa.select(notify_outbox).where(notify_outbox.c.status == "pending").order_by(notify_outbox.c.created_at)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def last_sent(self, owner_keys: Iterable[str] | None = None) -> dict[tuple[str, str], tuple[_dt.datetime, str]]:
        """(owner key, deprecation) -> (when it was last sent, the fingerprint sent)."""
        q = sa.select(notify_outbox).where(notify_outbox.c.status == "sent").order_by(notify_outbox.c.updated_at)
        out: dict[tuple[str, str], tuple[_dt.datetime, str]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                for dep, fp in json.loads(r.items).items():
                    out[(r.owner_key, dep)] = (r.updated_at, fp)
        return out

    def rows(self) -> list[OutboxRow]:
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(sa.select(notify_outbox).order_by(notify_outbox.c.created_at))]

    # -- one sending run at a time ------------------------------------------------
    def acquire(self) -> str:
        """Take the sending lock (a row in deprecator_meta); NotifyError if a live run holds it.

        A lock left by a run that died (same machine, its process gone; or older than
        LOCK_STALE_S from another machine) is taken over with a compare-and-swap.
        """
        import os
        import socket

        mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "at": _now().isoformat(),
                           "nonce": uuid.uuid4().hex})
        for _ in range(3):
            with self.engine.begin() as conn:
                held = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == LOCK_KEY)).scalar()
                if held is None:
                    try:
                        conn.execute(sa.insert(meta_table).values(key=LOCK_KEY, value=mine))
                        return mine
                    except sa.exc.IntegrityError:
                        continue          # another run inserted it first: look again
                if not _stale(held):
                    info = json.loads(held)
                    raise NotifyError(
                        f"another `deprecator notify` is sending (pid {info.get('pid')} on {info.get('host')}, "
                        f"since {info.get('at', '?')[:19]} UTC)",
                        hint="wait for it to finish; a run that died leaves a lock the next run takes over")
                took = conn.execute(sa.update(meta_table).where(meta_table.c.key == LOCK_KEY)
                                    .where(meta_table.c.value == held).values(value=mine)).rowcount
                if took == 1:
                    return mine
        raise NotifyError("could not take the notify lock (another run keeps taking it)")

    def release(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(meta_table).where(meta_table.c.key == LOCK_KEY).where(meta_table.c.value == token))


def _stale(held: str) -> bool:
    import os
    import socket

    try:
        info = json.loads(held)
        at = _dt.datetime.fromisoformat(info["at"])
    except (ValueError, KeyError, TypeError):
        return True
    if info.get("host") == socket.gethostname():
        try:
            os.kill(int(info["pid"]), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError):
            return False
        return False
    return (_now() - at).total_seconds() > LOCK_STALE_S
