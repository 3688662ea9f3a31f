"""deprecator.yml -> PostgreSQL adapter wiring, end to end through the CLI.

dbt manifest (`dbt: manifest:`), apply lock settings (`warehouse: lock_*`),
and the AST vs pg_depend cross-check shown by `deprecator plan`.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from deprecator.config import load_config
from deprecator.errors import ConfigError
from deprecator.warehouse import connect
from tests.helpers import invoke
from tests.pg_cluster import run_sql

MANIFEST = Path(__file__).parent.parent / "data" / "pg" / "dbt_manifest_v12.json"

REGISTRY = """deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
"""


def _project(folder: Path, url: str, extra: str = "") -> Path:
    (folder / "deprecations.yml").write_text(REGISTRY)
    (folder / "deprecator.yml").write_text(textwrap.dedent(f"""\
        warehouse:
          url: {url}
          default_schema: analytics
        registry: deprecations.yml
        state:
          url: sqlite:///.deprecator/state.db
        """) + textwrap.dedent(extra))
    return folder


def _warehouse(url: str, *extra: str) -> None:
    run_sql(url,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (id int, name text)",
            "CREATE TABLE analytics.entity_customers (id int, name text)",
            "INSERT INTO analytics.customer_facts VALUES (1, 'a')",
            "CREATE VIEW analytics.hand_made AS SELECT id, name FROM analytics.customer_facts",
            *extra)


@pytest.mark.postgres
def test_plan_reports_dbt_managed_views_from_the_configured_manifest(pg_db, in_tmp):
    _warehouse(pg_db, "CREATE VIEW analytics.stg_customers AS SELECT id FROM analytics.customer_facts")
    (in_tmp / "dbt" / "target").mkdir(parents=True)
    (in_tmp / "dbt" / "target" / "manifest.json").write_text(
        MANIFEST.read_text().replace("DBNAME", make_url(pg_db).database))
    # the manifest path is relative to the folder of deprecator.yml, not the working directory
    proj = in_tmp / "dbt"
    _project(proj, pg_db, "dbt:\n  manifest: target/manifest.json\n")
    cfg = str(proj / "deprecator.yml")

    out = invoke(["--config", cfg, "plan"]).stdout
    assert "! analytics.stg_customers: blocked" in out
    assert "managed by dbt: a change in the warehouse would be overwritten on its next run" in out
    assert "change the model in dbt instead" in out
    assert "~ analytics.hand_made: rewrite" in out

    data = json.loads(invoke(["--config", cfg, "plan", "--format", "json"]).stdout)
    by = {v["name"]: v for v in data["views"]}
    assert by["analytics.stg_customers"]["action"] == "blocked"
    assert by["analytics.stg_customers"]["blockers"][0]["reason"].startswith("managed by dbt")
    assert by["analytics.hand_made"]["action"] == "rewrite"

    # without the dbt section the same view would be rewritten
    (proj / "deprecator.yml").write_text((proj / "deprecator.yml").read_text().replace("dbt:", "#dbt:")
                                         .replace("  manifest:", "#  manifest:"))
    data = json.loads(invoke(["--config", cfg, "plan", "--format", "json"]).stdout)
    assert {v["name"]: v["action"] for v in data["views"]}["analytics.stg_customers"] == "rewrite"


def test_dbt_section_is_validated(tmp_path):
    proj = _project(tmp_path, "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
                    "dbt:\n  manifest: target/manifest.json\n")
    cfg = load_config(proj / "deprecator.yml")
    assert cfg.dbt.manifest == (tmp_path / "target" / "manifest.json").resolve()
    assert cfg.dbt.line == 8
    # a configured manifest that is missing names deprecator.yml, the line and the field
    with pytest.raises(ConfigError) as ei:
        connect(cfg)
    assert "deprecator.yml:8" in str(ei.value) and "dbt.manifest" in str(ei.value)
    assert "dbt parse" in (ei.value.hint or "")

    (proj / "deprecator.yml").write_text((proj / "deprecator.yml").read_text().replace("manifest:", "manifets:"))
    with pytest.raises(ConfigError) as ei:
        load_config(proj / "deprecator.yml")
    assert ei.value.field == "dbt.manifets" and ei.value.line == 8 and "manifest" in (ei.value.hint or "")
    (proj / "deprecator.yml").write_text(REGISTRY.replace("deprecations:", "registry: deprecations.yml\ndbt:")
                                         .replace("  - model", "  manifest:\n  - model"))
    with pytest.raises(ConfigError, match="expected"):
        load_config(proj / "deprecator.yml")


# -- lock settings ------------------------------------------------------------------

@pytest.mark.parametrize("text, ms, retries, backoff", [
    ("lock_timeout: 2s\n  lock_retries: 3\n  lock_backoff: 0.5s", 2000, 3, 0.5),
    ("lock_timeout: 150ms\n  lock_retries: 0\n  lock_backoff: 250ms", 150, 0, 0.25),
    ("lock_timeout: 1min", 60000, None, None),
    ('lock_timeout: "${LOCK_T:-2500ms}"', 2500, None, None),
])
def test_lock_settings_are_read(tmp_path, text, ms, retries, backoff):
    (tmp_path / "deprecator.yml").write_text(f"warehouse:\n  url: postgresql://h/db\n  {text}\n")
    wh = load_config(tmp_path / "deprecator.yml").warehouse
    assert (wh.lock_timeout_ms, wh.lock_retries, wh.lock_backoff_s) == (ms, retries, backoff)


@pytest.mark.parametrize("text, field, message", [
    ("lock_timeout: 2", "warehouse.lock_timeout", "with a unit"),
    ("lock_timeout: 0ms", "warehouse.lock_timeout", "too short"),
    ("lock_timeout: soon", "warehouse.lock_timeout", "with a unit"),
    ("lock_timeout: [1]", "warehouse.lock_timeout", "expected a duration"),
    ("lock_retries: -1", "warehouse.lock_retries", "whole number"),
    ("lock_retries: 2.5", "warehouse.lock_retries", "whole number"),
    ("lock_retries: yes", "warehouse.lock_retries", "whole number"),
    ("lock_backoff: 5 hours", "warehouse.lock_backoff", "with a unit"),
    ("lock_timeut: 2s", "warehouse.lock_timeut", "unknown key"),
])
def test_bad_lock_settings_name_file_line_and_field(tmp_path, text, field, message):
    p = tmp_path / "deprecator.yml"
    p.write_text(f"warehouse:\n  url: postgresql://h/db\n  {text}\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert ei.value.field == field and ei.value.line == 3 and message in ei.value.message, str(ei.value)
    assert str(p.resolve()) in str(ei.value)


def test_lock_settings_on_an_adapter_without_them_are_an_error(tmp_path):
    p = tmp_path / "deprecator.yml"
    p.write_text("warehouse:\n  url: sqlite:///wh.db\n  lock_timeout: 2s\n")
    with pytest.raises(ConfigError, match="no apply lock settings") as ei:
        connect(load_config(p))
    assert ei.value.field == "warehouse.lock_timeout"


@pytest.mark.postgres
def test_configured_lock_settings_reach_the_adapter(pg_db, tmp_path):
    _project(tmp_path, pg_db, "")
    p = tmp_path / "deprecator.yml"
    p.write_text(p.read_text().replace("  default_schema: analytics\n",
                                       "  default_schema: analytics\n  lock_timeout: 300ms\n"
                                       "  lock_retries: 1\n  lock_backoff: 0.2s\n"))
    wh = connect(load_config(p))
    try:
        s = wh.apply_settings
        assert (s.lock_timeout_ms, s.retries, s.backoff_s) == (300, 1, 0.2)
    finally:
        wh.close()
    p.write_text(p.read_text().replace("  lock_timeout: 300ms\n  lock_retries: 1\n  lock_backoff: 0.2s\n", ""))
    wh = connect(load_config(p))
    try:  # unset: the adapter's defaults
        s = wh.apply_settings
        assert (s.lock_timeout_ms, s.retries, s.backoff_s) == (2000, 3, 0.5)
    finally:
        wh.close()


@pytest.mark.postgres
def test_apply_uses_the_configured_lock_timeout_and_retries(pg_db, in_tmp):
    _warehouse(pg_db)
    _project(in_tmp, pg_db, "")
    p = in_tmp / "deprecator.yml"
    p.write_text(p.read_text().replace("  default_schema: analytics\n",
                                       "  default_schema: analytics\n  lock_timeout: 150ms\n"
                                       "  lock_retries: 1\n  lock_backoff: 100ms\n"))
    eng = sa.create_engine(pg_db)
    reader = eng.connect()
    try:
        reader.begin()
        reader.exec_driver_sql("SELECT * FROM analytics.hand_made").all()     # holds AccessShareLock
        t0 = time.monotonic()
        res = invoke(["apply", "--auto-approve"], 2)
        elapsed = time.monotonic() - t0
        reader.rollback()
    finally:
        reader.close()
        eng.dispose()
    err = res.stderr
    # exactly the configured timeout and retries (1 retry = 2 attempts), the statement that waited named
    assert "gave up after 2 attempts" in err, err
    assert "waited longer than the lock timeout (150 ms)" in err, err
    assert "hand_made" in err
    assert 0.4 <= elapsed < 20   # 2 x 150 ms + 100 ms backoff, plus planning on a loaded machine
    # nothing changed, and with the reader gone the same command goes through
    out = invoke(["apply", "--auto-approve"]).stdout
    assert "Applied: 1 view rewritten" in out


# -- cross-check --------------------------------------------------------------------

@pytest.mark.postgres
def test_plan_shows_where_the_ast_and_pg_depend_disagree(pg_db, in_tmp):
    _warehouse(pg_db,
               "CREATE TABLE analytics.other (id int)",
               # pg_depend records that this view depends on the deprecated table; the AST sees a string constant
               "CREATE VIEW analytics.sneaky AS SELECT 'analytics.customer_facts'::regclass AS r, id FROM analytics.other")
    _project(in_tmp, pg_db, "")

    out = invoke(["plan"]).stdout
    assert "~ analytics.hand_made: rewrite" in out
    assert "analytics.sneaky:" not in out.split("warning:")[0]        # not a plan entry: the AST sees no use
    assert "disagree about 1 reference" in out
    assert ("warning: analytics.sneaky: pg_depend records that it reads analytics.customer_facts, "
            "the AST engine finds no reference") in out

    data = json.loads(invoke(["plan", "--format", "json"]).stdout)
    assert data["cross_check"] == [{"view": "analytics.sneaky", "relation": "analytics.customer_facts",
                                    "only_in": "pg_depend",
                                    "detail": "pg_depend records a dependency the AST engine did not find"}]
    assert [v["name"] for v in data["views"]] == ["analytics.hand_made"]

    # apply without a saved plan shows the same warning (on stderr) before it asks
    res = invoke(["apply"], 2, input="n\n")
    assert "warning: analytics.sneaky: pg_depend records that it reads analytics.customer_facts" in res.stderr
    assert "apply cancelled" in res.stderr

    # agreement: no warning, an empty list
    run_sql(pg_db, "DROP VIEW analytics.sneaky")
    assert "warning" not in invoke(["plan"]).stdout
    assert json.loads(invoke(["plan", "--format", "json"]).stdout)["cross_check"] == []


def test_the_documented_configuration_loads(tmp_path, monkeypatch):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "postgresql.md").read_text(encoding="utf-8")
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "deprecator.yml").write_text(example)
    monkeypatch.setenv("DEPRECATOR_WAREHOUSE_URL", "postgresql+psycopg2://scanner@db:5432/warehouse")
    cfg = load_config(tmp_path / "deprecator.yml")
    wh = cfg.warehouse
    assert (wh.lock_timeout_ms, wh.lock_retries, wh.lock_backoff_s) == (2000, 3, 0.5)
    assert cfg.dbt.manifest == (tmp_path / "target" / "manifest.json").resolve()


def test_the_init_template_documents_the_settings(in_tmp):
    invoke(["init", "--dialect", "postgres"])
    text = (in_tmp / "deprecator.yml").read_text()
    assert "# lock_timeout: 2s" in text and "#   manifest: target/manifest.json" in text
    # uncommented as written, they load
    text = (text.replace("url: ${DEPRECATOR_WAREHOUSE_URL}", "url: postgresql://h/db")
            .replace("  # lock_timeout: 2s", "  lock_timeout: 2s").replace("  # lock_retries: 3", "  lock_retries: 3")
            .replace("  # lock_backoff: 0.5s", "  lock_backoff: 0.5s")
            .replace("# dbt:\n#   manifest:", "dbt:\n  manifest:"))
    (in_tmp / "deprecator.yml").write_text(text)
    cfg = load_config(in_tmp / "deprecator.yml")
    assert (cfg.warehouse.lock_timeout_ms, cfg.warehouse.lock_retries, cfg.warehouse.lock_backoff_s) == (2000, 3, 0.5)
    assert cfg.dbt.manifest == (in_tmp / "target" / "manifest.json").resolve()


def test_an_unset_lock_variable_only_matters_to_commands_that_connect(tmp_path, monkeypatch):
    monkeypatch.delenv("DEP_LOCK_T", raising=False)
    p = tmp_path / "deprecator.yml"
    p.write_text("warehouse:\n  url: postgresql://h/db\n  lock_timeout: ${DEP_LOCK_T}\n")
    assert load_config(p, require_env=False).warehouse.lock_timeout_ms is None
    with pytest.raises(ConfigError, match="DEP_LOCK_T") as ei:
        load_config(p)
    assert ei.value.line == 3 and ei.value.field == "warehouse.lock_timeout"


@pytest.mark.postgres
def test_plan_warns_about_view_rules_that_read_a_deprecated_relation(pg_db, in_tmp):
    """A rule's SQL is not the view's query: apply keeps it as it is, so the plan says so, per rule."""
    _warehouse(pg_db,
               "CREATE TABLE analytics.other (id int)",
               "CREATE VIEW analytics.inbox AS SELECT id FROM analytics.other",
               'CREATE RULE "to facts" AS ON INSERT TO analytics.inbox DO INSTEAD '
               "INSERT INTO analytics.customer_facts (id) VALUES (new.id)",
               # a rule on a view the plan rewrites: pg_depend's edge for the query hides it unless split by rule
               "CREATE RULE upd AS ON UPDATE TO analytics.hand_made DO INSTEAD "
               "UPDATE analytics.customer_facts SET name = new.name WHERE id = old.id",
               "CREATE RULE harmless AS ON DELETE TO analytics.hand_made DO INSTEAD NOTHING")
    _project(in_tmp, pg_db, "")

    out = invoke(["plan"]).stdout
    assert "~ analytics.hand_made: rewrite" in out
    assert "disagree" not in out
    assert "warning: 2 view rules read a deprecated relation and will not be rewritten:" in out
    assert ('warning: analytics.hand_made: its rule "upd" reads analytics.customer_facts; apply rewrites only '
            "the view's query and restores rules as they are") in out
    assert 'warning: analytics.inbox: its rule "to facts" reads analytics.customer_facts' in out
    assert "harmless" not in out

    data = json.loads(invoke(["plan", "--format", "json"]).stdout)
    assert sorted((c["view"], c["only_in"], c["detail"]) for c in data["cross_check"]) == [
        ("analytics.hand_made", "rule", "upd"), ("analytics.inbox", "rule", "to facts")]
