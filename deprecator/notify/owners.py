"""Who owns a finding: history users -> people or teams through `owners:`, views -> their catalog owner.

Precedence for a history user (first that applies):

1. ``owners.ignore`` (globs): the tool's own service users, never notified;
2. ``owners.users`` (exact name, then case-insensitively);
3. ``owners.patterns``: the first glob that matches;
4. a user name that is an email address;
5. ``owners.email_domain``: ``{user}@{domain}``;
6. otherwise unmapped: listed in every report, never dropped.

A query carrying dbt's query comment (``/* {"app": "dbt", ...} */``) is dbt
itself running a model: a consumer that cannot act on a notice, kept apart.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Literal

from deprecator.config import OwnersConfig, OwnerTarget
from deprecator.sources.base import is_dbt_query

Status = Literal["owner", "ignored", "dbt", "unmapped"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Owner:
    """Someone (or a team) a notice goes to, and how to reach them."""

    key: str                          # stable identity: where the notice goes ("email:...", "channel:...", ...)
    name: str                         # shown in messages
    email: str | None = None
    slack_user: str | None = None
    slack_channel: str | None = None
    team: str | None = None
    how: str = ""                     # which rule mapped the user (owners.users.alice, owners.patterns[0], ...)

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "name": self.name, "email": self.email, "slack_user": self.slack_user,
                "slack_channel": self.slack_channel, "team": self.team, "how": self.how}


@dataclass(frozen=True)
class Resolution:
    status: Status
    owner: Owner | None = None
    reason: str = ""                  # for ignored / dbt / unmapped: why, in words


def owner_from_target(user: str, target: OwnerTarget, how: str, email_domain: str | None = None) -> Owner:
    name = target.name or target.team or user
    email = target.email
    if email is None and target.slack_channel is None and target.slack_user is None and target.team is None:
        email = _derived_email(user, email_domain)
    if target.slack_channel:
        key = f"channel:{target.slack_channel}"
    elif target.slack_user:
        key = f"slack:{target.slack_user}"
    elif email:
        key = f"email:{email.lower()}"
    else:
        key = f"team:{target.team}"
    return Owner(key, name, email, target.slack_user, target.slack_channel, target.team, how)


def _derived_email(user: str, domain: str | None) -> str | None:
    if _EMAIL.match(user):
        return user
    if domain and re.fullmatch(r"[A-Za-z0-9._%+\-]+", user):
        return f"{user}@{domain}"
    return None


class OwnerResolver:
    """Resolves history users (and view owner roles) with the `owners:` section; memoized per name."""

    def __init__(self, config: OwnersConfig) -> None:
        self.config = config
        self._lower = {k.lower(): k for k in config.users}
        self._memo: dict[str, Resolution] = {}

    def user(self, user: str | None, text: str | None = None) -> Resolution:
        if text is not None and is_dbt_query(text):
            return Resolution("dbt", reason="dbt's own query (query comment \"app\": \"dbt\"): the model's "
                                            "owner migrates it, not the user dbt runs as")
        if not user:
            return Resolution("unmapped", reason="the history has no user for this query")
        got = self._memo.get(user)
        if got is None:
            got = self._memo[user] = self._resolve(user)
        return got

    def _resolve(self, user: str) -> Resolution:
        cfg = self.config
        for g in cfg.ignore:
            if fnmatch.fnmatchcase(user.lower(), g.lower()):
                return Resolution("ignored", reason=f"listed in owners.ignore ({g!r})")
        key = user if user in cfg.users else self._lower.get(user.lower())
        if key is not None:
            return Resolution("owner", owner_from_target(user, cfg.users[key], f"owners.users.{key}",
                                                         cfg.email_domain))
        for i, p in enumerate(cfg.patterns):
            if fnmatch.fnmatchcase(user.lower(), p.match.lower()):
                return Resolution("owner", owner_from_target(user, p.target, f"owners.patterns[{i}] ({p.match})",
                                                             cfg.email_domain))
        email = _derived_email(user, cfg.email_domain)
        if email is not None:
            how = "the user name is an email" if email == user else f"owners.email_domain ({cfg.email_domain})"
            return Resolution("owner", Owner(f"email:{email.lower()}", user, email, how=how))
        if cfg.email_domain:
            return Resolution("unmapped", reason=f"no entry in owners.users or owners.patterns, and the name "
                                                 f"cannot make an address at {cfg.email_domain}")
        return Resolution("unmapped", reason="no entry in owners.users or owners.patterns, and no "
                                             "owners.email_domain to derive an address from")
