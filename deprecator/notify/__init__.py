"""Telling people: owners of findings, Slack notices (jinja2 Block Kit), the notice outbox.

No click here: the CLI (deprecator.cli.notify_cmds) parses options and prints.
"""

from __future__ import annotations

from deprecator.notify.notices import NotifyReport, build_notices, format_text, run_notify

__all__ = ["NotifyReport", "build_notices", "format_text", "run_notify"]
