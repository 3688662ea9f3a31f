"""CLI: deprecator init / deprecate / list, through the one invoke helper."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.helpers import invoke

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = {"DEPRECATOR_WAREHOUSE_URL": "postgresql://etl@localhost/dw"}


def test_init_scaffolds_both_files_that_then_load(in_tmp):
    out = invoke(["init"]).stdout
    assert "Wrote deprecator.yml" in out and "Wrote deprecations.yml" in out
    assert "deprecator deprecate" in out and "DEPRECATOR_WAREHOUSE_URL" in out
    cfg_text = (in_tmp / "deprecator.yml").read_text()
    assert "url: ${DEPRECATOR_WAREHOUSE_URL}" in cfg_text and "dialect: postgres" in cfg_text
    assert (in_tmp / "deprecations.yml").read_text().rstrip().endswith("deprecations: []")
    # The scaffold is valid: list runs against it and finds nothing.
    out = invoke(["list"], env=URL_ENV).stdout
    assert "No deprecations in deprecations.yml" in out


def test_init_refuses_to_overwrite_without_force(in_tmp):
    invoke(["init"])
    (in_tmp / "deprecations.yml").write_text("deprecations: []  # mine\n")
    err = invoke(["init"], 2).stderr
    assert "already exist" in err and "--force" in err
    assert (in_tmp / "deprecations.yml").read_text() == "deprecations: []  # mine\n"
    invoke(["init", "--force", "--dialect", "snowflake"])
    assert "dialect: snowflake" in (in_tmp / "deprecator.yml").read_text()
    assert "# mine" not in (in_tmp / "deprecations.yml").read_text()


def test_init_keeps_an_existing_registry(in_tmp):
    (in_tmp / "deprecations.yml").write_text("deprecations:\n  - {model: a.b, replacement: a.c, sunset: 2027-01-01}\n")
    out = invoke(["init"]).stdout
    assert "Wrote deprecator.yml" in out and "Kept the existing deprecations.yml" in out
    assert "a.b" in invoke(["list"]).stdout
    data = json.loads(invoke(["init", "--force", "--format", "json"]).stdout)
    assert data == {"written": [str(in_tmp / "deprecator.yml"), str(in_tmp / "deprecations.yml")], "kept": []}
    assert "No deprecations" in invoke(["list"]).stdout


def test_init_rejects_an_unknown_dialect(in_tmp):
    err = invoke(["init", "--dialect", "postgress"], 2).stderr
    assert "unknown SQL dialect 'postgress'" in err and "did you mean `postgres`" in err
    assert not (in_tmp / "deprecator.yml").exists()


def test_init_next_to_an_explicit_config_path(in_tmp):
    out = invoke(["--config", "conf/deprecator.yml", "init", "--dialect", "bigquery"]).stdout
    assert "  3. deprecator --config conf/deprecator.yml list\n" in out   # the next steps keep the user's --config
    assert (in_tmp / "conf" / "deprecator.yml").exists() and (in_tmp / "conf" / "deprecations.yml").exists()
    assert "# default_schema:" in (in_tmp / "conf" / "deprecator.yml").read_text()


def test_deprecate_then_list_text_and_json(in_tmp):
    invoke(["init"])
    out = invoke([
        "deprecate", "analytics.customer_facts", "--replacement", "analytics.entity_customers",
        "--sunset", "2027-03-31", "--announced", "2026-12-01", "--reason", "Replaced by the entity model",
        "--owner", "analytics-engineering", "--contact", "#analytics-engineering",
        "--migration-guide", "migration_guides/customer_facts.md",
        "--column", "cust_id=customer_id", "--column", "nm = name", "--removed-column", "legacy_flag",
    ], env=URL_ENV).stdout
    assert "Registered analytics.customer_facts -> analytics.entity_customers, sunset 2027-03-31" in out
    assert "deprecations.yml:18" in out
    assert "Next: `deprecator list` to see every deprecation, `deprecator scan` to find who still uses it." in out
    added = json.loads(invoke(["deprecate", "analytics.old_customers", "--replacement", "analytics.customer_facts",
                               "--sunset", "2026-10-01", "--format", "json"], env=URL_ENV).stdout)
    assert added["added"]["model"] == "analytics.old_customers" and added["added"]["line"] == 30
    assert added["added"]["final_replacement"] == "analytics.entity_customers"

    out = invoke(["list", "--today", "2026-11-26"], env=URL_ENV).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["MODEL", "REPLACEMENT", "STAGE", "SUNSET", "DAYS", "LEFT", "OWNER"]
    assert lines[1].split() == ["analytics.customer_facts", "analytics.entity_customers", "announced",
                                "2027-03-31", "125", "analytics-engineering"]
    assert lines[2].split() == ["analytics.old_customers", "analytics.customer_facts", "->",
                                "analytics.entity_customers", "sunset", "passed", "2026-10-01", "-56", "-"]
    assert "2 deprecations in deprecations.yml (today 2026-11-26)" in out

    data = json.loads(invoke(["list", "--format", "json"], env={**URL_ENV, "DEPRECATOR_TODAY": "2027-01-01"}).stdout)
    assert data["today"] == "2027-01-01"
    first, second = data["deprecations"]
    assert first["stage"] == "deprecated" and first["days_to_sunset"] == 89
    assert first["columns"] == {"cust_id": "customer_id", "nm": "name"}
    assert first["removed_columns"] == ["legacy_flag"] and first["contact"] == "#analytics-engineering"
    assert second["final_replacement"] == "analytics.entity_customers"
    assert second["final_columns"] == {"cust_id": "customer_id", "nm": "name"}
    assert second["stage"] == "sunset passed" and second["days_to_sunset"] == -92


def test_deprecate_without_any_config_creates_the_registry(in_tmp):
    invoke(["deprecate", "customer_facts", "--replacement", "entity_customers", "--sunset", "2027-03-31"])
    assert (in_tmp / "deprecations.yml").read_text() == (
        "deprecations:\n  - model: customer_facts\n    replacement: entity_customers\n    sunset: 2027-03-31\n")
    assert "customer_facts" in invoke(["list"]).stdout


def test_deprecate_refuses_a_cycle_and_leaves_the_file(in_tmp):
    invoke(["deprecate", "analytics.a", "--replacement", "analytics.b", "--sunset", "2027-03-31"])
    before = (in_tmp / "deprecations.yml").read_text()
    err = invoke(["deprecate", "ANALYTICS.B", "--replacement", "analytics.a", "--sunset", "2027-03-31"], 2).stderr
    assert "deprecations.yml:2: replacement: replacement cycle: analytics.a -> ANALYTICS.B -> analytics.a" in err
    assert "was not changed" in err
    assert (in_tmp / "deprecations.yml").read_text() == before


@pytest.mark.parametrize("args, words", [
    (["--column", "cust_id"], "expected OLD=NEW"),
    (["--sunset", "2027-02-30"], "not a real date"),
])
def test_deprecate_bad_arguments(in_tmp, args, words):
    base = ["deprecate", "a.b", "--replacement", "a.c"]
    if "--sunset" not in args:
        base += ["--sunset", "2027-01-01"]
    err = invoke(base + args, 2).stderr
    assert words in err
    assert not (in_tmp / "deprecations.yml").exists()


def test_explicit_missing_config_is_an_error(in_tmp):
    err = invoke(["--config", "nope.yml", "list"], 2).stderr
    assert "nope.yml: config file not found" in err and "deprecator init" in err


def test_list_without_a_registry_says_init(in_tmp):
    err = invoke(["list"], 2).stderr
    assert "registry file not found" in err and "deprecator init" in err


def test_list_reports_every_registry_problem(in_tmp):
    (in_tmp / "deprecations.yml").write_text(textwrap.dedent("""\
        deprecations:
          - model: a.b
            replacement: a.b
            sunset: 2027-01-01
          - model: a.c
            replacement: a.d
            sunset: soon
    """))
    err = invoke(["list"], 2).stderr
    assert "deprecations.yml:3: replacement:" in err and "deprecations.yml:7: sunset:" in err


def test_config_errors_mask_the_password(in_tmp):
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: ${DEPRECATOR_WAREHOUSE_URL}\n")
    res = invoke(["list"], 2, env={"DEPRECATOR_WAREHOUSE_URL": "weird://etl:Pa55w0rd!xyz@host/db"})
    assert "Pa55w0rd!xyz" not in res.stderr + res.stdout
    assert "weird://etl:***@host/db" in res.stderr


def test_registry_commands_do_not_need_the_warehouse_secret(in_tmp):
    invoke(["init"])
    env = {"DEPRECATOR_WAREHOUSE_URL": None}
    invoke(["deprecate", "analytics.a", "--replacement", "analytics.b", "--sunset", "2027-01-01"], env=env)
    assert "analytics.a" in invoke(["list"], env=env).stdout


@pytest.mark.parametrize("command", ["init", "deprecate", "list"])
def test_every_command_help_has_an_example(command):
    out = invoke([command, "--help"]).stdout
    assert "Example:" in out and f"deprecator {command}" in out


@pytest.mark.slow
def test_init_from_an_installed_wheel(tmp_path):
    """Templates load from a non-editable install, not only from the checkout."""
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run = lambda *a, **kw: subprocess.run(a, check=True, capture_output=True, text=True, env=env, **kw)  # noqa: E731
    # Build from a copy: an in-tree build would write build/ into the shared checkout.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("deprecator", "templates"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.cfg", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src))
    (wheel,) = wheels.glob("deprecator-*.whl")
    run(sys.executable, "-m", "venv", str(venv))
    py = venv / "bin" / "python"
    # The dependencies come from the environment running the tests (a plain path line in a .pth
    # file: that environment's own .pth files, such as an editable install of deprecator, are not read).
    target = run(str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(target) / "_test_deps.pth").write_text("".join(f"{d}\n" for d in sorted(outer)))
    run(str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel))
    # Run from a folder without the checkout on the path: the installed package must be used.
    where = run(str(py), "-c", "import deprecator, deprecator.templates as t; print(deprecator.__file__)",
                cwd=str(work)).stdout
    assert str(venv) in where, where
    out = run(str(venv / "bin" / "deprecator"), "init", "--dialect", "duckdb", cwd=str(work)).stdout
    assert "Wrote deprecator.yml" in out
    assert "dialect: duckdb" in (work / "deprecator.yml").read_text()
    assert (work / "deprecations.yml").read_text().rstrip().endswith("deprecations: []")


def test_relative_paths_follow_the_config_file_not_the_working_directory(in_tmp):
    proj = in_tmp / "proj"
    proj.mkdir()
    (proj / "deprecator.yml").write_text("registry: reg/deps.yml\nwarehouse:\n  dialect: snowflake\n")
    (in_tmp / "elsewhere").mkdir()
    os.chdir(in_tmp / "elsewhere")
    invoke(["--config", "../proj/deprecator.yml", "deprecate", "analytics.a", "--replacement", "analytics.b",
            "--sunset", "2027-01-01"])
    assert (proj / "reg" / "deps.yml").exists() and not (in_tmp / "elsewhere" / "reg").exists()
    # Snowflake folds unquoted names to upper case, so this is the same relation.
    err = invoke(["--config", "../proj/deprecator.yml", "deprecate", '"ANALYTICS"."A"', "--replacement", "x.y",
                  "--sunset", "2027-01-01"], 2).stderr
    assert "registered twice" in err


def test_deprecate_columns_that_need_quotes(in_tmp):
    """--column takes the SQL identifier as written; the YAML keeps that spelling and the rewrite uses it."""
    invoke(["deprecate", "analytics.customer_facts", "--replacement", "analytics.entity_customers",
            "--sunset", "2027-03-31", "--column", '"Cust ID"=customer_id', "--column", '"a=b" = "A B"',
            "--column", "Region=\"Sales Region\"", "--removed-column", '"Legacy Flag"'])
    text = (in_tmp / "deprecations.yml").read_text()
    assert "'\"Cust ID\"': customer_id" in text and "'\"a=b\"': '\"A B\"'" in text, text
    data = json.loads(invoke(["list", "--format", "json"]).stdout)
    (dep,) = data["deprecations"]
    assert dep["columns"] == {'"Cust ID"': "customer_id", '"a=b"': '"A B"', "Region": '"Sales Region"'}
    assert dep["removed_columns"] == ['"Legacy Flag"']
    from deprecator.registry import load_registry
    from deprecator.sql import rewrite

    (rule,) = load_registry(in_tmp / "deprecations.yml", "postgres", ("analytics",)).rewrite_rules()
    out = rewrite('SELECT "Cust ID", "a=b", region FROM analytics.customer_facts', "postgres", [rule],
                  ("analytics",))
    assert out.text == ('SELECT "customer_id" AS "Cust ID", "A B" AS "a=b", "Sales Region" AS region '
                        "FROM analytics.entity_customers"), out


@pytest.mark.parametrize("column, words", [
    ("Cust ID=customer_id", 'columns.Cust ID: column Cust ID is not a plain column name: write it as postgres '
                            'SQL quotes it, "Cust ID"'),
    ('"Cust ID=customer_id', "expected OLD=NEW with one = outside quoted names"),
    ("a=b=c", "expected OLD=NEW with one = outside quoted names"),
    ('cust_id=""', 'columns.cust_id: column cust_id maps to a name that is not one: "" is an empty quoted name'),
])
def test_deprecate_refuses_a_malformed_column(in_tmp, column, words):
    err = invoke(["deprecate", "analytics.a", "--replacement", "analytics.b", "--sunset", "2027-01-01",
                  "--column", column], 2).stderr
    assert words in " ".join(err.split()), err
    assert not (in_tmp / "deprecations.yml").exists()


def test_deprecate_bigquery_columns_in_backticks(in_tmp):
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  dialect: bigquery\n  default_catalog: proj\n"
                                           "registry: deprecations.yml\n")
    invoke(["deprecate", "proj.ds.clients", "--replacement", "proj.ds.clients_v2", "--sunset", "2027-03-31",
            "--column", "client_id=`Client ID`", "--column", "`sample-id`=sample_id"])
    text = (in_tmp / "deprecations.yml").read_text()
    assert "client_id: '`Client ID`'" in text and "'`sample-id`': sample_id" in text, text
    err = invoke(["deprecate", "proj.ds.other", "--replacement", "proj.ds.other_v2", "--sunset", "2027-03-31",
                  "--column", '"Client ID"=client_id'], 2).stderr
    assert ('columns."Client ID": column "Client ID" is not a plain column name: write it as bigquery SQL '
            "quotes it, `Client ID`") in " ".join(err.split()), err
