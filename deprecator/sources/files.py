"""SQL files: single files, folders (recursive ``*.sql``) and glob patterns."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from deprecator.sources.base import DBT_MODEL, ModelRefs, SourceItem, SourceProblem, SqlText


def expand_paths(patterns: Sequence[str], root: Path | None = None) -> tuple[list[Path], list[SourceProblem]]:
    """Files named by ``patterns`` (files, folders, globs), sorted and deduplicated.

    A pattern that names nothing is a problem, not silence: a typo in ``--path``
    must not look like a clean scan.
    """
    root = root or Path.cwd()
    found: dict[str, Path] = {}
    problems: list[SourceProblem] = []
    for pattern in patterns:
        p = Path(os.path.expanduser(pattern))
        if not p.is_absolute():
            p = root / p
        matches: list[Path]
        if glob.has_magic(str(p)):
            matches = [Path(m) for m in sorted(glob.glob(str(p), recursive=True))]
        elif p.exists():
            matches = [p]
        else:
            problems.append(SourceProblem("file", pattern, "no such file or folder"))
            continue
        hits = 0
        for m in matches:
            if m.is_dir():
                for f in sorted(m.rglob("*")):
                    if f.suffix.lower() == ".sql" and not f.is_dir():  # a broken link is reported, not skipped
                        if f.exists() and not f.is_file():   # opening a named pipe would wait for a writer
                            problems.append(SourceProblem("file", display_path(f, root), "not a regular file "
                                                          "(a pipe, socket or device), not read"))
                            continue
                        found.setdefault(str(f), f)
                        hits += 1
            elif m.is_file() or not m.exists():
                found.setdefault(str(m), m)
                hits += 1
        if hits == 0:
            problems.append(SourceProblem("file", pattern, "matched no .sql files"))
    return [found[k] for k in sorted(found)], problems


def display_path(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` when it is inside it, else as given."""
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


@dataclass
class FileSource:
    """One text per file; unreadable or non-UTF-8 files are reported as problems."""

    patterns: tuple[str, ...]
    root: Path | None = None
    kind: str = "file"
    # A pattern naming nothing is an error (SourceError) rather than a reported problem:
    # for paths typed on the command line, where a typo must not look like a clean scan.
    strict: bool = False
    _expanded: tuple[list[Path], list[SourceProblem]] | None = field(default=None, init=False, repr=False)
    _done: int = field(default=0, init=False, repr=False)

    @property
    def name(self) -> str:
        return ", ".join(self.patterns)

    def _expand(self) -> tuple[list[Path], list[SourceProblem]]:
        if self._expanded is None:
            self._expanded = expand_paths(self.patterns, self.root)
        return self._expanded

    def size_hint(self) -> int | None:
        """The files' total size in bytes, for progress displays."""
        total = 0
        for f in self._expand()[0]:
            try:
                size = f.stat().st_size
            except OSError:
                continue
            total += size
        return total

    def bytes_read(self) -> int:
        return self._done

    def read(self) -> Iterator[SourceItem]:
        files, problems = self._expand()
        self._expanded = None          # a second read() sees the folder as it is then
        if self.strict and problems:
            from deprecator.errors import SourceError

            raise SourceError("; ".join(f"--path {p.object}: {p.reason}" for p in problems),
                              hint="paths are relative to the current folder; a folder is scanned for *.sql")
        yield from problems
        for f in files:
            shown = display_path(f, self.root)
            try:
                raw = f.read_bytes()
                self._done += len(raw)
            except OSError as e:
                yield SourceProblem("file", shown, f"cannot read: {e.strerror or e}")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                line = raw[: e.start].count(b"\n") + 1
                yield SourceProblem("file", shown, f"not UTF-8 (invalid byte 0x{raw[e.start]:02x} at line {line})")
                continue
            if text.startswith("\ufeff"):
                text = text[1:]  # a BOM is not part of the SQL; offsets count from after it
            if "{{" in text or "{%" in text or "{#" in text:   # dbt.refs.has_jinja, without importing jinja2
                yield from _model_items(text, shown)
                continue
            yield SqlText(text=text, source="file", object=shown, path=shown, line=1)


def _model_items(text: str, shown: str) -> Iterator[SourceItem]:
    """A dbt model read as ``check`` reads it: its ref()/source() calls through jinja2's parser, then
    one text per rendering of its ``{% if %}`` branches with the Jinja masked by same-length
    placeholders (so the engine's lines and columns are the file's). Jinja that does not parse is
    a problem naming why, never "no references"."""
    from deprecator.dbt.refs import scan_jinja

    scan = scan_jinja(text)
    if scan.error is not None or scan.masked is None:
        yield SourceProblem(DBT_MODEL, shown, scan.error or "the Jinja did not parse", line=scan.error_line)
        return
    yield ModelRefs(shown, shown, scan.refs)
    for variant in dict.fromkeys(scan.variants or (scan.masked,)):
        yield SqlText(text=variant, source=DBT_MODEL, object=shown, path=shown, line=1)
