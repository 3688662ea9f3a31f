"""A fake Slack Web API server for tests: a real HTTP server on 127.0.0.1.

The real ``slack_sdk.WebClient`` talks to it through ``base_url``. It records
every request, validates message payloads against Slack's documented limits and
Block Kit structure, and answers the methods deprecator uses:
``users.lookupByEmail``, ``conversations.open``, ``chat.postMessage``,
``conversations.history`` and ``conversations.list``. Faults are scripted per
method (an error code, an HTTP status such as 500, or 429 with Retry-After), and
a hook can run when a message is posted (the crash tests SIGKILL the client
there, before or after the answer leaves).

Limits checked (https://api.slack.com/reference/block-kit/blocks,
https://api.slack.com/methods/chat.postMessage):
at most 50 blocks per message; section text 1..3,000 characters; at most 10
section fields of at most 2,000 characters; header text plain_text up to 150;
context 1..10 elements; block_id up to 255; message ``text`` up to 40,000
characters; every block has a known ``type`` and its required fields;
``metadata`` has ``event_type`` and ``event_payload``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_MESSAGE_TEXT = 40000
MAX_BLOCK_ID = 255
MAX_CONTEXT_ELEMENTS = 10
BLOCK_TYPES = ("section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file", "video")
TEXT_TYPES = ("plain_text", "mrkdwn")


def validate_message(body: dict[str, Any]) -> list[str]:
    """Every way ``body`` (a chat.postMessage payload) breaks Slack's documented limits."""
    errors: list[str] = []
    text = body.get("text")
    blocks = body.get("blocks")
    if isinstance(blocks, str):   # form-encoded clients send blocks as JSON text
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks: not JSON"]
    if not text and not blocks:
        errors.append("no_text: text or blocks is required")
    if text is not None and not isinstance(text, str):
        errors.append("text: must be a string")
    elif text and len(text) > MAX_MESSAGE_TEXT:
        errors.append(f"msg_too_long: text has {len(text)} characters (max {MAX_MESSAGE_TEXT})")
    if blocks is not None:
        if not isinstance(blocks, list):
            errors.append("invalid_blocks: blocks must be an array")
            blocks = []
        if len(blocks) > MAX_BLOCKS:
            errors.append(f"invalid_blocks: {len(blocks)} blocks (max {MAX_BLOCKS})")
        for i, b in enumerate(blocks):
            errors += [f"blocks[{i}]: {e}" for e in _validate_block(b)]
    md = body.get("metadata")
    if md is not None:
        if isinstance(md, str):
            md = json.loads(md)
        if not isinstance(md, dict) or not isinstance(md.get("event_type"), str) \
                or not isinstance(md.get("event_payload"), dict):
            errors.append("invalid_metadata_format: needs event_type (string) and event_payload (object)")
    return errors


def _text_obj(t: Any, where: str, limit: int, types: tuple[str, ...] = TEXT_TYPES) -> list[str]:
    if not isinstance(t, dict):
        return [f"{where}: must be a text object"]
    errs = []
    if t.get("type") not in types:
        errs.append(f"{where}.type: must be one of {', '.join(types)}")
    s = t.get("text")
    if not isinstance(s, str) or not s:
        errs.append(f"{where}.text: must be a non-empty string")
    elif len(s) > limit:
        errs.append(f"{where}.text: {len(s)} characters (max {limit})")
    return errs


def _validate_block(b: Any) -> list[str]:
    if not isinstance(b, dict):
        return ["must be an object"]
    kind = b.get("type")
    if kind not in BLOCK_TYPES:
        return [f"unknown block type {kind!r}"]
    errs: list[str] = []
    bid = b.get("block_id")
    if bid is not None and (not isinstance(bid, str) or len(bid) > MAX_BLOCK_ID):
        errs.append(f"block_id: at most {MAX_BLOCK_ID} characters")
    if kind == "section":
        if "text" not in b and "fields" not in b:
            errs.append("section: text or fields is required")
        if "text" in b:
            errs += _text_obj(b["text"], "text", MAX_SECTION_TEXT)
        if "fields" in b:
            fields = b["fields"]
            if not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS:
                errs.append(f"fields: 1 to {MAX_FIELDS} text objects")
            else:
                for j, f in enumerate(fields):
                    errs += _text_obj(f, f"fields[{j}]", MAX_FIELD_TEXT)
    elif kind == "header":
        errs += _text_obj(b.get("text"), "text", MAX_HEADER_TEXT, ("plain_text",))
    elif kind == "context":
        els = b.get("elements")
        if not isinstance(els, list) or not els or len(els) > MAX_CONTEXT_ELEMENTS:
            errs.append(f"elements: 1 to {MAX_CONTEXT_ELEMENTS} elements")
        else:
            for j, e in enumerate(els):
                if isinstance(e, dict) and e.get("type") == "image":
                    continue
                errs += _text_obj(e, f"elements[{j}]", MAX_SECTION_TEXT)
    elif kind == "divider":
        extra = set(b) - {"type", "block_id"}
        if extra:
            errs.append(f"divider: unexpected fields {sorted(extra)}")
    return errs


@dataclass
class Fault:
    method: str
    error: str | None = None          # a Slack error code (HTTP 200, ok: false)
    status: int | None = None         # an HTTP status (500, 503, 429)
    retry_after: int | None = None    # with status 429
    times: int = 1                    # how many calls it applies to (-1: every call)
    when: Callable[[dict[str, Any]], bool] | None = None
    process: bool = False             # handle the call anyway (e.g. post the message), then answer the fault


@dataclass
class Request:
    method: str
    params: dict[str, Any]
    auth: str | None
    at: float


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token-0123456789"
    users: dict[str, str] = field(default_factory=dict)           # email -> user id
    channels: dict[str, str] = field(default_factory=dict)        # channel id -> name (without #)
    not_member: set[str] = field(default_factory=set)             # channel ids the bot is not in
    requests: list[Request] = field(default_factory=list)
    violations: list[tuple[str, list[str]]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # every posted message (channel id, ts, ...)
    faults: list[Fault] = field(default_factory=list)
    # Called with (message, "before" | "after") around answering a chat.postMessage that was posted.
    on_post: Callable[[dict[str, Any], str], None] | None = None
    on_request: Callable[[str, dict[str, Any]], str | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0

    # -- scripting --------------------------------------------------------------
    def add_user(self, email: str, user_id: str) -> None:
        self.users[email] = user_id

    def add_channel(self, name: str, channel_id: str, *, member: bool = True) -> None:
        self.channels[channel_id] = name.lstrip("#")
        if not member:
            self.not_member.add(channel_id)

    def fail(self, method: str, **kw: Any) -> None:
        self.faults.append(Fault(method, **kw))

    def calls(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    def posted_to(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel_id]

    # -- the API ----------------------------------------------------------------
    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for f in self.faults:
            if f.method == method and f.times != 0 and (f.when is None or f.when(params)):
                if f.times > 0:
                    f.times -= 1
                return f
        return None

    def _channel_id(self, channel: str) -> str | None:
        if channel in self.channels or channel.startswith("D"):
            return channel
        name = channel.lstrip("#")
        for cid, n in self.channels.items():
            if n == name:
                return cid
        return None

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(HTTP status, JSON body, extra headers) for one call."""
        f = self._fault(method, params)
        if f is not None and f.process:
            self.handle_normally(method, params)
        if f is not None:
            if f.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(f.retry_after or 1)}
            if f.status is not None:
                return f.status, {"ok": False, "error": "internal_error"}, {}
            return 200, {"ok": False, "error": f.error}, {}
        return self.handle_normally(method, params)

    def handle_normally(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "users.lookupByEmail":
            uid = self.users.get(params.get("email", ""))
            if uid is None:
                return 200, {"ok": False, "error": "users_not_found"}, {}
            return 200, {"ok": True, "user": {"id": uid, "profile": {"email": params["email"]}}}, {}
        if method == "conversations.open":
            users = str(params.get("users", ""))
            if not users or "," in users or users not in self.users.values():
                return 200, {"ok": False, "error": "user_not_found"}, {}
            return 200, {"ok": True, "channel": {"id": "D" + users}}, {}
        if method == "conversations.list":
            chans = [{"id": cid, "name": n, "is_member": cid not in self.not_member}
                     for cid, n in sorted(self.channels.items())]
            return 200, {"ok": True, "channels": chans, "response_metadata": {"next_cursor": ""}}, {}
        if method == "conversations.history":
            cid = self._channel_id(str(params.get("channel", "")))
            if cid is None:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            oldest = float(params.get("oldest") or 0)
            with_md = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
            out = []
            for m in reversed(self.posted_to(cid)):
                if float(m["ts"]) < oldest:
                    continue
                item = {"type": "message", "ts": m["ts"], "text": m.get("text")}
                if with_md and m.get("metadata"):
                    item["metadata"] = m["metadata"]
                out.append(item)
            return 200, {"ok": True, "messages": out, "has_more": False}, {}
        if method == "chat.postMessage":
            problems = validate_message(params)
            if problems:
                self.violations.append((method, problems))
                return 200, {"ok": False, "error": problems[0].split(":", 1)[0], "errors": problems}, {}
            channel = str(params.get("channel", ""))
            cid = self._channel_id(channel)
            if cid is None or (cid.startswith("D") and cid[1:] not in self.users.values()):
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            if cid in self.not_member:
                return 200, {"ok": False, "error": "not_in_channel"}, {}
            self._seq += 1
            ts = f"{int(time.time())}.{self._seq:06d}"
            md = params.get("metadata")
            if isinstance(md, str):
                md = json.loads(md)
            blocks = params.get("blocks")
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            msg = {"channel": cid, "ts": ts, "text": params.get("text"), "blocks": blocks, "metadata": md}
            self.messages.append(msg)
            return 200, {"ok": True, "channel": cid, "ts": ts, "message": {"ts": ts, "text": msg["text"]}}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args: Any) -> None:   # keep test output clean
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        fake = self.server.fake
        path, _, query = self.path.partition("?")
        method = path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
        if raw:
            if "json" in ctype:
                params.update(json.loads(raw))
            else:
                params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        auth = self.headers.get("Authorization")
        with fake.lock:
            fake.requests.append(Request(method, params, auth, time.time()))
            # A hook may answer "drop": the request is lost on the way (Slack never processes it).
            if fake.on_request is not None and fake.on_request(method, params) == "drop":
                return
            if auth != f"Bearer {fake.token}":
                status, body, headers = 200, {"ok": False, "error": "invalid_auth"}, {}
            else:
                n_before = len(fake.messages)
                status, body, headers = fake.handle(method, params)
                posted = fake.messages[-1] if len(fake.messages) > n_before else None
            if auth == f"Bearer {fake.token}" and posted is not None and fake.on_post is not None:
                fake.on_post(posted, "before")
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if auth == f"Bearer {fake.token}" and posted is not None and fake.on_post is not None:
            with fake.lock:
                fake.on_post(posted, "after")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return   # the client was killed mid-answer (the crash tests do it on purpose)
        super().handle_error(request, client_address)


class FakeSlackServer:
    """Runs a FakeSlack on 127.0.0.1 on a free port; ``base_url`` is what ``slack.base_url`` takes."""

    def __init__(self, fake: FakeSlack | None = None) -> None:
        self.fake = fake or FakeSlack()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def start(self) -> "FakeSlackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
