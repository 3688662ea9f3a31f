"""`deprecator digest`: gather the weekly figures from the state store, render, send to Slack.

The digest reads what scans stored (run ``deprecator scan`` first, e.g. in the
same scheduled job): weekly uses per deprecation (``notify.weekly``), the users
of the last weeks mapped to owners (``owners:``), the views and files the latest
scan found, and the views the apply log shows rewritten. One Slack message per
ISO week goes to ``slack.digest_channel``; a re-run for a week already sent sends
nothing unless forced (the outbox remembers it).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deprecator.errors import ConfigError, DeprecatorError
from deprecator.notify.digest import Consumers, Digest, burndown_svg, build_digest
from deprecator.notify.render import Renderer
from deprecator.notify.weekly import weekly_figures
from deprecator.sources.base import DBT_RUN_PREFIX

if TYPE_CHECKING:
    from deprecator.registry import Registry

FORMATS = ("text", "json", "markdown", "html")
DIGEST_TEXT = "digest.txt.j2"
DIGEST_MARKDOWN = "digest.md.j2"
DIGEST_HTML = "digest.html.j2"
DIGEST_BLOCKS = "digest_slack.json.j2"
TOP_USERS = 10


@dataclass(frozen=True)
class DigestResult:
    digest: Digest
    channel: str | None = None        # where it went (or would go)
    ts: str | None = None             # Slack's timestamp of the sent message
    skipped: str | None = None        # why nothing was sent


def _rewritten_views(state: Any, registry: Registry, dialect: str, default_schema: tuple[str, ...],
                     default_catalog: str | None) -> dict[str, dict[str, _dt.datetime]]:
    """Per deprecation, the views an apply (not rolled back) rewrote off it, with when, read from the journal."""
    from deprecator.sql import find_references

    out: dict[str, dict[str, _dt.datetime]] = {}
    for rec in state.list_applies():
        if rec.kind != "apply" or rec.status != "applied" or rec.rolled_back_by:
            continue
        for name, before in rec.before.items():
            definition = before.get("definition") if isinstance(before, dict) else None
            if not definition:
                continue
            refs = find_references(definition, dialect, default_schema, default_catalog).references
            for ref in refs:
                dep = registry.by_relation(ref.relation)
                if dep is not None:
                    out.setdefault(dep.model, {})[name] = rec.created_at
    return out


def gather_digest(config: Any, registry: Registry, state: Any, today: _dt.date, *, done_weeks: int = 4,
                  trend_weeks: int = 6, only: str | None = None) -> Digest:
    """The digest of every deprecation (or ``only`` one) from what the state store holds."""
    from deprecator.notify.owners import OwnerResolver

    resolver = OwnerResolver(config.owners)
    deps = list(registry)
    if only is not None:
        dep = registry.by_model(only)
        if dep is None:
            raise DeprecatorError(f"{only} is not a registered deprecation",
                                  hint="`deprecator list` shows the registered models")
        deps = [dep]
    rewritten = _rewritten_views(state, registry, config.dialect, tuple(config.warehouse.default_schema or ()),
                                 config.warehouse.default_catalog)
    since = today - _dt.timedelta(days=7 * done_weeks)
    items = []
    for dep in deps:
        weeks, note = weekly_figures(state, dep.model)
        per_owner: dict[str, int] = {}
        unmapped: list[str] = []
        cannot_act: dict[str, int] = {}
        for user, uses in state.weekly_users(dep.model, since):
            if user.startswith(DBT_RUN_PREFIX):   # dbt running a model: its owner migrates it, not the user
                name = f"dbt runs as {user[len(DBT_RUN_PREFIX):] or '(no user)'}"
                cannot_act[name] = cannot_act.get(name, 0) + uses
                continue
            res = resolver.user(user or None)
            if res.status == "owner" and res.owner is not None:
                per_owner[res.owner.name] = per_owner.get(res.owner.name, 0) + uses
            elif res.status in ("ignored", "dbt"):
                cannot_act[user] = cannot_act.get(user, 0) + uses
            else:
                unmapped.append(user or "(no user)")
        objects = state.latest_objects(dep.model)
        done = rewritten.get(dep.model, {})
        scanned_at = state.latest_scan_at()
        # a view the latest scan saw reading the model but an apply rewrote since is not left
        still = [v for v in objects.get("view", ())
                 if not (v in done and (scanned_at is None or done[v] >= scanned_at))]
        consumers = Consumers(
            users=tuple(sorted(per_owner.items(), key=lambda kv: (-kv[1], kv[0])))[:TOP_USERS],
            unmapped_users=tuple(unmapped),
            views=tuple(still),
            dbt_models=tuple(objects.get("file", ())),
            cannot_act=tuple(sorted(cannot_act.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
        items.append((dep, weeks, consumers, sorted(done), note))
    return build_digest(items, today, done_weeks=done_weeks, trend_weeks=trend_weeks)


def render_digest(digest: Digest, fmt: str, template_dir: Path | None = None) -> str:
    """The digest as ``text``, ``json``, ``markdown`` or a self-contained ``html`` page."""
    if fmt == "json":
        return json.dumps(digest.to_dict(), indent=2, sort_keys=False) + "\n"
    name = {"text": DIGEST_TEXT, "markdown": DIGEST_MARKDOWN, "html": DIGEST_HTML}.get(fmt)
    if name is None:
        raise ConfigError(f"unknown digest format {fmt!r}", hint=f"one of {', '.join(FORMATS)}")
    renderer = _renderer(template_dir)
    # every value put into the page shows a control character from the data (a user name) escaped
    renderer.env.finalize = _visible_value
    if fmt == "html":
        from markupsafe import Markup

        renderer.env.autoescape = True
        renderer.env.globals["svg"] = lambda d: Markup(burndown_svg(d))   # built with escape() throughout
    return renderer.page(name, {"digest": digest}).rstrip("\n") + "\n"


def _visible_value(value: Any) -> Any:
    """A template value as the page shows it: text with its control characters escaped (``visible``);
    markup already built (the HTML page's charts) and other values as they are."""
    from deprecator.text import visible

    return visible(value) if isinstance(value, str) and not hasattr(value, "__html__") else value


def _renderer(template_dir: Path | None) -> Renderer:
    r = Renderer(template_dir)
    from deprecator.text import plural

    r.env.trim_blocks = True        # the digest's text templates are laid out line by line
    r.env.lstrip_blocks = True
    r.env.globals["plural"] = plural
    r.env.filters["capitalize_first"] = lambda t: t[:1].upper() + t[1:]
    return r


def slack_message(digest: Digest, template_dir: Path | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) of the digest message, within Slack's limits."""
    renderer = _renderer(template_dir)
    return renderer.text(DIGEST_TEXT, {"digest": digest}), renderer.blocks(DIGEST_BLOCKS, {"digest": digest})


def send_digest(config: Any, digest: Digest, state: Any, *, force: bool = False) -> DigestResult:
    """Post the digest to ``slack.digest_channel``, once per ISO week (``force`` sends it again).

    The outbox row is written before the post and settled after it; a run killed in
    between leaves it pending, and the next run looks for its marker in the
    channel's history before deciding whether to post again.
    """
    import hashlib

    from deprecator.notify.notices import EVENT_TYPE
    from deprecator.notify.outbox import Outbox
    from deprecator.notify.slack import Slack, SlackFailure

    slack_cfg = config.slack
    where = str(config.path) if config.path else None
    channel = slack_cfg.digest_channel or slack_cfg.fallback_channel
    if not channel:
        raise ConfigError("no Slack channel for the digest", field="slack.digest_channel", path=where,
                          hint="set slack.digest_channel in deprecator.yml, or use --dry-run / --out")
    if not slack_cfg.token:
        raise slack_cfg.token_problem or ConfigError("no Slack token", field="slack.token", path=where,
                                                     hint="set slack.token: ${SLACK_BOT_TOKEN}")
    week = digest.week.isoformat() if digest.week else digest.today.isoformat()
    key = f"digest:{week}"
    outbox = Outbox(state)
    client = Slack(slack_cfg.token, slack_cfg.base_url)
    try:
        for row in outbox.pending():
            if row.owner_key != key:
                continue
            cid = row.channel_id or client.channel_id(row.destination)
            oldest = row.created_at.replace(tzinfo=_dt.timezone.utc).timestamp() - 120
            ts = client.find_marked(cid, oldest, EVENT_TYPE, "outbox_id", row.id) if cid else None
            outbox.settle(row.id, "sent" if ts else "lost", ts=ts, channel_id=cid,
                          error=None if ts else "not in the channel's history")
        if not force and any(r.owner_key == key and r.status == "sent" for r in outbox.rows()):
            return DigestResult(digest, channel, None, f"the digest of the week of {week} was already sent "
                                                       "(--force sends it again)")
        text, blocks = slack_message(digest, slack_cfg.templates or config.templates_dir)
        sha = hashlib.sha256(json.dumps({"text": text, "blocks": blocks}, sort_keys=True).encode()).hexdigest()
        channel_id = client.channel_id(channel)
        if channel_id is None:
            raise SlackFailure("conversations.list", "channel_not_found", None, None)
        oid = outbox.intend(key, channel, channel_id, {d.model: d.status for d in digest.deprecations}, sha)
        try:
            _, ts = client.post(channel_id, text, blocks,
                                {"event_type": EVENT_TYPE, "event_payload": {"outbox_id": oid, "digest_week": week}})
        except SlackFailure as e:
            outbox.settle(oid, "failed", error=str(e))
            raise
    except SlackFailure as e:
        raise DeprecatorError(f"the digest was not sent to {channel}: {e}") from None
    outbox.settle(oid, "sent", ts=ts, channel_id=channel_id)
    return DigestResult(digest, channel, ts)
