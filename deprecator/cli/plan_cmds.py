"""Commands: plan, apply, rollback, applies, demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable

import click

from deprecator.cli.base import command_line, echo, echo_json, error_text, format_option, load_cli_config, main
from deprecator.errors import DeprecatorError, StalePlanError
from deprecator.text import plural, visible


def _names(names: Iterable[str]) -> str:
    """View names from the warehouse, for one line of text: control characters in them shown escaped."""
    return ", ".join(visible(n) for n in names)


def _config(ctx: click.Context):  # -> Config
    # these commands need the warehouse and state store that only deprecator.yml names
    return load_cli_config(ctx, require_file=True)


def _color() -> bool:
    return sys.stdout.isatty()


def _cross_check_text(checks) -> str:
    rules = [c for c in checks if c.only_in == "rule"]
    others = [c for c in checks if c.only_in != "rule"]
    lines = []
    if others:
        lines.append(f"\nwarning: the AST engine and the warehouse's dependency catalog disagree about "
                     f"{plural(len(others), 'reference')}:")
        lines += [f"  warning: {visible(c.describe())}" for c in others]
    if rules:
        lines.append(f"\nwarning: {plural(len(rules), 'view rule')} read{'s' if len(rules) == 1 else ''} a "
                     "deprecated relation and will not be rewritten:")
        lines += [f"  warning: {visible(c.describe())}" for c in rules]
    return "\n".join(lines)


class _PlanCommand(click.Command):
    """With --detailed-exitcode, a usage error exits 1 as terraform does (2 means "changes" there)."""

    def make_context(self, info_name, args, parent=None, **extra):
        detailed = any(a == "--detailed-exitcode" or a.startswith("--detailed-exitcode=") for a in args)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as e:
            if detailed:
                e.exit_code = 1
            raise


@main.command("plan", cls=_PlanCommand)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan as JSON for `deprecator apply PLAN`.")
@format_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes (blocked views alone are not changes), 2 when there are, "
                   "1 on error (as terraform).")
@click.pass_context
def plan_cmd(ctx: click.Context, out: Path | None, fmt: str, detailed_exitcode: bool) -> None:
    """Show how every view reading a deprecated relation would be rewritten.

    Views are listed in dependency order, each rewrite as a unified diff; views
    that cannot be rewritten safely are listed as blocked, with the reason and
    what would unblock them. On PostgreSQL the references found in each view
    are cross-checked with pg_depend; disagreements are printed as warnings
    (`cross_check` in --format json). Nothing is written to the warehouse.

    \b
    Example:
      deprecator plan --out plan.json
      deprecator apply plan.json
    """
    from deprecator import api
    from deprecator.plan import render_text

    try:
        result = api.make_plan(_config(ctx), progress=_progress)
        if out is not None:
            api.write_plan(result.plan, out)
    except DeprecatorError as e:
        if not detailed_exitcode:
            raise
        echo(error_text(e), err=True)
        ctx.exit(1)
    plan, checks = result.plan, result.cross_check
    if fmt == "json":
        echo_json(result.to_dict())
    else:
        echo(render_text(plan, color=_color()))
        if checks:
            echo(_cross_check_text(checks))
        if plan.compiled is False:
            echo("\nwarning: this role cannot create temporary views on the warehouse (no TEMPORARY privilege on "
                 "the database), so no rewritten definition was compiled and views that keep their columns are "
                 "dropped and recreated instead of replaced in place; an apply role that can will refuse this "
                 "plan. Grant TEMPORARY on the database to this role and plan again.")
        if out is not None and plan.has_changes:
            echo(f"\nSaved the plan to {out}. Apply exactly this plan with: {command_line(ctx, 'apply', out)}")
        elif plan.has_changes:
            echo(f"\nNext: save it for review with `{command_line(ctx, 'plan', '--out', 'plan.json')}`, "
                 f"then apply exactly it with `{command_line(ctx, 'apply', 'plan.json')}`.")
        elif plan.blocked:
            echo(f"\nNo changes to apply; blocked: {_names(v.name for v in plan.blocked)}. "
                 f"Do what each `to unblock` says, then run `{command_line(ctx, 'plan')}` again.")
        else:
            echo("\nNo changes: no view needs rewriting.")
    if detailed_exitcode and plan.has_changes:
        ctx.exit(2)


def _confirm(question: str, err: bool = False) -> bool:
    try:
        return click.confirm(question, default=False, err=err)
    except click.Abort:  # end of input: treat as "no"
        return False


@main.command("apply")
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@format_option
@click.pass_context
def apply_cmd(ctx: click.Context, plan_file: Path | None, auto_approve: bool, fmt: str) -> None:
    """Rewrite the views: exactly PLAN_FILE's statements, or a fresh plan after confirmation.

    A saved plan that no longer matches the warehouse or the registry is refused
    as stale. All statements run in one transaction; on any error nothing
    changes. Each apply is recorded and can be undone with `deprecator rollback`.

    \b
    Example:
      deprecator apply plan.json
      deprecator apply --auto-approve
    """
    from deprecator import api
    from deprecator.plan import render_text

    human = fmt == "text"

    def review(planned: api.PlanResult) -> bool:
        # With --format json, stdout carries only the result; the plan and question go to stderr.
        echo(render_text(planned.plan, color=_color() and human), err=not human)
        if planned.cross_check:   # before the question: a view only pg_depend knows about is worth a look first
            echo(_cross_check_text(planned.cross_check), err=True)
        if planned.plan.has_changes and not auto_approve:
            echo(err=not human)
            return _confirm("Apply these changes?", err=not human)
        return True

    try:
        result = api.apply(_config(ctx), plan_file, review=review, progress=_progress)
    except StalePlanError as e:
        if plan_file is not None:
            e.hint = f"run `{command_line(ctx, 'plan', '--out', plan_file)}` again and review the new plan"
        raise
    if fmt == "json":
        echo_json(result.to_dict())
        return
    if result.apply_id is None:
        if result.blocked:
            echo(f"Nothing to apply; blocked: {_names(result.blocked)}. "
                 f"`{command_line(ctx, 'plan')}` says what unblocks each.")
        else:
            echo("Nothing to apply: no view needs rewriting.")
        return
    echo(f"Applied: {plural(len(result.changed), 'view')} rewritten in one transaction "
         f"({plural(len(result.statements), 'statement')}).")
    for name in result.changed:
        echo(f"  ~ {visible(name)}")
    if result.checked:
        echo(f"Checked, not changed (they read a view replaced in place): {_names(result.checked)}")
    if result.blocked:
        echo(f"Left alone (blocked): {_names(result.blocked)}")
    if result.mismatches:
        echo(f"warning: the warehouse now holds a different text than planned for: {_names(result.mismatches)}", err=True)
    echo(f"Apply id: {result.apply_id}")
    echo(f"Undo with: {command_line(ctx, 'rollback', result.apply_id)}")


@main.command("rollback")
@click.argument("apply_id")
@click.option("--auto-approve", is_flag=True, help="Roll back without asking for confirmation.")
@click.option("--force", is_flag=True,
              help="Roll back even views changed since the apply: those later changes (definition, grants, "
                   "owner, comments) are lost.")
@click.option("--view", "views", multiple=True, metavar="NAME",
              help="Roll back only this view (repeatable); the apply's other views keep its rewrite.")
@format_option
@click.pass_context
def rollback_cmd(ctx: click.Context, apply_id: str, auto_approve: bool, force: bool, views: tuple[str, ...],
                 fmt: str) -> None:
    """Restore the view definitions an apply replaced (atomically, refused if they changed since).

    Grants, owner and comments go back to what they were before the apply
    (anything granted since is revoked). A view changed since the apply is
    refused, naming what changed (definition, grants, comments, ...); --force
    restores it anyway, losing that change, and --view rolls back only the
    views you name.

    \b
    Example:
      deprecator applies
      deprecator rollback 20261126103000-a1b2c3
      deprecator rollback 20261126103000-a1b2c3 --view analytics.orders_v
    """
    from deprecator import api
    from deprecator.errors import RollbackRefused
    from deprecator.plan import color_diff

    human = fmt == "text"

    def review(prepared) -> bool:  # an apply.RollbackPlan: every refusal came before it
        rec = prepared.record
        echo(f"Rolling back {rec.kind} {rec.id} ({rec.created_at:%Y-%m-%d %H:%M:%S} by {rec.actor}): "
             f"{plural(len(prepared.views), 'view')}", err=not human)
        if prepared.left:
            echo(f"Left as the apply made them: {_names(prepared.left)}", err=not human)
        if prepared.forced:
            echo("warning: --force discards these changes made since the apply:", err=True)
            for c in prepared.forced:
                echo(f"  - {visible(str(c))}", err=True)
        if prepared.diff:
            echo(color_diff(prepared.diff, _color() and human), err=not human)
        return auto_approve or _confirm("Restore these definitions?", err=not human)

    try:
        result = api.rollback(_config(ctx), apply_id, force=force, views=views or None, review=review,
                              progress=_progress)
    except RollbackRefused as e:
        e.hint = (f"`{command_line(ctx, 'rollback', apply_id, '--force')}` restores them anyway: the "
                  "changes listed are lost (definitions, grants, owner and comments go back to their "
                  "state before the apply). "
                  f"`{command_line(ctx, 'rollback', apply_id, '--view', 'NAME')}` (repeatable) rolls back "
                  "only the views named; the others keep the apply's rewrite.")
        raise
    if fmt == "json":
        echo_json(result.to_dict())
        return
    echo(f"Rolled back: {plural(len(result.changed), 'view')} restored in one transaction.")
    if result.mismatches:
        echo(f"warning: not restored byte-for-byte: {_names(result.mismatches)}", err=True)
    echo(f"Rollback id: {result.apply_id}")
    echo(f"Redo the apply with: {command_line(ctx, 'rollback', result.apply_id)}")


def _progress(message: str) -> None:
    """What plan, apply or rollback waits for (a lock, a retry), on stderr so stdout stays the result."""
    echo(message, err=True)


@main.command("applies")
@format_option
@click.pass_context
def applies_cmd(ctx: click.Context, fmt: str) -> None:
    """List the audit log of applies and rollbacks, oldest first.

    \b
    Example:
      deprecator applies --format json
    """
    from deprecator import api

    result = api.list_applies(_config(ctx))
    for apply_id, status in result.reconciled:
        echo(f"Reconciled interrupted apply {apply_id}: {status}", err=True)
    if fmt == "json":
        echo_json(result.to_list())
        return
    if not result.entries:
        echo("No applies recorded yet.")
        return
    for r in result.entries:
        note = ""
        if r.rollback_of:
            note = f" (rollback of {r.rollback_of})"
        elif r.undone_by:
            # rollbacks may cover some views of an apply (`rollback --view`): say which part
            parts = r.undone_by
            if len(parts) == 1 and parts[0][1] >= len(r.views):
                note = f" (rolled back by {parts[0][0]})"
            else:
                note = " (rolled back by " + ", ".join(f"{i}: {plural(n, 'view')}" for i, n in parts) + ")"
        elif r.rolled_back_by:
            note = f" (rolled back by {r.rolled_back_by})"
        if r.status != "applied":
            note += f" [{r.status}{': ' + r.error if r.error else ''}]"
        echo(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M:%S}  {r.kind:<8} {r.actor}  {plural(len(r.views), 'view')}{note}")
        echo(f"    {_names(r.views)}")


@main.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create the demo in (default: a new temporary folder).")
@click.option("--keep", is_flag=True, help="Keep the temporary folder afterwards (a --dir folder is always kept).")
def demo_cmd(directory: Path | None, keep: bool) -> None:
    """Watch a deprecation go from registered to found to rewritten, on a throwaway SQLite warehouse.

    Offline, in seconds; writes nothing outside the demo folder.

    \b
    Example:
      deprecator demo --dir demo && cd demo && deprecator applies
    """
    from deprecator.demo import run_demo

    run_demo(directory, keep=keep, out=lambda line: echo(line), color=_color())
