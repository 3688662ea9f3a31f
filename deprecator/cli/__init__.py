"""Command-line interface: thin click commands over the library.

Each command module registers its commands on ``main``.
"""

from __future__ import annotations

from deprecator.cli.base import main

# Importing registers the commands.
from deprecator.cli import registry_cmds as _registry_cmds  # noqa: E402,F401
from deprecator.cli import scan_cmds as _scan_cmds  # noqa: E402,F401
from deprecator.cli import plan_cmds as _plan_cmds  # noqa: E402,F401
from deprecator.cli import notify_cmds as _notify_cmds  # noqa: E402,F401
from deprecator.cli import check_cmds as _check_cmds  # noqa: E402,F401
from deprecator.cli import guide_cmds as _guide_cmds  # noqa: E402,F401
from deprecator.cli import digest_cmds as _digest_cmds  # noqa: E402,F401
from deprecator.cli import dbt_cmds as _dbt_cmds  # noqa: E402,F401

__all__ = ["main"]
