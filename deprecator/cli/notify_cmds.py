"""`deprecator notify`: one Slack message per owner who still uses a deprecated model."""

from __future__ import annotations

import click

from deprecator.cli.base import echo, echo_json, load_cli_config, main


@main.command("notify")
@click.option("--dry-run", is_flag=True, help="Print exactly what would be sent, per recipient; needs no token "
                                              "and sends nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a readable rendering; json: the Block Kit payloads (a stable contract).")
@click.option("--only", "only", metavar="MODEL", help="Only notices about this deprecated model.")
@click.option("--no-redact", is_flag=True, help="Show literal values in queries as written (by default they "
                                                "are redacted: they can hold personal data).")
@click.option("--resend-unverified", is_flag=True,
              help="Send again a notice a crashed run may have posted when Slack's history cannot confirm it "
                   "(by default that owner is held back, to avoid a duplicate).")
@click.pass_context
def notify_cmd(ctx: click.Context, dry_run: bool, fmt: str, only: str | None, no_redact: bool,
               resend_unverified: bool) -> None:
    """Tell each owner of a query that reads a deprecated model, in one Slack message.

    Scans (without recording a snapshot), maps history users to people and
    teams with `owners:` in deprecator.yml, and sends each owner one message
    covering every deprecated model they use: how often and when last, the
    replacement, the sunset, the migration guide, the contact, and their most
    frequent query rewritten for the replacement (literals redacted). A notice
    is not sent again within slack.cooldown unless what they use changed; a
    re-run after a crash neither loses nor duplicates a notice. Unmapped users
    are listed. Exit code 1 when some owner could not be reached (all others
    are still sent); 2 on a configuration or Slack token error.

    \b
    Examples:
      deprecator notify --dry-run
      deprecator notify --only analytics.customer_facts --format json --dry-run
      SLACK_BOT_TOKEN=xoxb-... deprecator notify
    """
    from deprecator import api
    from deprecator.notify import format_text

    report = api.notify(load_cli_config(ctx), dry_run=dry_run, only=only, redact=not no_redact,
                        resend_unverified=resend_unverified)
    if fmt == "json":
        echo_json(report.to_dict())
    else:
        echo(format_text(report))
    if report.not_reached:
        ctx.exit(1)
