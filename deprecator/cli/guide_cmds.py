"""`deprecator guide`: write a deprecation's migration guide."""

from __future__ import annotations

from pathlib import Path

import click

from deprecator.cli.base import echo, echo_json, load_cli_config, main


@main.command("guide")
@click.argument("model")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write MODEL's guide into (as <table>.md). Default: the registry's "
                   "`migration_guide` path, else migration_guides/ beside deprecator.yml.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the guide instead of writing a file.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="markdown: the guide; json: the facts it is rendered from (implies --stdout).")
@click.option("--templates", "template_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with your own migration_guide.md.j2 (default: `templates:` in deprecator.yml, "
                   "else the shipped template).")
@click.option("--no-scan", is_flag=True,
              help="Do not scan the configured sources: no 'who is affected' and no example from a consumer.")
@click.option("--today", "today_", envvar="DEPRECATOR_TODAY", hidden=True, metavar="YYYY-MM-DD",
              help="Pretend today is this date (for reproducible output).")
@click.pass_context
def guide_cmd(ctx: click.Context, model: str, out_dir: Path | None, to_stdout: bool, fmt: str,
              template_dir: Path | None, no_scan: bool, today_: str | None) -> None:
    """Write the migration guide of a deprecated MODEL as Markdown.

    The guide says why, the timeline and the stage today, the replacement, the
    column mapping, a before/after taken from the most used consumer's query or
    view (rewritten by the same rewrite `plan` uses, literal values redacted),
    who is still affected (a fresh scan of the configured sources, not recorded)
    and whom to ask.

    \b
    Examples:
      deprecator guide analytics.customer_facts
      deprecator guide analytics.customer_facts --out docs/migrations
      deprecator guide analytics.customer_facts --stdout --no-scan
    """
    from deprecator import api
    from deprecator.registry import today

    result = api.guide(load_cli_config(ctx), model, today=today(today_), scan=not no_scan, render=fmt != "json",
                       template_dir=template_dir, write=not to_stdout, out_dir=out_dir)
    guide = result.guide
    if fmt == "json":
        echo_json(guide.to_dict())
        return
    if to_stdout:
        click.echo(result.text, nl=False)
        return
    echo(f"Wrote the migration guide of {guide.model} to {result.written}")
    if guide.example is None:
        echo(f"It has no before/after example: {guide.example_note}.")
