"""`deprecator scan`: find every use of the deprecated relations."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from deprecator.cli.base import format_option, load_cli_config, main, stderr_is_tty
from deprecator.errors import DeprecatorError
from deprecator.parallel import DEFAULT_MAX_CHARS

if TYPE_CHECKING:
    from deprecator.scan import ScanProgress


@main.command("scan")
@click.option("--path", "paths", multiple=True, metavar="PATH",
              help="SQL file, folder (recursive *.sql) or glob; repeatable. Replaces `paths:` of deprecator.yml; "
                   "the query history and warehouse views are still scanned.")
@format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress indicator.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Parser processes (default: one per CPU; 0 parses in-process, without crash isolation).")
@click.option("--max-chars", type=click.IntRange(min=1), default=DEFAULT_MAX_CHARS, show_default=True,
              help="Texts longer than this are reported as errors instead of parsed.")
@click.pass_context
def scan_cmd(ctx: click.Context, paths: tuple[str, ...], fmt: str, quiet: bool, workers: int | None,
             max_chars: int) -> None:
    """Find references to deprecated models in SQL files, query history and warehouse views.

    Findings are grouped by deprecation, then by what the text does with it
    (readers to migrate, producers that write it to switch off, DDL; "role" in
    JSON): queries and users from the history, views, and files with
    file:line:column. Texts the parser could not fully
    analyse are listed with the reason. When a query history is read, a usage
    snapshot per deprecation is recorded in the state store. pg_stat_statements
    counts are every call since its statistics reset (the report says since
    when), the same on every scan; the calls since the previous scan are shown
    as a window with its start and end. deprecator's own statements and
    warehouse.own_roles are not counted. Exit code is 0 whether or not references are found;
    2 on a configuration or source error.

    \b
    Examples:
      deprecator scan
      deprecator scan --path models/ --path 'analyses/**/*.sql' --format json
    """
    from deprecator import api
    from deprecator.redact import redact
    from deprecator.report_text import iter_report_text

    progress = not quiet and stderr_is_tty()

    def waiting(message: str) -> None:
        # what the catalog read waits for (a lock), on its own line even with --quiet, as apply says it
        click.echo(("\r\033[K" if progress else "") + message, err=True)

    result = api.scan(load_cli_config(ctx), paths=paths, progress=ProgressLine() if progress else None,
                      workers=workers, max_chars=max_chars, waiting=waiting)
    report, registry = result.report, result.registry
    if progress:
        click.echo("\r\033[K", err=True, nl=False)
    if fmt == "json":
        # written a batch of findings at a time (a popular table can have a million); the same
        # bytes as echo_json(report.to_dict()), secrets masked piece by piece (a piece holds whole findings)
        for piece in report.iter_json():
            click.echo(redact(piece), nl=False)
        click.echo()
    else:
        # a deprecation at a time, its findings read one by one: the same bytes as
        # echo(format_report_text(...)), secrets masked piece by piece (a piece holds whole lines)
        for piece in iter_report_text(report, registry):
            click.echo(redact(piece), nl=False)
        click.echo()
    if report.record_error:
        raise DeprecatorError(f"the scan above was not recorded (no usage snapshot was kept): {report.record_error}")


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def progress_text(p: ScanProgress) -> str:
    """One progress line: what is done of how much, and the time left where the size is known."""
    if p.phase == "read":
        text = f"scanning: {p.texts_read:,} texts read"
        if p.bytes_total:
            pct = min(100, int(100 * p.bytes_read / p.bytes_total))
            text += f", {_size(p.bytes_read)} of {_size(p.bytes_total)} ({pct}%)"
    else:
        text = f"scanning: {p.texts_read:,} texts read; parsed {p.parsed:,} of {p.to_parse:,} distinct candidates"
        if p.to_parse:
            text += f" ({min(100, int(100 * p.parsed / p.to_parse))}%)"
    if p.eta_seconds is not None:
        text += ", almost done" if p.eta_seconds < 1 else f", about {_duration(p.eta_seconds)} left"
    return text


class ProgressLine:
    """Shows ``ScanProgress`` on one terminal line (stderr), at most five times a second."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.last = 0.0

    def __call__(self, p: ScanProgress) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        click.echo("\r\033[K" + progress_text(p), err=True, nl=False)
