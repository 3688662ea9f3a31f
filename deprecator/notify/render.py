"""Slack Block Kit messages from jinja2 templates, kept within Slack's limits.

Templates ship in the wheel (``deprecator.templates``); a folder named by
``slack.templates`` overrides any of them by file name. Whatever a template
produces, the result is cut to Slack's documented limits before it is sent:
at most 50 blocks (the last one says how many were left out), 3,000
characters per section text, 2,000 per field, 150 per header, 40,000 for the
message text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deprecator.errors import ConfigError

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_MESSAGE_TEXT = 40000
CODE_LIMIT = 2400          # characters of a query shown in a code block (the section's other text fits beside it)

NOTICE_BLOCKS = "slack_notice.json.j2"
NOTICE_TEXT = "slack_notice.txt.j2"


def mrkdwn(value: Any) -> str:
    """Escape text for Slack mrkdwn (``&``, ``<``, ``>`` are control characters there)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: Any, limit: int = CODE_LIMIT) -> str:
    """A code block of ``value``, cut to ``limit`` characters with a note saying how much was left out."""
    s = str(value).replace("```", "` ` `")
    if len(s) > limit:
        s = s[:limit].rstrip() + f"\n… ({len(s) - limit:,} more characters)"
    return "```\n" + mrkdwn(s) + "\n```"


def _shipped(name: str) -> str | None:
    from importlib.resources import files

    try:
        return files("deprecator.templates").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        p = Path(__file__).resolve().parent.parent.parent / "templates" / name
        return p.read_text(encoding="utf-8") if p.is_file() else None


class Renderer:
    def __init__(self, override_dir: Path | None = None) -> None:
        import jinja2

        loaders: list[Any] = []
        if override_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(override_dir)))
        loaders.append(jinja2.FunctionLoader(_shipped))
        self.env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=False,
                                      undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        self.env.filters["mrkdwn"] = mrkdwn
        self.env.filters["code"] = code
        self.override_dir = override_dir

    def _render(self, name: str, context: dict[str, Any]) -> str:
        import jinja2

        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateError as e:
            where = getattr(e, "filename", None) or name
            line = getattr(e, "lineno", None)
            raise ConfigError(f"template {where} failed: {e.__class__.__name__}: {e}",
                              path=str(where), line=line,
                              hint="fix the template in slack.templates, or remove it to use the shipped one"
                              ) from None

    def page(self, name: str, context: dict[str, Any]) -> str:
        """A whole document (Markdown, HTML): rendered as is, no message limits."""
        return self._render(name, context)

    def blocks(self, name: str, context: dict[str, Any]) -> list[dict[str, Any]]:
        raw = self._render(name, context)
        try:
            blocks = json.loads(raw)
        except ValueError as e:
            raise ConfigError(f"template {name} did not produce JSON: {e}",
                              hint="a block template renders a JSON list of Block Kit blocks") from None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
            raise ConfigError(f"template {name} must produce a JSON list of blocks, each with a `type`")
        return fit_blocks(blocks)

    def text(self, name: str, context: dict[str, Any]) -> str:
        s = self._render(name, context).strip()
        return s if len(s) <= MAX_MESSAGE_TEXT else s[: MAX_MESSAGE_TEXT - 40].rstrip() + " … (message cut)"


def _cut(s: str, limit: int) -> str:
    if len(s) <= limit:
        return s
    tail = f"\n… ({len(s) - limit:,} more characters)"
    body = s[: limit - len(tail) - 4]
    if body.count("```") % 2:     # close an open code block so the rest is not swallowed
        body += "\n```"
    return body + tail


def _fit_text(obj: Any, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj["text"] = _cut(obj["text"], limit) if obj["text"] else " "


def fit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` within Slack's limits: texts cut with a note, at most 50 blocks (the last says how many more)."""
    for b in blocks:
        kind = b.get("type")
        if kind == "section":
            _fit_text(b.get("text"), MAX_SECTION_TEXT)
            fields = b.get("fields")
            if isinstance(fields, list):
                if len(fields) > MAX_FIELDS:
                    del fields[MAX_FIELDS:]
                for f in fields:
                    _fit_text(f, MAX_FIELD_TEXT)
        elif kind == "header":
            t = b.get("text")
            if isinstance(t, dict) and isinstance(t.get("text"), str) and len(t["text"]) > MAX_HEADER_TEXT:
                t["text"] = t["text"][: MAX_HEADER_TEXT - 1] + "…"
        elif kind == "context":
            els = b.get("elements")
            if isinstance(els, list):
                del els[10:]
                for e in els:
                    _fit_text(e, MAX_SECTION_TEXT)
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        blocks = blocks[: MAX_BLOCKS - 1] + [{"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"…and {left_out} more block{'s' if left_out > 1 else ''} not shown "
                                       "(Slack shows at most 50)."}]}]
    return blocks


def blocks_as_text(blocks: list[dict[str, Any]]) -> str:
    """A readable rendering of Block Kit blocks for a terminal (dry runs)."""
    out: list[str] = []

    def unescape(s: str) -> str:
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    for b in blocks:
        kind = b.get("type")
        if kind == "header":
            t = unescape(b["text"]["text"])
            out += [t, "=" * min(len(t), 72)]
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "section":
            if "text" in b:
                out.append(unescape(b["text"]["text"]))
            for f in b.get("fields") or ():
                out.append("  " + unescape(f["text"]).replace("\n", ": ", 1))
        elif kind == "context":
            out.append(" · ".join(unescape(e.get("text", "")) for e in b.get("elements") or ()))
        else:
            out.append(f"[{kind} block]")
    return "\n".join(out)
