"""Commands: scan_cmds (being built)."""

from __future__ import annotations

from deprecator.cli.base import main  # noqa: F401
