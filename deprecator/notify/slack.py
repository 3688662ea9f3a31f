"""The Slack Web API through slack_sdk's WebClient, with retries, and errors as data.

Rate limits (429 + Retry-After) are retried by slack_sdk's
``RateLimitErrorRetryHandler``, dropped connections by
``ConnectionErrorRetryHandler``. Server errors (5xx) are retried only for
reads (lookups, history): a ``chat.postMessage`` that got a 5xx may have been
posted, so it is left to the outbox's reconciliation instead of a blind retry.
The token is never part of a message, log line or error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

# Errors that no recipient can get past: stop the run.
FATAL_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                          "no_permission", "org_login_required", "ekm_access_denied", "team_access_not_granted"})

HINTS = {
    "users_not_found": "no Slack account has that email address",
    "channel_not_found": "the channel does not exist, or it is private and the app is not in it",
    "not_in_channel": "the app is not a member of the channel: /invite the app there",
    "invalid_auth": "Slack rejected the token: check SLACK_BOT_TOKEN (a bot token, xoxb-...)",
    "not_authed": "no token was sent: set slack.token: ${SLACK_BOT_TOKEN} and export it",
    "missing_scope": "the app lacks a scope (chat:write, users:read.email, im:write, "
                     "channels:history/im:history for reconciliation): add it and reinstall the app",
    "ratelimited": "Slack kept rate-limiting after the retries; run again later",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message is longer than Slack accepts",
    "invalid_blocks": "Slack rejected the message's blocks (check an overridden template)",
    "unreachable": "could not connect to slack.base_url; nothing was sent",
}


@dataclass(frozen=True)
class SlackFailure(Exception):
    """A Slack call that did not succeed: ``code`` is Slack's error (or ``http_500``, ``connection``)."""

    method: str
    code: str
    status: int | None = None
    detail: str | None = None

    @property
    def fatal(self) -> bool:
        return self.code in FATAL_ERRORS

    @property
    def maybe_delivered(self) -> bool:
        """A post that failed this way may still have been posted (no answer, or a server error)."""
        return self.code == "connection" or (self.status is not None and self.status >= 500)

    def __str__(self) -> str:
        hint = HINTS.get(self.code)
        what = self.code if self.status in (None, 200) else f"{self.code} (HTTP {self.status})"
        return f"{self.method}: {what}" + (f": {hint}" if hint else "") + (f" ({self.detail})" if self.detail else "")


class Slack:
    """The few Web API methods notices need."""

    def __init__(self, token: str, base_url: str, *, timeout: int = 15, rate_limit_retries: int = 5) -> None:
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler,
                                                           RateLimitErrorRetryHandler, ServerErrorRetryHandler)

        # slack_sdk logs request details at DEBUG and each failed try at ERROR; failures reach
        # people through SlackFailure (scrubbed), so its log stays quiet and never propagates.
        logger = logging.getLogger("deprecator.slack")
        logger.setLevel(logging.CRITICAL)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        self._token = token
        self._down: SlackFailure | None = None
        post_handlers = [RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
                         ConnectionErrorRetryHandler(max_retry_count=2)]
        read_handlers = post_handlers + [ServerErrorRetryHandler(max_retry_count=2)]
        self.poster = WebClient(token=token, base_url=base_url, timeout=timeout, logger=logger,
                                retry_handlers=post_handlers)
        self.reader = WebClient(token=token, base_url=base_url, timeout=timeout, logger=logger,
                                retry_handlers=read_handlers)

    def _call(self, client: Any, method: str, **kwargs: Any) -> dict[str, Any]:
        """``client.<method as the SDK names it>(**kwargs)`` (e.g. ``chat_postMessage``), errors as SlackFailure."""
        from slack_sdk.errors import SlackApiError

        if self._down is not None:   # Slack could not be reached: do not wait on it for every owner
            raise SlackFailure(method, self._down.code, None, self._down.detail)
        try:
            resp = getattr(client, method.replace(".", "_"))(**kwargs)
            return dict(resp.data) if isinstance(resp.data, dict) else {}
        except SlackApiError as e:
            r = e.response
            data = r.data if isinstance(getattr(r, "data", None), dict) else {}
            code = str(data.get("error") or f"http_{getattr(r, 'status_code', '?')}")
            status = getattr(r, "status_code", None)
            raise SlackFailure(method, code, status, self._scrub(", ".join(map(str, data.get("errors") or []))
                                                                 or None)) from None
        except Exception as e:  # URLError, timeouts, a non-JSON body: the answer is unknown
            import socket
            from urllib.error import URLError

            reason = e.reason if isinstance(e, URLError) else e
            if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
                # nothing was sent: the connection was never made
                self._down = SlackFailure(method, "unreachable", None, self._scrub(str(reason)))
                raise self._down from None
            raise SlackFailure(method, "connection", None, self._scrub(f"{e.__class__.__name__}: {e}")) from None

    def _scrub(self, text: str | None) -> str | None:
        if text is None:
            return None
        return text.replace(self._token, "***") if self._token else text

    def user_id_by_email(self, email: str) -> str:
        data = self._call(self.reader, "users.lookupByEmail", email=email)
        return str(data["user"]["id"])

    def open_dm(self, user_id: str) -> str:
        data = self._call(self.reader, "conversations.open", users=user_id)
        return str(data["channel"]["id"])

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]], metadata: dict[str, Any]) -> tuple[str, str]:
        """(channel id, ts) of the posted message."""
        data = self._call(self.poster, "chat.postMessage", channel=channel, text=text, blocks=blocks,
                          metadata=metadata, unfurl_links=False, unfurl_media=False)
        return str(data.get("channel") or channel), str(data["ts"])

    def channel_id(self, name: str) -> str | None:
        """The id of a channel given as ``#name`` (or already an id)."""
        if not name.startswith("#"):
            return name
        cursor = None
        while True:
            params: dict[str, Any] = {"types": "public_channel,private_channel", "limit": 1000,
                                      "exclude_archived": True}
            if cursor:
                params["cursor"] = cursor
            data = self._call(self.reader, "conversations.list", **params)
            for c in data.get("channels") or ():
                if c.get("name") == name[1:]:
                    return str(c["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def find_marked(self, channel_id: str, oldest: float, event_type: str, key: str, value: str) -> str | None:
        """The ts of a message in ``channel_id`` since ``oldest`` whose metadata has ``key == value``."""
        cursor = None
        while True:
            params: dict[str, Any] = {"channel": channel_id, "oldest": f"{oldest:.6f}", "limit": 200,
                                      "include_all_metadata": True}
            if cursor:
                params["cursor"] = cursor
            data = self._call(self.reader, "conversations.history", **params)
            for m in data.get("messages") or ():
                md = m.get("metadata") or {}
                if md.get("event_type") == event_type and (md.get("event_payload") or {}).get(key) == value:
                    return str(m["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
