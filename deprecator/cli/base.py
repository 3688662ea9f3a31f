"""The click group, shared options and the one place errors become exit codes."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from deprecator.errors import DeprecatorError
from deprecator.redact import redact, trim_db_noise
from deprecator.text import visible_block

if TYPE_CHECKING:
    from deprecator.config import Config

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  findings that fail a gate
  2  usage, configuration or infrastructure error
  plan --detailed-exitcode follows terraform: 0 no changes, 1 error, 2 changes
  130  interrupted (Ctrl-C); nothing was changed
"""
EXIT_INTERRUPTED = 130


class DeprecatorGroup(click.Group):
    """Maps DeprecatorError to its exit code and a one-line message, secrets masked."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeprecatorError as e:
            click.echo(error_text(e), err=True)
            ctx.exit(e.exit_code)
        except BrokenPipeError:
            # The reader went away (`deprecator scan | head`): nothing to report to anyone.
            # Point stdout at /dev/null so the interpreter's final flush does not complain.
            import os

            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            ctx.exit(1)
        except Exception as e:
            # The environment failing (a database refusing, a full disk, a file that
            # cannot be read) is an infrastructure error: exit 2 with one short line.
            # Anything else is a bug and keeps its traceback.
            message = _infrastructure_error(e)
            if message is None:
                raise
            click.echo(redact(f"error: {message}"), err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            # Ctrl-C: the shell convention (128 + SIGINT), one line, no traceback. Every
            # command writes in one transaction or after its work is done, so an
            # interruption leaves nothing half-written.
            click.echo(("\r\033[K" if stderr_is_tty() else "") + "interrupted; nothing was changed", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def error_text(e: BaseException) -> str:
    """``error: ...`` for a DeprecatorError: secrets masked, SQLAlchemy's statement and parameter dumps cut."""
    return visible_block(redact(trim_db_noise(f"error: {e}")))


def _infrastructure_error(e: Exception) -> str | None:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(e, sa_exc.SQLAlchemyError):
        from deprecator.db import db_error

        return f"database error: {db_error(e)}"
    if isinstance(e, OSError):
        where = f": {e.filename}" if e.filename else ""
        return f"{e.strerror or e}{where}"
    return None


@click.group(cls=DeprecatorGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deprecator")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="deprecator.yml",
              show_default=True, help="Path to deprecator.yml; relative paths in it resolve from its folder.")
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """Retire warehouse tables and dbt models without breaking the people who use them.

    \b
    Typical flow:
      deprecator init
      deprecator deprecate analytics.customer_facts --replacement analytics.entity_customers --sunset 2027-03-31
      deprecator scan
      deprecator plan --out plan.json
      deprecator apply plan.json
    """
    ctx.obj = {"config_path": config_path}
    # sqlglot logs a warning for each statement it keeps as an opaque Command; deprecator reports
    # those texts as `fallback`, so on the terminal the warning is noise. The CLI is the
    # application and configures logging; importing the library changes none.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def config_path(ctx: click.Context) -> Path:
    return ctx.find_root().obj["config_path"]


def load_cli_config(ctx: click.Context, *, require_env: bool = True, require_file: bool = False) -> Config:
    """The config named by --config, for every command.

    A missing default ./deprecator.yml means built-in defaults (files, history
    and the registry beside it), unless ``require_file``: plan, apply, rollback
    and applies need a warehouse and a state store the defaults do not name,
    so there the missing file is the error (with its `deprecator init` hint).
    ``require_env=False`` for commands that never connect (see config.load_config).
    """
    from click.core import ParameterSource

    from deprecator.config import load_config_or_default

    root = ctx.find_root()
    explicit = require_file or root.get_parameter_source("config_path") not in (ParameterSource.DEFAULT, None)
    return load_config_or_default(config_path(ctx), explicit=explicit, require_env=require_env)


def command_line(ctx: click.Context, *args: object) -> str:
    """A command to run next, as the user would type it: their --config and names, shell-quoted."""
    words = ["deprecator"]
    if config_path(ctx) != Path("deprecator.yml"):
        words += ["--config", str(config_path(ctx))]
    return shlex.join(words + [str(a) for a in args])


format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Output format; json is a stable contract.")


def echo_json(data: Any) -> None:
    out = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode()
    click.echo(redact(out))


def echo(text: str = "", err: bool = False) -> None:
    click.echo(redact(text), err=err)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
