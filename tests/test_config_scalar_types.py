"""Fields of deprecator.yml that are names or paths refuse a YAML number, boolean or date (``default_schema:
5`` would silently become the schema "5"): a file:line:field error that says to quote it."""

from __future__ import annotations

import pytest

from deprecator.config import load_config
from deprecator.errors import ConfigError


@pytest.mark.parametrize("text, line, field, got", [
    ("warehouse:\n  default_schema: 5\n", 2, "warehouse.default_schema", "a number"),
    ("warehouse:\n  default_schema: [analytics, 5]\n", 2, "warehouse.default_schema[1]", "a number"),
    ("warehouse:\n  default_schema:\n    - analytics\n    - true\n", 4, "warehouse.default_schema[1]", "a boolean"),
    ("warehouse:\n  default_catalog: 2024\n", 2, "warehouse.default_catalog", "a number"),
    ("warehouse:\n  dialect: 7\n", 2, "warehouse.dialect", "a number"),
    ("warehouse:\n  url: 1.5\n", 2, "warehouse.url", "a number"),
    ("registry: 12\n", 1, "registry", "a number"),
    ("history:\n  - type: file\n    path: 2026-11-01\n", 3, "history[0].path", "a date"),
    ("history:\n  - type: 3\n", 2, "history[0].type", "a number"),
    ("paths:\n  - models\n  - 42\n", 3, "paths[1]", "a number"),
    ("paths: false\n", 1, "paths", "a boolean"),
    ("state: 0\n", 1, "state", "a number"),
    ("dbt:\n  manifest: 1\n", 2, "dbt.manifest", "a number"),
])
def test_names_and_paths_refuse_numbers_booleans_and_dates(tmp_path, text, line, field, got):
    p = tmp_path / "deprecator.yml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    err = e.value
    assert (err.line, err.field) == (line, field), str(err)
    assert got in str(err) and str(p) in str(err), str(err)


def test_quoted_numbers_are_names(tmp_path):
    p = tmp_path / "deprecator.yml"
    p.write_text('warehouse:\n  default_schema: "5"\n  default_catalog: "2024"\npaths: ["42"]\n')
    cfg = load_config(p)
    assert cfg.warehouse.default_schema == ("5",) and cfg.warehouse.default_catalog == "2024"
    assert cfg.sql_paths == (str(tmp_path / "42"),)
