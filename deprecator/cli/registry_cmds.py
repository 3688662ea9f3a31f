"""Commands over deprecations as code: init, deprecate, list."""

from __future__ import annotations

from pathlib import Path

import click

from deprecator.cli.base import command_line, config_path, echo, echo_json, format_option, load_cli_config, main
from deprecator.config import Config, init_project
from deprecator.registry import Deprecation, add_deprecation, today
from deprecator.text import plural


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@main.command("init")
@click.option("--dialect", default="postgres", show_default=True,
              help="SQL dialect of the warehouse (a sqlglot dialect: postgres, snowflake, bigquery, duckdb, ...).")
@click.option("--force", is_flag=True, help="Overwrite existing deprecator.yml / deprecations.yml.")
@format_option
@click.pass_context
def init_cmd(ctx: click.Context, dialect: str, force: bool, fmt: str) -> None:
    """Scaffold deprecator.yml and an empty deprecations.yml.

    Both files go next to --config (default: the current folder). An existing
    file is kept unless --force.

    \b
    Example:
      deprecator init --dialect snowflake
    """
    result = init_project(config_path(ctx), dialect=dialect, force=force)
    if fmt == "json":
        echo_json({"written": [str(p) for p in result.written], "kept": [str(p) for p in result.kept]})
        return
    for p in result.written:
        echo(f"Wrote {_display(p)}")
    for p in result.kept:
        echo(f"Kept the existing {_display(p)} (--force overwrites it)")
    echo()
    echo("Next:")
    echo("  1. export DEPRECATOR_WAREHOUSE_URL=<SQLAlchemy URL>   (scan, plan and apply read it; "
         "delete warehouse.url to scan files only)")
    echo(f"  2. {command_line(ctx, 'deprecate')} analytics.customer_facts "
         "--replacement analytics.entity_customers --sunset 2027-03-31")
    echo(f"  3. {command_line(ctx, 'list')}")
    echo(f"  4. {command_line(ctx, 'scan')}")


def _parse_columns(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """OLD=NEW, each name spelt as the SQL identifier (quoted when it needs quotes); the
    registry validates the names for the dialect before anything is written."""
    from deprecator.sql.names import split_column_mapping

    out: dict[str, str] = {}
    for v in values:
        try:
            old, new = split_column_mapping(v)
        except ValueError as e:
            raise click.BadParameter(f"{v!r}: {e}, e.g. cust_id=customer_id or '\"Cust ID\"=customer_id'",
                                     ctx=ctx, param=param) from None
        out[old] = new
    return out


@main.command("deprecate")
@click.argument("model")
@click.option("--replacement", required=True, help="The relation to use instead.")
@click.option("--sunset", required=True, metavar="YYYY-MM-DD", help="Date after which the model may go away.")
@click.option("--announced", metavar="YYYY-MM-DD", help="Date the deprecation takes effect (before it: announced).")
@click.option("--reason", help="Why it is deprecated (shown in notices).")
@click.option("--owner", help="Team or person who owns the deprecation.")
@click.option("--contact", help="Where to ask questions, e.g. a Slack channel.")
@click.option("--migration-guide", help="Path or URL of the migration guide.")
@click.option("--column", "columns", multiple=True, callback=_parse_columns, metavar="OLD=NEW",
              help="A renamed column (repeatable). Names are SQL identifiers: quote one that needs it as "
                   "the dialect does, e.g. '\"Cust ID\"=customer_id' (BigQuery: '`Cust ID`=customer_id'); "
                   "unquoted names fold as the dialect folds.")
@click.option("--removed-column", "removed_columns", multiple=True, metavar="COLUMN",
              help="A column with no equivalent in the replacement (repeatable).")
@click.option("--dropped", is_flag=True,
              help="MODEL was already dropped from the warehouse (only query history still knows it): "
                   "it is looked for in history and files only.")
@format_option
@click.pass_context
def deprecate_cmd(ctx: click.Context, model: str, replacement: str, sunset: str, announced: str | None,
                  reason: str | None, owner: str | None, contact: str | None, migration_guide: str | None,
                  columns: dict[str, str], removed_columns: tuple[str, ...], dropped: bool, fmt: str) -> None:
    """Register MODEL as deprecated: append it to deprecations.yml, comments kept.

    The entry is validated with the whole registry (duplicates, cycles,
    self-replacement) before anything is written; when a warehouse is
    configured, MODEL and the replacement must exist in it (MODEL must not,
    with --dropped).

    \b
    Example:
      deprecator deprecate analytics.customer_facts \\
        --replacement analytics.entity_customers --sunset 2027-03-31 \\
        --reason "Replaced by the customer entity model" \\
        --owner analytics-engineering --column cust_id=customer_id
    """
    cfg = load_cli_config(ctx, require_env=False)
    _check_in_warehouse(cfg, model, replacement, dropped)
    dep = add_deprecation(
        cfg.registry_path,
        model=model, replacement=replacement, sunset=sunset, announced=announced, reason=reason,
        owner=owner, contact=contact, migration_guide=migration_guide, columns=columns,
        removed_columns=removed_columns, dropped=dropped, dialect=cfg.dialect,
        default_schema=cfg.warehouse.default_schema, default_catalog=cfg.warehouse.default_catalog,
    )
    if fmt == "json":
        echo_json({"registry": str(cfg.registry_path), "added": dep.to_dict()})
        return
    where = _display(cfg.registry_path) + (f":{dep.line}" if dep.line else "")
    target = f" (final replacement: {dep.target})" if dep.target != dep.replacement else ""
    echo(f"Registered {dep.model} -> {dep.replacement}{target}, sunset {dep.sunset.isoformat()}, in {where}")
    echo(f"Next: `{command_line(ctx, 'list')}` to see every deprecation, "
         f"`{command_line(ctx, 'scan')}` to find who still uses it.")


def _check_in_warehouse(cfg: Config, model: str, replacement: str, dropped: bool) -> None:
    """With a warehouse configured, a name it lacks is an error before deprecations.yml is touched.

    Registering stays possible offline: a warehouse that cannot be reached is a
    warning saying the names were not checked (scan and plan check them again).
    """
    from deprecator import api
    from deprecator.errors import ConfigError

    try:
        unchecked = api.check_new_names(cfg, model, replacement, dropped)
    except ConfigError as e:
        note = f"{_display(cfg.registry_path)} was not changed"
        e.hint = f"{e.hint}; {note}" if e.hint else note
        raise
    if unchecked is not None:
        echo(f"warning: {model} and {replacement} were not checked against the warehouse: {unchecked}", err=True)


@main.command("list")
@format_option
@click.option("--today", "today_", envvar="DEPRECATOR_TODAY", hidden=True, metavar="YYYY-MM-DD",
              help="Pretend today is this date (for reproducible output).")
@click.pass_context
def list_cmd(ctx: click.Context, fmt: str, today_: str | None) -> None:
    """List every deprecation with its stage and days to sunset.

    Stages: announced (before the announced date), deprecated, sunset passed.

    \b
    Example:
      deprecator list --format json
    """
    cfg = load_cli_config(ctx, require_env=False)
    registry = cfg.load_registry()
    now = today(today_)
    # With `dbt: manifest:`, models dbt marks deprecated (deprecation_date) are deprecations too, as in
    # check and the codemod; the registry wins for a model both name (a disagreement is a note).
    from_dbt: list[Deprecation] = []
    notes: list[str] = []
    if cfg.dbt.manifest is not None:
        from deprecator.dbt.manifest import load_manifest
        from deprecator.dbt.models import manifest_deprecations

        from_dbt, notes = manifest_deprecations(registry, load_manifest(cfg.dbt.manifest, dialect=cfg.dialect))
    deps = [*registry.deprecations, *from_dbt]
    if fmt == "json":
        body = {
            "today": now.isoformat(),
            "registry": str(cfg.registry_path),
            "deprecations": [d.to_dict(now) for d in deps],
        }
        if cfg.dbt.manifest is not None:
            body["manifest"] = _display(cfg.dbt.manifest)
            body["notes"] = notes
        echo_json(body)
        return
    if not deps:
        echo(f"No deprecations in {_display(cfg.registry_path)}"
             + (f" nor in the dbt manifest {_display(cfg.dbt.manifest)}." if cfg.dbt.manifest is not None else "."))
        echo(f"Add one: {command_line(ctx, 'deprecate')} MODEL --replacement NEW --sunset YYYY-MM-DD")
        return
    rows = [("MODEL", "REPLACEMENT", "STAGE", "SUNSET", "DAYS LEFT", "OWNER")]
    for d in deps:
        repl = d.replacement if d.target == d.replacement else f"{d.replacement} -> {d.target}"
        rows.append((d.model + (" (dbt)" if d.origin == "dbt" else ""), repl or "-", d.stage(now),
                     d.sunset.isoformat(), str(d.days_to_sunset(now)), d.owner or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        echo("  ".join(c.rjust(w) if i == 4 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    n = len(registry.deprecations)
    where = f"{plural(n, 'deprecation')} in {_display(cfg.registry_path)}"
    if cfg.dbt.manifest is not None:
        where += (f", {plural(len(from_dbt), 'deprecation')} from the dbt manifest {_display(cfg.dbt.manifest)} "
                  "(marked (dbt): models with a deprecation_date the registry does not name)")
    echo(f"\n{where} (today {now.isoformat()})")
    for note in notes:
        echo(f"note: {note}")
