"""The plan as people read it: unified diffs, colour, and the text of ``deprecator plan``."""

from __future__ import annotations

import difflib

from deprecator.plan.model import Plan
from deprecator.sql.names import display_name
from deprecator.text import visible, visible_block

def unified_diff(before: str, after: str, label: str, states: tuple[str, str] = ("current", "planned")) -> str:
    """A unified diff of a view definition, labelled with the view's name."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), fromfile=f"{label} ({states[0]})", tofile=f"{label} ({states[1]})",
        lineterm="",
    )
    return "\n".join(lines)



# -- rendering ----------------------------------------------------------------

_RED, _GREEN, _CYAN, _YELLOW, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def color_diff(diff: str, color: bool) -> str:
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            out.append(_paint(line, _BOLD, color))
        elif line.startswith("+"):
            out.append(_paint(line, _GREEN, color))
        elif line.startswith("-"):
            out.append(_paint(line, _RED, color))
        elif line.startswith("@@"):
            out.append(_paint(line, _CYAN, color))
        else:
            out.append(line)
    return "\n".join(out)


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan as people read it: per view in dependency order, a diff or a reason; then the summary."""
    out: list[str] = []
    for v in plan.views:
        # a name as SQL, quoted where it must be (as the scan report writes it), control characters escaped
        name = visible(display_name(v.name, plan.dialect))
        if v.action == "rewrite":
            out.append(_paint(f"~ {name}: rewrite (reads {visible(', '.join(v.deprecated))})", _BOLD, color))
            # the diff's labels name the view as the plan stores it; shown as the header does
            diff = v.diff.replace(f"--- {v.name} (", f"--- {name} (", 1)
            diff = diff.replace(f"+++ {v.name} (", f"+++ {name} (", 1)
            out.append(color_diff(visible_block(diff), color))
        elif v.action == "recreate":
            out.append(f"~ {name}: recreate ({visible(v.note)})")
        elif v.action == "unchanged":
            # "=": apply checks the view is there (a guard statement) but does not change it
            out.append(f"{'=' if v.statements else ' '} {name}: {visible(v.note)}")
        else:
            out.append(_paint(f"! {name}: blocked", _YELLOW, color))
            # The same problem at several places reads once, with every line.
            grouped: dict[tuple[str, str], list[int]] = {}
            for b in v.blockers:
                grouped.setdefault((b.reason, b.unblock), []).extend([b.line] if b.line else [])
            for (reason, unblock), lines in grouped.items():
                where = ""
                if lines:
                    nums = sorted(set(lines))
                    where = f" (line{'s' if len(nums) > 1 else ''} {', '.join(map(str, nums))})"
                out.append(f"    reason{where}: {visible(reason)}")
                out.append(f"    to unblock: {visible(unblock)}")
        out.append("")
    out.append(plan.summary())
    return "\n".join(out)
