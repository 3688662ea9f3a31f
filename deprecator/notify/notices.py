"""Owner notices: group a scan's findings per owner, render one Slack message each, send it once.

``build_notices`` is pure over a scan report (plus the owners config and the
view owners); ``run_notify`` adds the state store (cool-down, outbox) and Slack.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Sequence

from deprecator.config import Config
from deprecator.errors import ConfigError, NotifyError
from deprecator.sql.literals import redact_literals
from deprecator.notify.owners import Owner, OwnerResolver
from deprecator.text import visible, visible_block
from deprecator.notify.render import NOTICE_BLOCKS, NOTICE_TEXT, Renderer, blocks_as_text, mrkdwn

if TYPE_CHECKING:
    from deprecator.registry import Registry

EVENT_TYPE = "deprecator_notice"
QUERY_SOURCES = frozenset({"history", "pg_stat_statements", "sql"})
VIEW_SOURCES = frozenset({"view"})
BLOCKS_PER_ITEM = 5       # divider, summary, query, dbt models, views (at most)
FIXED_BLOCKS = 4          # header, intro, "and N more", context


@dataclass(frozen=True)
class QueryShown:
    kind: Literal["rewrite", "blocked"]
    text: str                   # redacted unless --no-redact
    runs: int
    why: str | None = None      # for "blocked": what prevents the rewrite, in words

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "runs": self.runs, "why": self.why}


@dataclass
class NoticeItem:
    """One deprecated model in one owner's notice."""

    deprecation: Any                           # deprecator.registry.Deprecation
    uses: int = 0
    last_seen: _dt.datetime | None = None
    users: set[str] = field(default_factory=set)
    views: set[str] = field(default_factory=set)
    dbt_models: set[str] = field(default_factory=set)
    writes: int = 0                                       # runs of texts that write to / alter it
    write_texts: set[str] = field(default_factory=set)
    texts: dict[str, int] = field(default_factory=dict)   # query text -> runs
    query: QueryShown | None = None
    guide: str | None = None                    # the registry's guide, else the generated one (when written)

    def fingerprint(self, today: _dt.date) -> str:
        """Changes when what the owner uses changes: a new query, a new view, the stage (not counts)."""
        content = {
            "stage": self.deprecation.stage(today),
            "queries": sorted(hashlib.sha256(t.encode()).hexdigest() for t in self.texts),
            "writes": sorted(hashlib.sha256(t.encode()).hexdigest() for t in self.write_texts),
            "views": sorted(self.views),
            "dbt_models": sorted(self.dbt_models),
            "target": self.deprecation.target,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class Notice:
    owner: Owner
    items: list[NoticeItem]

    @property
    def models(self) -> list[str]:
        return [i.deprecation.model for i in self.items]


@dataclass(frozen=True)
class Consumer:
    """A user whose use is not in any notice: unmapped, ignored, or dbt itself."""

    user: str | None
    deprecation: str
    uses: int
    status: str                 # unmapped | ignored | dbt
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "deprecation": self.deprecation, "uses": self.uses, "status": self.status,
                "reason": self.reason}


@dataclass
class Notices:
    notices: list[Notice]
    left_out: list[Consumer]    # unmapped (listed, never dropped), ignored, dbt


# -- grouping -------------------------------------------------------------------
def build_notices(findings: Iterable[Any], registry: Registry, config: Config, today: _dt.date, *,
                  only: str | None = None, redact: bool = True,
                  view_owners: Mapping[str, str | None] | None = None,
                  dbt_consumers: Iterable[Any] = ()) -> Notices:
    """Group findings per owner and deprecation; pick and rewrite each owner's most frequent query."""
    resolver = OwnerResolver(config.owners)
    only_dep = None
    if only is not None:
        only_dep = registry.by_model(only)
        if only_dep is None:
            raise ConfigError(f"{only!r} is not a registered deprecation", field="--only",
                              hint="`deprecator list` shows the registered models")
    owners: dict[str, Owner] = {}
    items: dict[tuple[str, str], NoticeItem] = {}
    left: dict[tuple[str | None, str, str], list[Any]] = {}
    for f in findings:
        dep = registry.by_model(f.deprecation)
        if dep is None or (only_dep is not None and dep.model != only_dep.model):
            continue
        if f.source in QUERY_SOURCES:
            res = resolver.user(f.user, getattr(f, "text", None))
        elif f.source in VIEW_SOURCES:
            role = (view_owners or {}).get(f.object)
            if role is None:
                _left(left, f"view {f.object}", dep.model, f.count, "unmapped",
                      "the warehouse catalog names no owner for it")
                continue
            res = resolver.user(role)
            if res.owner is None:
                _left(left, f"{role} (owner of view {f.object})", dep.model, f.count, res.status, res.reason)
                continue
        else:
            continue    # files are the CI check's business, not a person's inbox
        if res.owner is None:
            _left(left, f.user, dep.model, f.count, res.status, res.reason)
            continue
        owner = owners.setdefault(res.owner.key, res.owner)
        item = items.get((owner.key, dep.model))
        if item is None:
            item = items[(owner.key, dep.model)] = NoticeItem(dep)
        if f.source in VIEW_SOURCES:
            item.views.add(f.object)
            continue
        if f.last_seen is not None and (item.last_seen is None or f.last_seen > item.last_seen):
            item.last_seen = f.last_seen
        if f.user:
            item.users.add(f.user)
        text = getattr(f, "text", None)
        if getattr(f, "role", "read") != "read":
            # A job that writes (or alters) the deprecated model is a producer to switch off:
            # rewriting its target to the replacement would be wrong advice.
            item.writes += f.count
            if text:
                item.write_texts.add(text)
            continue
        item.uses += f.count
        if text:
            item.texts[text] = item.texts.get(text, 0) + f.count
    for c in dbt_consumers:     # deprecator.notify.dbt_owners.DbtConsumer
        dep = registry.by_model(c.deprecation)
        if dep is None or (only_dep is not None and dep.model != only_dep.model):
            continue
        if c.owner is None:
            _left(left, f"dbt model {c.model}", dep.model, 0, "unmapped",
                  "no meta.owner, group owner or exposure owner in the dbt manifest")
            continue
        res = resolver.user(c.owner)
        if res.owner is None:
            _left(left, f"{c.owner} (owner of dbt model {c.model}, from {c.how})", dep.model, 0, res.status,
                  res.reason)
            continue
        owner = owners.setdefault(res.owner.key, res.owner)
        item = items.get((owner.key, dep.model))
        if item is None:
            item = items[(owner.key, dep.model)] = NoticeItem(dep)
        item.dbt_models.add(c.model)
    from deprecator.guide import guide_link

    for item in items.values():     # no guide in the registry: the generated one, once written
        item.guide = guide_link(item.deprecation.model, item.deprecation.migration_guide, config.root)
    rules = registry.rewrite_rules(config.dialect, config.warehouse.default_schema, config.warehouse.default_catalog)
    shown = _QueryShower(config, rules, redact)
    by_owner: dict[str, list[NoticeItem]] = {}
    for (okey, _model), item in items.items():
        if item.texts:
            text, runs = min(item.texts.items(), key=lambda kv: (-kv[1], kv[0]))
            item.query = shown(text, runs, item.deprecation)
        by_owner.setdefault(okey, []).append(item)
    order = {d.model: i for i, d in enumerate(registry)}
    notices = [Notice(owners[k], sorted(v, key=lambda i: order.get(i.deprecation.model, 0)))
               for k, v in sorted(by_owner.items())]
    left_out = [Consumer(u, d, sum(v[0]), s, v[1]) for (u, d, s), v in left.items()]
    left_out.sort(key=lambda c: (c.status, c.deprecation, -c.uses, c.user or ""))
    return Notices(notices, left_out)


def _left(left: dict[tuple[str | None, str, str], list[Any]], user: str | None, model: str, count: int,
          status: str, reason: str) -> None:
    entry = left.setdefault((user, model, status), [[], reason])
    entry[0].append(count)


class _QueryShower:
    """Rewrites (then redacts) a query for its replacement; memoized, since many users run the same texts."""

    def __init__(self, config: Config, rules: Sequence[Any], redact: bool) -> None:
        self.dialect = config.dialect
        self.schema = config.warehouse.default_schema
        self.catalog = config.warehouse.default_catalog
        self.rules = list(rules)
        self.redact = redact
        self.memo: dict[str, tuple[str, str, str | None]] = {}

    def __call__(self, text: str, runs: int, dep: Any) -> QueryShown:
        # Texts that differ only in their literal values (most ad-hoc queries) look the same once
        # redacted: redact from the tokens first and rewrite each distinct result once. The tree
        # pass in _clean then runs on what is shown.
        key = redact_literals(text, self.dialect, tokens_only=True).text if self.redact else text
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = self._show(key, dep)
        kind, shown, why = got
        return QueryShown(kind, shown, runs, why)  # type: ignore[arg-type]

    def _clean(self, text: str) -> str:
        return redact_literals(text, self.dialect).text if self.redact else text

    def _show(self, text: str, dep: Any) -> tuple[str, str, str | None]:
        from deprecator.sql import rewrite

        try:
            res = rewrite(text, self.dialect, self.rules, self.schema, self.catalog)
        except Exception as e:  # the engine must not stop the notices; say it could not rewrite
            return "blocked", self._clean(text), f"the rewrite failed ({e.__class__.__name__}); migrate it by hand"
        if res.changed:
            return "rewrite", self._clean(res.text), None
        if res.blockers:
            reasons = []
            for b in res.blockers[:3]:
                where = f"line {b.line}: " if b.line else ""
                reasons.append(where + b.reason)
            why = "; ".join(reasons) + (f" (and {len(res.blockers) - 3} more)" if len(res.blockers) > 3 else "")
        elif res.status != "parsed":
            why = f"it could not be parsed ({res.error or res.status}); replace {dep.model} with {dep.target} by hand"
        else:
            why = f"no reference to rewrite was found; replace {dep.model} with {dep.target} by hand"
        return "blocked", self._clean(text), why


# -- rendering ------------------------------------------------------------------
def _when(v: _dt.datetime | None) -> str | None:
    return v.strftime("%Y-%m-%d %H:%M UTC") if v is not None else None


def _guide_link(guide: str | None) -> str | None:
    if not guide:
        return None
    if guide.startswith(("http://", "https://")):
        return f"<{guide}|{mrkdwn(guide.rsplit('/', 1)[-1] or guide)}>"
    return "`" + mrkdwn(guide) + "`"


def notice_context(notice: Notice, today: _dt.date, *, meant_for: str | None, redacted: bool) -> dict[str, Any]:
    max_items = (50 - FIXED_BLOCKS) // BLOCKS_PER_ITEM
    items = notice.items[:max_items]
    rest = notice.items[max_items:]
    ctx_items = []
    for it in items:
        d = it.deprecation
        uses = (f"{it.uses:,} quer{'y' if it.uses == 1 else 'ies'}" if it.uses
                else "no reads (it writes to it)" if it.writes else "none in the query history")
        others = sorted(it.users)
        if len(others) > 1 or (others and others[0] != notice.owner.name):
            shown = ", ".join(others[:10]) + (f" and {len(others) - 10} more" if len(others) > 10 else "")
            uses += f" by {mrkdwn(shown)}"
        ctx_items.append({
            "model": d.model, "replacement": d.target, "sunset": d.sunset.isoformat(),
            "days_left": d.days_to_sunset(today), "stage": d.stage(today), "reason": d.reason,
            "guide": it.guide or d.migration_guide, "guide_link": _guide_link(it.guide or d.migration_guide),
            "contact": d.contact or d.owner, "uses": it.uses, "uses_text": uses,
            "last_seen": _when(it.last_seen), "users": others, "views": sorted(it.views),
            "dbt_models": sorted(it.dbt_models), "writes": it.writes,
            "query": it.query.to_dict() if it.query else None,
        })
    return {"owner": notice.owner, "meant_for": meant_for, "items": ctx_items, "more": len(rest),
            "more_models": [i.deprecation.model for i in rest], "today": today.isoformat(), "redacted": redacted}


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def sha(self) -> str:
        return hashlib.sha256(json.dumps([self.text, self.blocks], sort_keys=True).encode()).hexdigest()


def render_notice(renderer: Renderer, notice: Notice, today: _dt.date, *, meant_for: str | None,
                  redacted: bool) -> Message:
    ctx = notice_context(notice, today, meant_for=meant_for, redacted=redacted)
    return Message(renderer.text(NOTICE_TEXT, ctx), renderer.blocks(NOTICE_BLOCKS, ctx))


# -- delivery -------------------------------------------------------------------
@dataclass
class Delivery:
    owner: Owner
    models: list[str]
    status: str                          # sent | would send | skipped | not reached | unverified
    destination: str | None = None       # "#channel", "DM alice@corp.example", ...
    meant_for: str | None = None         # set when it went to the fallback channel
    reason: str | None = None            # why skipped / not reached / sent to the fallback
    ts: str | None = None
    message: Message | None = None

    def to_dict(self, *, payload: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"owner": self.owner.to_dict(), "models": self.models, "status": self.status,
                             "destination": self.destination, "meant_for": self.meant_for, "reason": self.reason,
                             "ts": self.ts}
        if payload and self.message is not None:
            d["payload"] = {"text": self.message.text, "blocks": self.message.blocks}
        return d


@dataclass
class NotifyReport:
    deliveries: list[Delivery]
    left_out: list[Consumer]
    dry_run: bool
    reconciled: list[str] = field(default_factory=list)   # what the outbox check settled, in words

    @property
    def not_reached(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status in ("not reached", "unverified")]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "notices": [d.to_dict() for d in self.deliveries],
                "not_reached": [{"owner": d.owner.name, "reason": d.reason} for d in self.not_reached],
                "unmapped": [c.to_dict() for c in self.left_out if c.status == "unmapped"],
                "not_notified": [c.to_dict() for c in self.left_out if c.status != "unmapped"],
                "reconciled": self.reconciled}


def _uses(n: int) -> str:
    return "its dbt models" if n == 0 else f"{n:,} use" + ("" if n == 1 else "s")


def format_text(report: NotifyReport) -> str:
    out: list[str] = []
    blocks: set[int] = set()   # entries that are a message on several lines (its query as a code block)
    for d in report.deliveries:
        head = f"== {d.status}: {d.owner.name}"
        if d.destination:
            head += f" -> {d.destination}"
        out.append(head)
        if d.status != "would send":
            out.append(f"   about {', '.join(d.models)}" + (f" (Slack ts {d.ts})" if d.ts else ""))
        if d.meant_for:
            out.append(f"   (meant for {d.meant_for})")
        if d.reason:
            out.append(f"   {d.reason}")
        if d.message is not None and d.status in ("would send",):
            blocks.add(len(out))
            out.append(blocks_as_text(d.message.blocks))
        out.append("")
    if report.reconciled:
        out.append("Outbox reconciled:")
        out += [f"  {r}" for r in report.reconciled]
        out.append("")
    unmapped = [c for c in report.left_out if c.status == "unmapped"]
    if unmapped:
        out.append(f"Unmapped users ({len(unmapped)}; add them to owners: in deprecator.yml):")
        out += [f"  {c.user or '(no user)'}: {c.deprecation}, {_uses(c.uses)} ({c.reason})" for c in unmapped]
        out.append("")
    other = [c for c in report.left_out if c.status != "unmapped"]
    if other:
        out.append("Not notified (cannot act on a notice):")
        out += [f"  {c.user or '(no user)'}: {c.deprecation}, {_uses(c.uses)} ({c.reason})" for c in other]
        out.append("")
    counts: dict[str, int] = {}
    for d in report.deliveries:
        counts[d.status] = counts.get(d.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no owner uses a deprecated model"
    out.append(("Dry run: " if report.dry_run else "") + summary + ".")
    if report.not_reached:
        out.append("Not reached:")
        out += [f"  {d.owner.name}: {d.reason}" for d in report.not_reached]
    # a control character from the data (a user, a query) is shown escaped; a message keeps its lines
    return "\n".join(visible_block(t) if i in blocks else visible(t) for i, t in enumerate(out))


def _due(notice: Notice, last: Mapping[tuple[str, str], tuple[_dt.datetime, str]], now: _dt.datetime,
         cooldown_s: float, today: _dt.date) -> tuple[bool, str | None]:
    """Whether a notice is due, and if not, why (the cool-down and nothing changed)."""
    latest = None
    for it in notice.items:
        got = last.get((notice.owner.key, it.deprecation.model))
        if got is None or got[1] != it.fingerprint(today) or (now - got[0]).total_seconds() >= cooldown_s:
            return True, None
        latest = got[0] if latest is None or got[0] > latest else latest
    until = (latest + _dt.timedelta(seconds=cooldown_s)).strftime("%Y-%m-%d %H:%M UTC") if latest else "?"
    return False, (f"sent {latest:%Y-%m-%d %H:%M} UTC and nothing they use changed since; "
                   f"not re-sent before {until} (slack.cooldown)")


def run_notify(config: Config, registry: Registry, *, dry_run: bool = False, only: str | None = None,
               redact: bool = True, today: _dt.date | None = None, report: Any = None,
               view_owners: Mapping[str, str | None] | None = None,
               now: Callable[[], _dt.datetime] | None = None, resend_unverified: bool = False) -> NotifyReport:
    """Notify every owner who still uses a deprecated model (one Slack message each), or show what would be sent."""
    from deprecator.registry import today as _today
    from deprecator.state import StateStore

    day = today or _today()
    clock = now or (lambda: _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None))
    renderer = Renderer(config.slack.templates or getattr(config, "templates_dir", None))
    slack = None
    if not dry_run:
        token = config.slack.require_token()    # before the scan: fail fast without one
    if report is None:
        from deprecator.scan import run_scan

        report = run_scan(config, registry, record=False)
    if view_owners is None and any(f.source in VIEW_SOURCES for f in report.findings):
        view_owners = read_view_owners(config)
    dbt: list[Any] = []
    if config.dbt.manifest is not None:
        from deprecator.notify.dbt_owners import dbt_consumers

        dbt = dbt_consumers(config.dbt.manifest, registry, config.dialect)
    built = build_notices(report.findings, registry, config, day, only=only, redact=redact, view_owners=view_owners,
                          dbt_consumers=dbt)
    store = StateStore(config.state_url, config.root)
    try:
        from deprecator.notify.outbox import Outbox

        outbox = Outbox(store)
        result = NotifyReport([], built.left_out, dry_run)
        lock = None
        try:
            if not dry_run:
                from deprecator.notify.slack import Slack

                lock = outbox.acquire()     # one sending run at a time: two would both send
                slack = Slack(token, config.slack.base_url)
                _reconcile(outbox, slack, result, resend_unverified)
            unverified = {r.owner_key for r in outbox.pending()}
            last = outbox.last_sent()
            for notice in built.notices:
                result.deliveries.append(_deliver(notice, config, day, clock(), last, unverified, outbox, slack,
                                                  renderer, redact))
        finally:
            if lock is not None:
                outbox.release(lock)
        return result
    finally:
        store.close()


def read_view_owners(config: Config) -> dict[str, str | None]:
    """View name -> owner role, from the warehouse catalog (empty without a warehouse)."""
    if not config.warehouse.url:
        return {}
    from deprecator.warehouse import connect

    wh = connect(config)
    try:
        return {str(v.relation): v.owner for v in wh.list_views()}
    finally:
        wh.close()


RECONCILE_MARGIN_S = 3600    # look this far before the intent (clock skew between us and Slack)


def _reconcile(outbox: Any, slack: Any, result: NotifyReport, resend_unverified: bool = False) -> None:
    """Settle rows a crashed run left pending: the marker in the channel's history says whether it arrived.

    A row that cannot be checked stays pending (its owner is reported unverified and not re-sent)
    unless ``resend_unverified``: then it counts as lost and the notice is due again.
    """
    from deprecator.notify.slack import SlackFailure

    for row in outbox.pending():
        try:
            cid = row.channel_id or slack.channel_id(row.destination)
            if cid is None:
                raise SlackFailure("conversations.list", "channel_not_found", None,
                                   f"no channel {row.destination} visible to the app")
            oldest = row.created_at.replace(tzinfo=_dt.timezone.utc).timestamp() - RECONCILE_MARGIN_S
            ts = slack.find_marked(cid, oldest, EVENT_TYPE, "outbox_id", row.id)
        except SlackFailure as e:
            if e.fatal:
                raise NotifyError(f"Slack refused the token: {e}") from None
            if resend_unverified:
                outbox.settle(row.id, "lost", error=f"could not be checked ({e.code}); re-sent on request")
                result.reconciled.append(f"{row.destination}: could not check notice {row.id[:8]} ({e}); "
                                         "counted as lost (--resend-unverified)")
            else:
                result.reconciled.append(
                    f"{row.destination}: could not check whether notice {row.id[:8]} arrived ({e})")
            continue
        if ts is not None:
            outbox.settle(row.id, "sent", ts=ts, channel_id=cid)
            result.reconciled.append(f"{row.destination}: notice {row.id[:8]} had arrived (ts {ts}); recorded")
        else:
            outbox.settle(row.id, "lost", channel_id=cid, error="not in the channel's history")
            result.reconciled.append(f"{row.destination}: notice {row.id[:8]} never arrived; it is due again")


def _deliver(notice: Notice, config: Config, today: _dt.date, now: _dt.datetime,
             last: Mapping[tuple[str, str], tuple[_dt.datetime, str]], unverified: set[str], outbox: Any,
             slack: Any, renderer: Renderer, redact: bool) -> Delivery:
    from deprecator.notify.slack import SlackFailure

    owner = notice.owner
    models = notice.models
    if owner.key in unverified:
        return Delivery(owner, models, "unverified", reason=(
            "a previous notice to them may have been posted, and Slack's history could not confirm it; "
            "not re-sent to avoid a duplicate (grant channels:history/im:history and run again, or pass "
            "--resend-unverified to send it anyway)"))
    due, why = _due(notice, last, now, config.slack.cooldown_s, today)
    if not due:
        return Delivery(owner, models, "skipped", reason=why)
    fallback = config.slack.fallback_channel
    meant_for: str | None = None
    reason: str | None = None
    channel: str | None = None          # what chat.postMessage gets
    channel_id: str | None = None       # known id (for reconciliation)
    if owner.slack_channel:
        destination = channel = owner.slack_channel
        channel_id = None if channel.startswith("#") else channel
    elif owner.slack_user or owner.email:
        destination = f"DM {owner.slack_user or owner.email}"
        if slack is not None:
            try:
                uid = owner.slack_user or slack.user_id_by_email(owner.email)
                channel = channel_id = slack.open_dm(uid)
            except SlackFailure as e:
                if e.fatal:
                    raise NotifyError(f"Slack refused the token: {e}") from None
                if e.code not in ("users_not_found", "user_not_found") or not fallback:
                    return Delivery(owner, models, "not reached", destination,
                                    reason=str(e) + ("" if fallback else "; no slack.fallback_channel configured"))
                meant_for = f"{owner.name} ({owner.email or owner.slack_user})"
                reason = f"could not reach them directly: {e}"
                destination = channel = fallback
                channel_id = None if fallback.startswith("#") else fallback
    else:
        meant_for = f"team {owner.team}" if owner.team else owner.name
        reason = "no email, Slack user or channel configured for them"
        if not fallback:
            return Delivery(owner, models, "not reached", None, reason=reason + " and no slack.fallback_channel")
        destination = channel = fallback
        channel_id = None if fallback.startswith("#") else fallback
    message = render_notice(renderer, notice, today, meant_for=meant_for, redacted=redact)
    if slack is None:
        return Delivery(owner, models, "would send", destination, meant_for, reason, message=message)
    items = {it.deprecation.model: it.fingerprint(today) for it in notice.items}
    oid = outbox.intend(owner.key, destination, channel_id, items, message.sha())
    metadata = {"event_type": EVENT_TYPE, "event_payload": {"outbox_id": oid}}
    try:
        cid, ts = slack.post(channel, message.text, message.blocks, metadata)
    except SlackFailure as e:
        if e.maybe_delivered:
            # Posted or not: the row stays pending and the next run checks the channel's history.
            return Delivery(owner, models, "not reached", destination, meant_for, reason=(
                f"{e}; whether it was posted is unknown: the next run checks and sends it if it did not arrive"),
                message=message)
        outbox.settle(oid, "failed", error=e.code)
        if e.fatal:
            raise NotifyError(f"Slack refused the token: {e}") from None
        return Delivery(owner, models, "not reached", destination, meant_for, reason=str(e), message=message)
    outbox.settle(oid, "sent", ts=ts, channel_id=cid)
    return Delivery(owner, models, "sent", destination, meant_for, reason, ts, message)
