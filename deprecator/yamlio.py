"""YAML reading shared by config and registry: round-trip loading with line numbers.

ruamel's round-trip loader keeps the position of every key and item, so every
validation error can name the file, the line and the field.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from deprecator.errors import ConfigError


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that returns an impossible date (2027-02-30) as its text.

    The stock constructor raises ValueError with no position, which would stop
    the whole load; keeping the text lets validation report it with its line.
    """

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return str(self.construct_scalar(node))


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def make_yaml() -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    return y


def read_config_file(p: Path, what: str, missing_hint: str) -> str:
    """Read a YAML file deprecator is configured with; every failure is a ConfigError naming it."""
    if not p.exists():
        raise ConfigError(f"{what} file not found", path=str(p), hint=missing_hint)
    if p.is_dir():
        raise ConfigError(f"{what} path is a folder, expected a YAML file", path=str(p))
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=str(p)) from None
    except OSError as e:
        raise ConfigError(f"cannot read the {what}: {e.strerror}", path=str(p)) from None


def load_yaml_text(text: str, path: str) -> Any:
    """Parse YAML text; syntax errors become a ConfigError naming file and line."""
    try:
        return make_yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        what = e.problem or e.context or "invalid YAML"
        if e.context and e.problem and "duplicate key" in e.problem:
            what = e.problem
        raise ConfigError(f"invalid YAML: {what}", path=path, line=line) from None
    except YAMLError as e:  # pragma: no cover - unmarked errors are rare
        raise ConfigError(f"invalid YAML: {e}", path=path) from None


def key_line(node: Any, key: Any) -> int | None:
    """1-based line of ``key`` in a round-trip mapping (None when unknown)."""
    if isinstance(node, CommentedMap):
        try:
            return int(node.lc.key(key)[0]) + 1
        except (KeyError, TypeError, AttributeError):
            return node_line(node)
    return None


def value_line(node: Any, key: Any) -> int | None:
    if isinstance(node, CommentedMap):
        try:
            return int(node.lc.value(key)[0]) + 1
        except (KeyError, TypeError, AttributeError):
            return key_line(node, key)
    return None


def item_line(node: Any, index: int) -> int | None:
    if isinstance(node, CommentedSeq):
        try:
            return int(node.lc.item(index)[0]) + 1
        except (KeyError, TypeError, AttributeError, IndexError):
            return node_line(node)
    return None


def node_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return None
    return int(lc.line) + 1


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean`` hint for a misspelt key, or None."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return "a date"
    return type(value).__name__


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
