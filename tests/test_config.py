"""deprecator.yml: sections, ${ENV} interpolation, unknown keys, relative paths, masking."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deprecator.config import (
    SCHEME_DIALECTS,
    Config,
    HistorySourceConfig,
    default_config,
    infer_dialect,
    interpolate,
    known_dialects,
    load_config,
    load_config_or_default,
)
from deprecator.errors import ConfigError


def write(folder: Path, text: str, name: str = "deprecator.yml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        load_config(path)
    return e.value


ISSUE_EXAMPLE = """
warehouse:
  url: ${DEPRECATOR_WAREHOUSE_URL}   # SQLAlchemy URL; optional when only files are scanned
  dialect: postgres                  # sqlglot dialect; inferred from the URL when omitted
  default_schema: analytics          # schema (or search path list) for unqualified names
  default_catalog: prod              # database / project for three-part names (Snowflake, BigQuery); optional
registry: deprecations.yml
history:
  - type: file
    path: exports/query_history.jsonl   # or .csv
state:
  url: sqlite:///.deprecator/state.db
"""


def test_issue_example(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_WAREHOUSE_URL", "postgresql+psycopg2://etl:pw1234@db.internal:5432/dw")
    p = write(tmp_path / "proj", ISSUE_EXAMPLE)
    monkeypatch.chdir(tmp_path)  # relative paths must not depend on the working directory
    cfg = load_config(p)
    root = (tmp_path / "proj").resolve()
    assert cfg.path == p.resolve() and cfg.root == root
    assert cfg.warehouse.url == "postgresql+psycopg2://etl:pw1234@db.internal:5432/dw"
    assert cfg.warehouse.dialect == "postgres" and cfg.dialect == "postgres"
    assert cfg.warehouse.default_schema == ("analytics",)
    assert cfg.warehouse.default_catalog == "prod"
    assert cfg.registry_path == root / "deprecations.yml"
    assert cfg.history == (HistorySourceConfig("file", root / "exports" / "query_history.jsonl", {}, line=8),)
    assert cfg.state_url == f"sqlite:///{root}/.deprecator/state.db"
    assert cfg.sql_paths == () and cfg.extra == {}


def test_empty_file_gives_defaults(tmp_path):
    p = write(tmp_path, "# nothing yet\n")
    cfg = load_config(p)
    assert cfg.warehouse.url is None and cfg.warehouse.dialect is None and cfg.dialect == "postgres"
    assert cfg.registry_path == tmp_path.resolve() / "deprecations.yml"
    assert cfg.state_url == f"sqlite:///{tmp_path.resolve()}/.deprecator/state.db"


def test_missing_file_and_defaults(tmp_path):
    e = error(tmp_path / "deprecator.yml")
    assert "config file not found" in str(e) and "deprecator init" in str(e)
    d = default_config(tmp_path)
    assert isinstance(d, Config) and d.path is None and d.root == tmp_path.resolve()
    assert d.registry_path == tmp_path.resolve() / "deprecations.yml"
    assert load_config_or_default(tmp_path / "deprecator.yml", explicit=False) == default_config(tmp_path)
    with pytest.raises(ConfigError):
        load_config_or_default(tmp_path / "deprecator.yml", explicit=True)


# ---------------------------------------------------------------- interpolation

def test_interpolation_forms(monkeypatch):
    monkeypatch.setenv("DPR_A", "alpha")
    monkeypatch.setenv("DPR_EMPTY", "")
    monkeypatch.delenv("DPR_MISSING", raising=False)
    assert interpolate("x-${DPR_A}-y") == "x-alpha-y"
    assert interpolate("${DPR_MISSING:-fallback}") == "fallback"
    assert interpolate("${DPR_EMPTY:-fallback}") == "fallback"
    assert interpolate("${DPR_A:-fallback}") == "alpha"
    assert interpolate("${DPR_MISSING:-}") == ""
    assert interpolate("cost $$5 and ${DPR_A}") == "cost $5 and alpha"
    assert interpolate("plain $HOME stays") == "plain $HOME stays"
    with pytest.raises(ConfigError, match="malformed variable reference"):
        interpolate("${not a name}")


def test_missing_variable_names_the_variable_file_and_line(tmp_path, monkeypatch):
    monkeypatch.delenv("DPR_NOT_SET", raising=False)
    p = write(tmp_path, """
        warehouse:
          dialect: snowflake
          url: ${DPR_NOT_SET}
    """)
    e = error(p)
    assert str(e).startswith(f"{p.resolve()}:3: warehouse.url: environment variable DPR_NOT_SET is not set")
    assert "${DPR_NOT_SET:-default}" in str(e)


def test_interpolation_everywhere_including_reserved_sections(tmp_path, monkeypatch):
    monkeypatch.setenv("DPR_SCHEMA", "mart")
    monkeypatch.setenv("DPR_SLACK_TOKEN", "xoxb-secret-token-value")
    p = write(tmp_path, """
        warehouse:
          url: ${DPR_URL:-duckdb:///wh.duckdb}
          default_schema: ["${DPR_SCHEMA}", public]
        paths: [models/, "sql/**/*.sql", /abs/x.sql]
        slack:
          token: ${DPR_SLACK_TOKEN}
          fallback_channel: "#data"
        owners:
          email_domain: ${DPR_DOMAIN:-corp.example}
        dbt:
          manifest: target/manifest.json
        notify: {dry_run: true}
        check: {fail_on: new}
    """)
    cfg = load_config(p)
    root = tmp_path.resolve()
    assert cfg.warehouse.url == f"duckdb:///{root}/wh.duckdb"
    assert cfg.warehouse.dialect == "duckdb"
    assert cfg.warehouse.default_schema == ("mart", "public")
    assert cfg.sql_paths == (str(root / "models/"), str(root / "sql/**/*.sql"), "/abs/x.sql")
    assert cfg.extra == {
        "dbt": {"manifest": "target/manifest.json"},
        "notify": {"dry_run": True},
        "check": {"fail_on": "new"},
    }
    assert cfg.slack.token == "xoxb-secret-token-value" and cfg.slack.fallback_channel == "#data"
    assert cfg.owners.email_domain == "corp.example"
    assert "xoxb-secret-token-value" not in repr(cfg)


def test_search_path_as_a_string(tmp_path):
    p = write(tmp_path, "warehouse:\n  default_schema: analytics, public\n")
    assert load_config(p).warehouse.default_schema == ("analytics", "public")


# ---------------------------------------------------------------- unknown keys and wrong shapes

def test_unknown_top_level_key_names_key_file_and_line(tmp_path):
    p = write(tmp_path, """
        registry: deprecations.yml
        warehose:
          url: sqlite:///x.db
    """)
    e = error(p)
    assert (e.path, e.line, e.field) == (str(p.resolve()), 2, "warehose")
    assert "unknown key `warehose`" in str(e) and "did you mean `warehouse`" in str(e)


def test_unknown_section_key(tmp_path):
    p = write(tmp_path, """
        warehouse:
          url: sqlite:///x.db
          schema: main
    """)
    e = error(p)
    assert (e.line, e.field) == (3, "warehouse.schema") and "unknown key `schema`" in str(e)


@pytest.mark.parametrize("text, line, field, words", [
    ("warehouse: sqlite:///x.db\n", 1, "warehouse", "expected a mapping"),
    ("history:\n  type: file\n", 2, "history", "expected a list"),
    ("history:\n  - path: x.jsonl\n", 2, "history[0].type", "missing `type`"),
    ("history:\n  - type: file\n", 2, "history[0].path", "needs `path:`"),
    ("history:\n  - type: csvfile\n    path: x.csv\n", 2, "history[0].type", "unknown history source type"),
    ("paths: {a: b}\n", 1, "paths", "expected a list"),
    ("state:\n  uri: sqlite:///x\n", 2, "state.uri", "did you mean `url`"),
    ("warehouse:\n  dialect: postgress\n", 2, "warehouse.dialect", "did you mean `postgres`"),
    ("warehouse:\n  url: [a]\n", 2, "warehouse.url", "expected text"),
    ("- a\n- b\n", 1, None, "expected a mapping of sections"),
    ("warehouse:\n  own_roles: {a: b}\n", 2, "warehouse.own_roles", "expected a role name"),
    ("warehouse:\n  own_roles:\n    - deprecator_apply\n    - 3\n", 4, "warehouse.own_roles[1]", "expected a role name"),
    ("warehouse:\n  own_roles: ['  ']\n", 2, "warehouse.own_roles[0]", "empty role name"),
])
def test_wrong_shapes(tmp_path, text, line, field, words):
    p = write(tmp_path, text)
    e = error(p)
    assert (e.line, e.field) == (line, field), str(e)
    assert words in str(e) and str(p.resolve()) in str(e)


def test_own_roles_are_a_name_or_a_list_of_names(tmp_path, monkeypatch):
    monkeypatch.setenv("APPLY_ROLE", "deprecator_apply")
    cfg = load_config(write(tmp_path, "warehouse:\n  own_roles:\n    - ${APPLY_ROLE}\n    - Deprecator Scan\n"))
    assert cfg.warehouse.own_roles == ("deprecator_apply", "Deprecator Scan")   # as pg_roles spells them
    assert load_config(write(tmp_path, "warehouse:\n  own_roles: deprecator_apply\n")).warehouse.own_roles == (
        "deprecator_apply",)
    assert load_config(write(tmp_path, "warehouse: {}\n")).warehouse.own_roles == ()


def test_history_sources_keep_their_options(tmp_path):
    p = write(tmp_path, """
        history:
          - type: pg_stat_statements
            min_calls: 2
            exclude_users: [replicator]
          - type: sql
            query: select query_text, user_name, start_time from audit.queries where start_time > now() - interval '30 days'
          - type: file
            path: exports/h.csv
            delimiter: ";"
    """)
    h = load_config(p).history
    assert [s.type for s in h] == ["pg_stat_statements", "sql", "file"]
    assert h[0].options == {"min_calls": 2, "exclude_users": ["replicator"]} and h[0].path is None
    assert h[1].options["query"].startswith("select query_text")
    assert h[2].path == tmp_path.resolve() / "exports" / "h.csv" and h[2].options == {"delimiter": ";"}


# ---------------------------------------------------------------- dialects and URLs

@pytest.mark.parametrize("url, dialect", [
    ("postgresql://u@h/db", "postgres"),
    ("postgresql+psycopg2://u@h/db", "postgres"),
    ("snowflake://u@acct/db/schema", "snowflake"),
    ("bigquery://project/dataset", "bigquery"),
    ("redshift+psycopg2://u@h:5439/db", "redshift"),
    ("duckdb:///x.duckdb", "duckdb"),
    ("sqlite:///x.db", "sqlite"),
    ("mysql+pymysql://u@h/db", "mysql"),
    ("mariadb://u@h/db", "mysql"),
    ("gopher://u@h/db", None),
])
def test_infer_dialect(url, dialect):
    assert infer_dialect(url) == dialect


def test_known_dialects_are_the_pinned_sqlglots():
    """The dialect names are written out (so `init` needs no sqlglot): they must stay sqlglot's."""
    from sqlglot.dialects.dialect import Dialects

    assert known_dialects() == tuple(sorted(d.value for d in Dialects if d.value))
    assert set(SCHEME_DIALECTS.values()) <= set(known_dialects())


def test_dialect_is_inferred_from_the_url_when_omitted(tmp_path):
    p = write(tmp_path, "warehouse:\n  url: snowflake://me@acct/db\n")
    assert load_config(p).dialect == "snowflake"


def test_explicit_dialect_wins_and_aliases(tmp_path):
    p = write(tmp_path, "warehouse:\n  url: postgresql://u@h/db\n  dialect: Redshift\n")
    assert load_config(p).dialect == "redshift"
    p = write(tmp_path, "warehouse:\n  dialect: postgresql\n")
    assert load_config(p).dialect == "postgres"


def test_uninferable_url_masks_the_password(tmp_path):
    p = write(tmp_path, "warehouse:\n  url: gopher://admin:hunter2hunter2@h/db\n")
    e = error(p)
    assert "hunter2hunter2" not in str(e)
    assert "gopher://admin:***@h/db" in str(e)
    assert (e.line, e.field) == (2, "warehouse.url") and "set warehouse.dialect" in str(e)


def test_secret_from_the_environment_never_appears_in_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_WAREHOUSE_URL", "gopher://etl:S3cr3tPassw0rd@warehouse/dw")
    p = write(tmp_path, "warehouse:\n  url: ${DEPRECATOR_WAREHOUSE_URL}\n")
    e = error(p)
    assert "S3cr3tPassw0rd" not in str(e) and "***" in str(e)
    monkeypatch.setenv("DPR_DIALECT_TOKEN", "very-secret-dialect")
    p = write(tmp_path, "warehouse:\n  dialect: ${DPR_DIALECT_TOKEN}\n")
    assert "very-secret-dialect" not in str(error(p))


def test_relative_sqlite_urls_resolve_from_the_config_folder(tmp_path, monkeypatch):
    p = write(tmp_path / "a" / "b", """
        warehouse:
          url: sqlite:///warehouse.db
        state:
          url: sqlite:///../state.db?timeout=5
    """)
    monkeypatch.chdir(tmp_path)
    cfg = load_config(p)
    folder = (tmp_path / "a" / "b").resolve()
    assert cfg.warehouse.url == f"sqlite:///{folder}/warehouse.db"
    assert cfg.state_url == f"sqlite:///{folder.parent}/state.db?timeout=5"
    assert cfg.warehouse.dialect == "sqlite"
    for url in ("sqlite:////abs/x.db", "sqlite://", "sqlite:///:memory:", "postgresql://u@h/db"):
        p.write_text(f"state:\n  url: '{url}'\n")
        assert load_config(p).state_url == url


def test_registry_as_a_mapping_and_load_registry(tmp_path):
    write(tmp_path / "reg", "deprecations:\n  - {model: a.b, replacement: a.c, sunset: 2027-01-01}\n",
          name="deps.yml")
    p = write(tmp_path, "registry:\n  path: reg/deps.yml\nwarehouse:\n  dialect: snowflake\n")
    cfg = load_config(p)
    assert cfg.registry_path == tmp_path.resolve() / "reg" / "deps.yml"
    reg = cfg.load_registry()
    assert reg.dialect == "snowflake" and str(reg.rewrite_rules()[0].old) == "A.B"


def test_commands_that_never_connect_can_skip_unset_secrets(tmp_path, monkeypatch):
    for v in ("DPR_URL_UNSET", "DPR_TOKEN_UNSET", "DPR_PG_UNSET", "DPR_REG_UNSET"):
        monkeypatch.delenv(v, raising=False)
    p = write(tmp_path, """
        warehouse:
          url: ${DPR_URL_UNSET}
          dialect: snowflake
        history:
          - type: sql
            url: ${DPR_PG_UNSET}
            query: select 1
        slack:
          token: ${DPR_TOKEN_UNSET}
          fallback_channel: "#data"
    """)
    e = error(p)
    assert (e.line, e.field) == (2, "warehouse.url") and "DPR_URL_UNSET" in str(e)
    cfg = load_config(p, require_env=False)
    assert cfg.warehouse.url is None and cfg.dialect == "snowflake"
    assert cfg.history[0].options == {"url": None, "query": "select 1"}
    assert cfg.extra == {} and cfg.slack.token is None and cfg.slack.fallback_channel == "#data"
    with pytest.raises(ConfigError, match="DPR_TOKEN_UNSET is not set"):
        cfg.slack.require_token()
    # What every command needs is still required.
    p = write(tmp_path, "registry: ${DPR_REG_UNSET}/deprecations.yml\n")
    with pytest.raises(ConfigError, match="DPR_REG_UNSET is not set"):
        load_config(p, require_env=False)


@pytest.mark.parametrize("dialect, schema", [
    ("postgres", ("public",)), ("snowflake", ("PUBLIC",)), ("bigquery", ()), ("duckdb", ("main",)),
    ("sqlite", ("main",)), ("mysql", ()), ("tsql", ()),
])
def test_scaffolded_config_loads_for_each_dialect(tmp_path, monkeypatch, dialect, schema):
    from deprecator.config import init_project

    monkeypatch.setenv("DEPRECATOR_WAREHOUSE_URL", "postgresql://u@h/db")
    cfg_path, reg_path = init_project(tmp_path / "deprecator.yml", dialect=dialect).written
    cfg = load_config(cfg_path)
    assert cfg.dialect == dialect and cfg.warehouse.default_schema == schema
    assert cfg.registry_path == reg_path.resolve() and len(cfg.load_registry()) == 0
    assert cfg.history == () and cfg.sql_paths == ()


def test_repr_never_shows_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("DPR_PGPASSWORD", "pg-Secret-123")
    monkeypatch.setenv("DPR_SLACK_TOKEN", "xoxb-Secret-456")
    p = write(tmp_path, """
        warehouse:
          url: postgresql://etl:${DPR_PGPASSWORD}@db/dw
        history:
          - type: sql
            url: postgresql://reader:inline-Pass-789@db/dw
            query: select 1
        slack:
          token: ${DPR_SLACK_TOKEN}
    """)
    cfg = load_config(p)
    assert cfg.warehouse.url == "postgresql://etl:pg-Secret-123@db/dw"  # the value itself is usable
    text = repr(cfg) + str(cfg) + repr(cfg.warehouse) + repr(cfg.history[0])
    for secret in ("pg-Secret-123", "xoxb-Secret-456", "inline-Pass-789"):
        assert secret not in text
    assert "postgresql://etl:***@db/dw" in repr(cfg.warehouse)


def test_home_relative_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    p = write(tmp_path / "proj", "registry: ~/reg.yml\npaths: [~/sql]\nhistory:\n  - {type: file, path: ~/h.csv}\n")
    cfg = load_config(p)
    home = tmp_path / "home"
    assert cfg.registry_path == home.resolve() / "reg.yml"
    assert cfg.sql_paths == (str(home / "sql"),) and cfg.history[0].path == home.resolve() / "h.csv"
