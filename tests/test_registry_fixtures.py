"""Data-driven registry cases: tests/fixtures/registry/{invalid,valid}/*.yml.

Each file states what it expects in comments, so a new case is a new file:
  # expect: LINE FIELD TEXT          (invalid/: one line per problem, in order)
  # expect-target: MODEL TARGET      (valid/: the chain's final replacement)
  # dialect: NAME / # default_schema: NAME   (optional; postgres and none by default)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from deprecator.errors import RegistryError
from deprecator.registry import load_registry

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registry"


def directives(path: Path, name: str) -> list[str]:
    prefix = f"# {name}:"
    return [ln[len(prefix):].strip() for ln in path.read_text().splitlines() if ln.startswith(prefix)]


def load(path: Path):
    dialect = (directives(path, "dialect") or ["postgres"])[0]
    schema = tuple(directives(path, "default_schema"))
    return load_registry(path, dialect, schema)


@pytest.mark.parametrize("path", sorted((FIXTURES / "invalid").glob("*.yml")), ids=lambda p: p.stem)
def test_invalid_registry(path):
    expected = [e.split(" ", 2) for e in directives(path, "expect")]
    assert expected, f"{path} has no `# expect:` line"
    with pytest.raises(RegistryError) as e:
        load(path)
    got = e.value.problems
    assert len(got) == len(expected), [str(p) for p in got]
    for problem, (line, field, text) in zip(got, expected):
        assert (problem.path, problem.line, problem.field) == (str(path), int(line), field), str(problem)
        assert str(problem).startswith(f"{path}:{line}: {field}: ") and text in str(problem), str(problem)


@pytest.mark.parametrize("path", sorted((FIXTURES / "valid").glob("*.yml")), ids=lambda p: p.stem)
def test_valid_registry(path):
    reg = load(path)
    targets = {d.model: d.target for d in reg.deprecations}
    for line in directives(path, "expect-target"):
        model, target = line.split()
        assert targets[model] == target
    for d in reg.deprecations:
        assert d.stage(dt.date(2026, 1, 1)) in ("announced", "deprecated", "sunset passed")
