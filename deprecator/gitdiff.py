"""What a change adds, relative to the merge base with a git ref: changed files and their added lines.

The check (``deprecator check --base REF``) fails only on references written
on lines the change adds. Renamed and moved files are followed by git's rename
detection (``-M``): a file moved unchanged adds no line, a file moved and
edited adds only its edited lines.
"""

from __future__ import annotations

import codecs
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deprecator.errors import GitError


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class ChangedFile:
    path: str                        # repo-relative, after the change
    status: str                      # A (added or untracked), M, R (renamed/moved), C, T
    old_path: str | None = None      # before a rename or copy
    added: frozenset[int] | None = None   # 1-based added lines; None: every line is new


@dataclass(frozen=True)
class BaseDiff:
    root: Path                       # the repository's top folder
    base: str                        # as given (e.g. origin/main)
    merge_base: str                  # the commit compared against
    files: dict[str, ChangedFile]    # changed files that exist now, by repo-relative path
    deleted: tuple[str, ...]

    def is_added(self, path: str, line: int) -> bool:
        f = self.files.get(path)
        if f is None:
            return False
        return f.added is None or line in f.added


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=root, capture_output=True,
                              text=True, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise GitError("git is not installed (needed for --base)") from None
    if check and proc.returncode != 0:
        raise GitError(f"`git {' '.join(args)}` failed: {proc.stderr.strip() or proc.returncode}")
    return proc


def repo_root(cwd: Path) -> Path | None:
    """The top folder of the git repository ``cwd`` is in, or None."""
    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.strip())


def visible_files(root: Path) -> set[str] | None:
    """Absolute paths (from the resolved top folder) of the files in ``root``'s repository that git
    does not ignore; None outside git."""
    if repo_root(root) is None:
        return None
    proc = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", check=False)
    if proc.returncode != 0:
        return None
    top = Path(_git(root, "rev-parse", "--show-toplevel").stdout.strip())
    top = top.resolve()
    return {str(top / p) for p in proc.stdout.split("\0") if p}


def diff_against(base: str, cwd: Path) -> BaseDiff:
    """Files changed since the merge base of ``base`` and HEAD (working tree included, untracked files as new)."""
    root = repo_root(cwd)
    if root is None:
        raise GitError(f"{cwd} is not inside a git repository (--base needs one)",
                       hint="run without --base to compare against the baseline file instead")
    shallow = _git(root, "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true"
    fetch_hint = ("in GitHub Actions use actions/checkout with `fetch-depth: 0`; elsewhere "
                  f"`git fetch --unshallow` or `git fetch origin {base.split('/', 1)[-1]}`")
    if _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", check=False).returncode != 0:
        raise GitError(f"the base `{base}` is not a commit in this clone"
                       + (" (it is a shallow clone)" if shallow else ""), hint=fetch_hint)
    mb = _git(root, "merge-base", base, "HEAD", check=False)
    if mb.returncode != 0 or not mb.stdout.strip():
        if shallow:
            raise GitError(f"no merge base between `{base}` and HEAD: this is a shallow clone and the "
                           "history joining them was not fetched", hint=fetch_hint)
        raise GitError(f"`{base}` and HEAD have no common history (no merge base)")
    merge_base = mb.stdout.strip()

    files: dict[str, ChangedFile] = {}
    deleted: list[str] = []
    fields = _git(root, "diff", "-z", "--name-status", "-M", "--no-ext-diff", merge_base).stdout.split("\0")
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            old, new = fields[i + 1], fields[i + 2]
            files[new] = ChangedFile(new, status, old)
            i += 3
            continue
        path = fields[i + 1]
        i += 2
        if status == "D":
            deleted.append(path)
        elif status == "A":
            files[path] = ChangedFile(path, "A")
        else:
            files[path] = ChangedFile(path, status)
    added = _added_lines(root, merge_base)
    for path, f in list(files.items()):
        if f.status != "A":
            files[path] = ChangedFile(f.path, f.status, f.old_path, frozenset(added.get(path, ())))
    for path in _git(root, "ls-files", "-z", "--others", "--exclude-standard").stdout.split("\0"):
        if path:
            files[path] = ChangedFile(path, "A")
    return BaseDiff(root, base, merge_base, files, tuple(deleted))


def _unquote(path: str) -> str:
    path = path.rstrip("\t")
    if len(path) >= 2 and path[0] == path[-1] == '"':
        raw = codecs.escape_decode(path[1:-1].encode("utf-8"))[0]
        return raw.decode("utf-8", errors="surrogateescape")
    return path


def _added_lines(root: Path, merge_base: str) -> dict[str, set[int]]:
    """Repo-relative path -> the line numbers the working tree adds relative to ``merge_base``."""
    out: dict[str, set[int]] = {}
    patch = _git(root, "diff", "-U0", "-M", "--no-color", "--no-ext-diff", "--no-textconv",
                 "--src-prefix=a/", "--dst-prefix=b/", merge_base).stdout
    current: set[int] | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = _unquote(line[4:])
            if target == "/dev/null":
                current = None
                continue
            current = out.setdefault(target[2:] if target.startswith("b/") else target, set())
        elif line.startswith("@@") and current is not None:
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
                current.update(range(start, start + count))
    return out
