"""Help is documentation: every command is in the README and has an example; the README's
test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deprecator.cli import main
from tests.helpers import invoke

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_is_documented_with_an_example(name):
    assert f"`deprecator {name}`" in README, f"README does not document `deprecator {name}`"
    help_text = invoke([name, "--help"]).stdout
    assert re.search(r"Examples?:", help_text), f"`deprecator {name} --help` has no example"


def test_readme_quickstart_has_two_commands_and_ci_runs_the_test_one():
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", quickstart)
    assert len(commands) == 2, commands
    demo, tests = commands
    assert "deprecator demo" in demo and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines(), "`.ci/run` must call the README's test command verbatim"


def test_help_never_points_at_a_command_that_does_not_exist():
    """A help text that says "use `deprecator check`" before `check` exists sends people nowhere."""
    for name in sorted(main.commands):
        help_text = invoke([name, "--help"]).stdout
        for named in re.findall(r"deprecator ([a-z][a-z-]*)", help_text):
            assert named in main.commands, f"`deprecator {name} --help` points at `deprecator {named}`"


def test_readme_says_enabling_pg_stat_statements_needs_a_restart():
    section = README.split("## On PostgreSQL", 1)[1].split("\n## ", 1)[0]
    assert "shared_preload_libraries" in section and "restart" in section
