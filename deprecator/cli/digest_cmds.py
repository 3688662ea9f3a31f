"""`deprecator digest`: the weekly usage digest, to Slack or to a file."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from deprecator.cli.base import echo, load_cli_config, main


@main.command("digest")
@click.option("--dry-run", is_flag=True, help="Print the digest instead of sending it; needs no Slack token.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True, help="Print the digest in this format (or write it with --out) instead of "
                                      "sending it (html: one self-contained page with a burn-down chart per "
                                      "deprecation).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the digest to FILE in --format instead of sending it.")
@click.option("--only", metavar="MODEL", help="Only this deprecated model.")
@click.option("--done-weeks", type=click.IntRange(min=1), default=4, show_default=True,
              help="Weeks without any use after which a deprecation counts as done.")
@click.option("--trend-weeks", type=click.IntRange(min=2), default=6, show_default=True,
              help="Complete weeks the trend is fitted on.")
@click.option("--force", is_flag=True, help="Send again although this week's digest was already sent.")
@click.option("--today", "today_", envvar="DEPRECATOR_TODAY", hidden=True, metavar="YYYY-MM-DD",
              help="Pretend today is this date (for reproducible output).")
@click.pass_context
def digest_cmd(ctx: click.Context, dry_run: bool, fmt: str, out: Path | None, only: str | None, done_weeks: int,
               trend_weeks: int, force: bool, today_: str | None) -> None:
    """The weekly usage digest: per deprecation, last week against the week before, the trend, a status.

    Reads what `deprecator scan` stored (run it first, e.g. in the same job):
    weekly uses and users, the views and files still reading each model, and the
    views `deprecator apply` already rewrote. Status: on track (falling to zero
    before the sunset at the current rate), at risk, stalled, sunset passed
    (still used), done (no use for --done-weeks weeks), or too early to tell
    (fewer than two complete weeks of data).

    Without --dry-run, --format or --out it posts one message to
    slack.digest_channel, once per ISO week (--force sends it again). With
    --format it prints the digest in that format, and with --out it writes it
    to FILE; neither sends anything nor needs a Slack token.

    \b
    Examples:
      deprecator scan && deprecator digest
      deprecator digest --dry-run
      deprecator digest --format markdown
      deprecator digest --format html --out report.html
    """
    from deprecator import api
    from deprecator.registry import today
    from deprecator.text import plural

    # a format asked for is a digest to read (printed, or written with --out), not the Slack message
    asked_format = ctx.get_parameter_source("fmt") not in (ParameterSource.DEFAULT, None)
    config = load_cli_config(ctx)
    outcome = api.digest(config, today=today(today_), done_weeks=done_weeks, trend_weeks=trend_weeks, only=only,
                         fmt=fmt, out=out, send=not (dry_run or asked_format), force=force)
    digest, result = outcome.digest, outcome.sent
    if outcome.written is not None:
        echo(f"Wrote the {fmt} digest of {plural(len(digest.deprecations), 'deprecation')} to {out}")
        return
    if result is None:   # --dry-run or --format
        click.echo(outcome.text, nl=False)
        return
    if result.skipped:
        echo(f"Nothing sent: {result.skipped}.")
    else:
        echo(f"Sent the digest of {plural(len(digest.deprecations), 'deprecation')} to {result.channel} "
             f"(ts {result.ts}).")
