"""`deprecator dbt ...`: the codemod that points refs at replacements, and the sync of properties YAML."""

from __future__ import annotations

from pathlib import Path

import click

from deprecator.cli.base import echo, echo_json, load_cli_config, main


@main.group("dbt")
def dbt_group() -> None:
    """Work on a dbt project: rewrite refs to deprecated models, mark deprecations in properties YAML.

    \b
    Examples:
      deprecator dbt codemod . --manifest target/manifest.json > migrate.patch
      deprecator dbt sync . --manifest target/manifest.json
    """


def _display_root(project: Path) -> Path:
    """Paths are shown relative to the current folder when the project is in it (``git apply`` run here
    takes the diff as it is), else relative to the project."""
    cwd = Path.cwd().resolve()
    try:
        project.resolve().relative_to(cwd)
        return cwd
    except ValueError:
        return project.resolve()


def _registry(config, manifest: Path | None):  # -> Registry
    """The registry; with a manifest and no registry file, none (dbt's own deprecations are used)."""
    from deprecator.registry import Registry

    if manifest is not None and not config.registry_path.exists():
        return Registry((), None, config.dialect, config.warehouse.default_schema, config.warehouse.default_catalog)
    return config.load_registry()


def _blocker_lines(result) -> list[str]:  # CodemodResult -> lines
    out = []
    for f in result.files:
        for b in f.blockers:
            where = f"{f.path}:{b.line}:{b.column or 1}" if b.line else f.path
            left = "left unchanged" if f.status == "blocked" else "its other refs are rewritten"
            out.append(f"{where}: blocked ({b.kind}, {left}): {b.reason}")
    return out


@dbt_group.command("codemod")
@click.argument("project_dir", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
              help="dbt target/manifest.json: maps refs to relations exactly (aliases, schemas, versions) "
                   "(default: `dbt.manifest` of deprecator.yml; without one, refs match by table name).")
@click.option("--write", is_flag=True, help="Write the changes into the files instead of printing a diff.")
@click.option("--format", "fmt", type=click.Choice(["diff", "json"]), default="diff", show_default=True,
              help="diff: a unified diff on stdout for `git apply` (blockers on stderr); json: a stable contract.")
@click.pass_context
def codemod_cmd(ctx: click.Context, project_dir: Path, manifest: Path | None, write: bool, fmt: str) -> None:
    """Point every ref() to a deprecated model at its replacement, and rename mapped columns.

    Each literal ref('customer_facts') that resolves to a registered deprecation
    gets the replacement's model name in its string (quotes kept; a version
    argument follows the replacement's version). Where the deprecation maps
    columns (`columns:` in the registry), the model's column names are rewritten
    too, by the same span-preserving rewrite `plan` uses on views. Every other
    byte of each file stays as written.

    A file is left unchanged, with the reason, when its columns cannot be
    followed safely (ambiguous or removed columns, SELECT *, a column inside
    Jinja, a deprecated ref inside a macro call while columns change). A dynamic
    ref(var(...)) that may resolve to a deprecated model is reported; the
    file's literal refs are still rewritten.

    \b
    Exit codes:
      0  every ref to a deprecated model was rewritten (or there were none)
      1  some refs are blocked (listed with their reasons)
      2  usage, configuration or manifest error

    \b
    Examples:
      deprecator dbt codemod . --manifest target/manifest.json > migrate.patch && git apply migrate.patch
      deprecator dbt codemod . --manifest target/manifest.json --write
      deprecator dbt codemod . --format json
    """
    from deprecator.dbt.codemod import run_codemod, write_codemod

    config = load_cli_config(ctx, require_env=False)
    manifest = manifest or config.dbt.manifest
    registry = _registry(config, manifest)
    result = run_codemod(project_dir, registry, manifest_path=manifest, dialect=config.dialect,
                         default_schema=config.warehouse.default_schema,
                         default_catalog=config.warehouse.default_catalog, display_root=_display_root(project_dir))
    written = write_codemod(result) if write else []
    if fmt == "json":
        echo_json({**result.to_dict(), "written": [str(p) for p in written]})
    else:
        if not write:
            click.echo(result.diff(), nl=False)
        for f in result.changed if write else ():
            echo(f"  ~ {f.path}" + (" (partly: see the blocker below)" if f.status == "partial" else ""), err=True)
        for line in _blocker_lines(result) + [f"note: {n}" for n in result.notes]:
            echo(line, err=True)
        changed = len(result.changed)
        verb = "Wrote" if write else "Would rewrite"
        echo(f"{verb} {changed} file(s); {sum(f.status == 'blocked' for f in result.files)} blocked, "
             f"{sum(f.status == 'partial' for f in result.files)} partly rewritten "
             f"({result.files_read} SQL file(s) read"
             + (", refs matched by table name: give --manifest to map them exactly" if manifest is None else "")
             + ")", err=True)
    if result.blocked:
        ctx.exit(1)


@dbt_group.command("sync")
@click.argument("project_dir", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
              help="dbt target/manifest.json: finds each deprecated model by its relation (aliases, schemas, "
                   "versions) and its properties file (patch_path) (default: `dbt.manifest` of deprecator.yml; "
                   "without one, models match the deprecation's table name).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the properties YAML is out of date (for CI).")
@click.option("--dry-run", is_flag=True, help="Write nothing; print the diff that would be written.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format; json is a stable contract.")
@click.pass_context
def sync_cmd(ctx: click.Context, project_dir: Path, manifest: Path | None, check: bool, dry_run: bool,
             fmt: str) -> None:
    """Write each deprecation's date and replacement into the dbt models' properties YAML.

    Sets `deprecation_date` (the sunset) and `config.meta.deprecator`
    (replacement, guide, contact) on each registered deprecation's model, so
    dbt's own warnings about refs to deprecated models fire too. Only those keys
    change: comments, order and layout of the files are kept byte for byte. A
    model without a properties entry gets one in `_deprecations.yml` next to its
    SQL file. Running it again changes nothing.

    \b
    Exit codes:
      0  written (or already up to date)
      1  with --check: the properties YAML is out of date
      2  usage, configuration, YAML or manifest error

    \b
    Examples:
      deprecator dbt sync . --manifest target/manifest.json
      deprecator dbt sync . --dry-run
      deprecator dbt sync . --check
    """
    from deprecator.dbt.sync import run_sync

    config = load_cli_config(ctx, require_env=False)
    registry = config.load_registry()
    manifest = manifest or config.dbt.manifest
    result = run_sync(project_dir, registry, manifest_path=manifest, dialect=config.dialect,
                      default_schema=config.warehouse.default_schema,
                      default_catalog=config.warehouse.default_catalog, guides_root=config.root)
    written = [] if (check or dry_run) else result.write()
    if fmt == "json":
        echo_json({**result.to_dict(), "written": [str(p) for p in written]})
    else:
        if dry_run or check:
            click.echo(result.diff(), nl=False)
        for c in result.changes:
            if c.action != "unchanged":
                what = "added an entry" if c.action == "add_entry" else "set " + ", ".join(c.fields)
                echo(f"{c.path}: {c.model} ({c.deprecation}): {what}", err=True)
        for dep, why in result.skipped:
            echo(f"skipped {dep}: {why}", err=True)
        changed = sum(c.action != "unchanged" for c in result.changes)
        if not result.out_of_date:
            echo(f"Up to date: {len(result.changes)} model(s) already carry their deprecation.", err=True)
        elif check:
            echo(f"Out of date: {changed} model(s) to sync; run `deprecator dbt sync` and commit the result.",
                 err=True)
        elif dry_run:
            echo(f"Would sync {changed} model(s) in {len(result.diff().split('diff --git')) - 1} file(s).", err=True)
        else:
            echo(f"Synced {changed} model(s) in {len(written)} file(s).", err=True)
    if check and result.out_of_date:
        ctx.exit(1)
