"""`deprecator check`: the CI gate."""

from __future__ import annotations

import os
from pathlib import Path

import click
import orjson

from deprecator.cli.base import echo, echo_json, load_cli_config, main


@main.command("check")
@click.argument("paths", nargs=-1, metavar="[PATHS]...")
@click.option("--base", metavar="GIT_REF",
              help="Fail only on references added since the merge base with GIT_REF (e.g. origin/main); "
                   "only the changed files are read.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="github: workflow annotations (and a summary to $GITHUB_STEP_SUMMARY); "
                                      "sarif: SARIF 2.1.0 for code scanning; json: a stable contract.")
@click.option("--fail-before-sunset", type=click.IntRange(min=0), metavar="DAYS",
              help="Make every reference an error DAYS days before the sunset (after it, they always are).")
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
              help="dbt target/manifest.json: maps ref() to relations, adds models with a deprecation_date "
                   "(default: `dbt.manifest` of deprecator.yml).")
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Without --base: the committed file of accepted references "
                   "(default: deprecator-baseline.json at the repository root).")
@click.option("--sarif-file", type=click.Path(path_type=Path, dir_okay=False), metavar="PATH",
              help="Also write the report as SARIF 2.1.0 to PATH (one run for annotations and code scanning).")
@click.option("--update-baseline", is_flag=True,
              help="Accept every current reference: write them to the baseline file and exit 0.")
@click.pass_context
def check_cmd(ctx: click.Context, paths: tuple[str, ...], base: str | None, fmt: str,
              fail_before_sunset: int | None, manifest: Path | None, baseline_path: Path | None,
              sarif_file: Path | None, update_baseline: bool) -> None:
    """Fail the build when a change adds references to deprecated models.

    Reads SQL files and dbt models (PATHS: files or folders, default the
    `paths:` of deprecator.yml or the current folder; dbt's target/ and
    dbt_packages/ are skipped). ref() and source() calls are found with
    jinja2's parser, raw relation names with the SQL syntax tree.

    \b
    A reference is an error (the check fails) when:
      - the change adds it: on a line added since the merge base with --base,
        or, without --base, not in the baseline file;
      - the model's sunset date has passed (or is within --fail-before-sunset days).
    Other references are warnings. A comment on the line, or on its own line
    just above, suppresses one until a date:
      -- deprecator: allow analytics.customer_facts until 2027-01-15 reason "migrating in #123"
      {# deprecator: allow customer_facts until 2027-01-15 reason "..." #}
    Expired, unused and malformed suppressions are reported.

    \b
    Exit codes:
      0  no reference fails the check
      1  references fail the check (new ones, or past the sunset)
      2  files that could not be read or parsed (listed), or a usage/configuration error

    \b
    Examples:
      deprecator check --base origin/main models/
      deprecator check --base origin/main --format github --manifest target/manifest.json
      deprecator check --format sarif > deprecator.sarif
      deprecator check --base origin/main --format github --sarif-file deprecator.sarif
      deprecator check --update-baseline
    """
    from deprecator.check import run_check, write_baseline
    from deprecator.check_format import format_github, format_text, step_summary, to_sarif
    from deprecator.registry import Registry, today

    if update_baseline and base:
        raise click.UsageError("--update-baseline writes the baseline used without --base; drop --base")
    config = load_cli_config(ctx, require_env=False)
    manifest = manifest or config.dbt.manifest
    if manifest is None and not config.registry_path.exists():
        registry = config.load_registry()   # the usual "no registry" error, with its hint
    elif not config.registry_path.exists():
        registry = Registry((), None, config.dialect, config.warehouse.default_schema,
                            config.warehouse.default_catalog)
    else:
        registry = config.load_registry()
    if not paths and config.sql_paths:
        paths = tuple(str(p if Path(p).is_absolute() else config.root / p) for p in config.sql_paths)
    report = run_check(
        registry, paths=paths, base=base, manifest_path=manifest, baseline_path=baseline_path,
        fail_before_sunset=fail_before_sunset, today=today(), dialect=config.dialect,
        default_schema=config.warehouse.default_schema, default_catalog=config.warehouse.default_catalog,
        guides_root=config.root,
    )
    if update_baseline:
        if report.problems:
            report.raise_for_status()   # an incomplete check must not become the accepted state
        target = Path(report.baseline or "deprecator-baseline.json")
        target = target if target.is_absolute() else report.root / target
        n = write_baseline(report, target)
        echo(f"Wrote {n} accepted reference(s) to {report.baseline}; commit it.")
        return
    if sarif_file is not None:
        sarif_file.write_bytes(orjson.dumps(to_sarif(report), option=orjson.OPT_INDENT_2) + b"\n")
    if fmt == "json":
        echo_json(report.to_dict())
    elif fmt == "sarif":
        click.echo(orjson.dumps(to_sarif(report), option=orjson.OPT_INDENT_2).decode())
    elif fmt == "github":
        echo(format_github(report))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(step_summary(report))
    else:
        echo(format_text(report))
    report.raise_for_status()
