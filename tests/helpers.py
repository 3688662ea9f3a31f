"""The one CLI test helper: run a command, assert its exit code, re-raise crashes."""

from __future__ import annotations

from typing import Sequence

from click.testing import CliRunner, Result

from deprecator.cli import main


def invoke(args: Sequence[str], code: int = 0, *, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Invoke ``deprecator ARGS``; fail with its output when the exit code differs.

    A real crash (any exception other than SystemExit) is re-raised with its
    traceback instead of hiding behind exit code 1.
    """
    runner = CliRunner()
    result = runner.invoke(main, list(args), input=input, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, (
        f"`deprecator {' '.join(args)}` exited {result.exit_code}, expected {code}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result
