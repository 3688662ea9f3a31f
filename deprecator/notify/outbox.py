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

from deprecator.state import StateStore, notify_outbox


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
