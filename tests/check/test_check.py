"""`deprecator check`, the CI gate, against real temporary git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.check.check_project import ENV, REGISTRY, TODAY, commit, git, write
from tests.helpers import invoke

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif" / "sarif-2.1.0-rtm.5.json"
OLD_SQL = """\
-- revenue by customer, used by finance
select
    cust_id,
    sum(amount) as revenue
from analytics.customer_facts
group by cust_id
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A dbt-style repository on `main` with one existing reference; the test works on branch `feature`."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "deprecator.yml", "registry: deprecations.yml\nwarehouse:\n  default_schema: analytics\n")
    write(r, "deprecations.yml", REGISTRY)
    write(r, "models/legacy.sql", "-- an existing reader\nselect cust_id\nfrom {{ ref('customer_facts') }}\n")
    write(r, "models/plain.sql", "select 1 as one\n")
    write(r, "analyses/old.sql", OLD_SQL)
    commit(r, "init")
    git(r, "checkout", "-q", "-b", "feature")
    monkeypatch.chdir(r)
    return r


def check(*args: str, code: int, env: dict[str, str] | None = None):
    return invoke(["check", *args], code, env={**ENV, **(env or {})})


def as_json(*args: str, code: int) -> dict:
    return json.loads(check(*args, "--format", "json", code=code).stdout)


# --------------------------------------------------------------------------- --base


def test_only_references_the_branch_adds_fail(repo):
    write(repo, "models/new_model.sql",
          "with c as (\n    select * from {{ ref('customer_facts') }}\n)\nselect * from c\n")
    commit(repo, "new model")
    r = check("--base", "main", code=1)
    assert ("models/new_model.sql:2:22: error: new reference to deprecated analytics.customer_facts "
            "(ref('customer_facts')): added by this change; sunset on 2027-03-31; "
            "use analytics.entity_customers instead; guide: migration_guides/customer_facts.md") in r.stdout
    assert "legacy.sql" not in r.stdout          # unchanged files are not even read
    assert ('hint: use the replacement; to keep one reference knowingly, put a comment on its line: '
            '-- deprecator: allow analytics.customer_facts until YYYY-MM-DD reason "..."') in r.stdout
    assert "1 new reference(s) to deprecated models" in r.stderr
    report = as_json("--base", "main", code=1)
    assert report["files_checked"] == 1 and report["merge_base"] == git(repo, "merge-base", "main", "HEAD").strip()


def test_an_edit_next_to_an_existing_reference_only_warns(repo):
    write(repo, "models/legacy.sql",
          "-- an existing reader, now documented\nselect cust_id\nfrom {{ ref('customer_facts') }}\n")
    commit(repo, "comment")
    report = as_json("--base", "main", code=0)
    # the changed line holds no reference: the reference in the changed file is an existing one
    assert [(f["line"], f["new"], f["level"]) for f in report["findings"]] == [(3, False, "warning")]
    # a reference on a changed line is new even if the name was there before
    write(repo, "models/legacy.sql", "-- an existing reader\nselect cust_id\nfrom {{ ref('customer_facts') }} cf\n")
    report = as_json("--base", "main", code=1)
    assert [(f["line"], f["new"], f["level"]) for f in report["findings"]] == [(3, True, "error")]


def test_renamed_and_moved_files_keep_their_references_existing(repo):
    git(repo, "mv", "models/legacy.sql", "models/legacy_renamed.sql")
    (repo / "models/marts").mkdir()
    git(repo, "mv", "analyses/old.sql", "models/marts/old.sql")
    commit(repo, "move")
    report = as_json("--base", "main", code=0)
    assert sorted((f["path"], f["level"]) for f in report["findings"]) == [
        ("models/legacy_renamed.sql", "warning"), ("models/marts/old.sql", "warning")]
    # moved and edited: only the edited line is new
    text = (repo / "models/marts/old.sql").read_text()
    write(repo, "models/marts/old.sql", text + "union all\nselect 1, 2 from analytics.customer_facts\n")
    commit(repo, "edit after move")
    assert "R" in git(repo, "diff", "--name-status", "-M", "main", "HEAD")   # git still sees a move
    report = as_json("--base", "main", code=1)
    got = sorted((f["path"], f["line"], f["level"]) for f in report["findings"])
    assert got == [("models/legacy_renamed.sql", 3, "warning"), ("models/marts/old.sql", 5, "warning"),
                   ("models/marts/old.sql", 8, "error")]


def test_deleted_files_and_merged_main_changes_are_not_the_branchs(repo):
    git(repo, "rm", "-q", "analyses/old.sql")
    commit(repo, "delete")
    # main moves on with its own new reference: not this branch's doing (merge base, not main's tip)
    git(repo, "checkout", "-q", "main")
    write(repo, "models/on_main.sql", "select * from {{ ref('customer_facts') }}\n")
    commit(repo, "main's own")
    git(repo, "checkout", "-q", "feature")
    report = as_json("--base", "main", code=0)
    assert report["findings"] == [] and report["files_checked"] == 0


def test_only_changed_files_are_parsed(repo):
    write(repo, "models/broken.sql", "select * from analytics.customer_facts where (\n")
    commit(repo, "broken on main")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "feature")
    git(repo, "checkout", "-q", "-b", "feature2")
    write(repo, "models/ok.sql", "select 1\n")
    commit(repo, "ok")
    report = as_json("--base", "main", code=0)
    assert report["files_checked"] == 1      # broken.sql is not read: it did not change
    r = check(code=2)                        # a full check lists it
    assert "models/broken.sql" in r.stdout and "did not parse" in r.stdout


def test_uncommitted_and_untracked_files_count_as_the_change(repo):
    write(repo, "models/draft.sql", "select * from analytics.customer_facts\n")
    report = as_json("--base", "main", code=1)
    assert [(f["path"], f["line"], f["column"]) for f in report["findings"]] == [("models/draft.sql", 1, 15)]


def test_a_shallow_clone_without_the_base_is_a_clear_error(repo, tmp_path, monkeypatch):
    write(repo, "models/x.sql", "select 1\n")
    commit(repo, "x")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo}", str(shallow)],
                   check=True, capture_output=True)
    monkeypatch.chdir(shallow)
    r = check("--base", "origin/main", code=2)
    assert "the base `origin/main` is not a commit in this clone (it is a shallow clone)" in r.stderr
    assert "fetch-depth: 0" in r.stderr
    # the base fetched, but not the history joining it to HEAD
    subprocess.run(["git", "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main"],
                   cwd=shallow, check=True, capture_output=True)
    r = check("--base", "origin/main", code=2)
    assert "no merge base between `origin/main` and HEAD: this is a shallow clone" in r.stderr


def test_base_outside_a_repository_and_unknown_base_are_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "deprecations.yml", REGISTRY)
    write(tmp_path, "deprecator.yml", "registry: deprecations.yml\n")
    assert "not inside a git repository" in check("--base", "main", code=2).stderr


def test_unknown_base_is_an_error(repo):
    assert "the base `nope` is not a commit in this clone" in check("--base", "nope", code=2).stderr


# --------------------------------------------------------------------------- sunset and suppressions


def test_after_the_sunset_every_reference_fails(repo):
    git(repo, "checkout", "-q", "main")
    write(repo, "analyses/older.sql", "select * from analytics.old_orders\n")
    commit(repo, "an old reader")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    assert as_json("--base", "main", code=0)["files_checked"] == 0   # --base reads changed files only
    write(repo, "analyses/older.sql", "-- still needed\nselect * from analytics.old_orders\n")
    commit(repo, "touch the old reader")
    report = as_json("--base", "main", code=1)
    (f,) = report["findings"]
    assert f["new"] is False and f["level"] == "error" and f["rule"] == "sunset"
    assert "2026-11-30 has passed" in f["why"]


def test_fail_before_sunset_escalates_existing_references(repo):
    write(repo, "models/plain.sql", "select 2 as two\n")   # changes one file
    write(repo, "models/legacy.sql", "-- an existing reader\nselect cust_id\nfrom {{ ref('customer_facts') }}\n\n")
    commit(repo, "touch")
    assert as_json("--base", "main", code=0)["summary"]["warnings"] == 1
    # customer_facts' sunset is 2027-03-31, 119 days after TODAY
    assert as_json("--base", "main", "--fail-before-sunset", "118", code=0)["summary"]["errors"] == 0
    report = as_json("--base", "main", "--fail-before-sunset", "119", code=1)
    (f,) = report["findings"]
    assert f["level"] == "error" and "--fail-before-sunset 119" in f["why"] and f["rule"] == "sunset"


def test_inline_suppressions_expire_and_unused_ones_are_reported(repo):
    write(repo, "models/a.sql",
          "-- deprecator: allow analytics.customer_facts until 2027-01-15 reason \"migrating in #123\"\n"
          "select * from analytics.customer_facts\n"
          "union all select * from {{ ref('customer_facts') }} {# deprecator: allow customer_facts until "
          "2026-12-31 reason \"jinja form\" #}\n"
          "union all select * from analytics.customer_facts -- deprecator: allow customer_facts until "
          "2026-12-01 reason \"expired yesterday\"\n"
          "-- deprecator: allow analytics.customer_facts until 2027-01-15 reason \"nothing below\"\n"
          "union all select 1\n")
    commit(repo, "suppressed")
    report = as_json("--base", "main", code=1)
    levels = [(f["line"], f["level"], f["suppressed"]) for f in report["findings"]]
    assert levels == [(2, "note", True), (3, "note", True), (4, "error", False)]
    assert [(s["line"], s["status"]) for s in report["suppressions"]] == [
        (1, "used"), (3, "used"), (4, "expired"), (5, "unused")]
    text = check("--base", "main", code=1).stdout
    assert "models/a.sql:4:" in text and "expired on 2026-12-01" in text
    assert "models/a.sql:5:1: note: unused suppression of analytics.customer_facts" in text
    # the same file on a later day: the first suppressions expire too
    later = check("--base", "main", "--format", "json", code=1, env={"DEPRECATOR_TODAY": "2027-01-16"})
    report = json.loads(later.stdout)
    assert [f["level"] for f in report["findings"]] == ["error", "error", "error"]


def test_a_malformed_suppression_is_an_error(repo):
    write(repo, "models/a.sql", "select 1 -- deprecator: allow analytics.customer_facts reason \"no date\"\n")
    r = check("--base", "main", code=2)
    assert "models/a.sql:1:1: error: a suppression needs a name, an expiry and a reason" in r.stdout


# --------------------------------------------------------------------------- baseline (no git needed)


def test_without_base_references_not_in_the_baseline_fail(repo):
    r = check(code=1)
    assert "none yet: every reference is new" in r.stdout
    assert "Wrote 2 accepted reference(s) to deprecator-baseline.json" in check("--update-baseline", code=0).stdout
    baseline = json.loads((repo / "deprecator-baseline.json").read_text())
    assert {e["path"] for e in baseline["references"]} == {"models/legacy.sql", "analyses/old.sql"}
    assert as_json(code=0)["summary"] == {"errors": 0, "warnings": 2, "suppressed": 0, "problems": 0}
    # lines moving around do not make a reference new; a second one on a new line does
    write(repo, "analyses/old.sql", "-- moved down\n\nselect *\nfrom analytics.customer_facts\n"
                                    "union all select * from analytics.customer_facts x\n")
    report = as_json(code=1)
    assert [(f["path"], f["line"], f["new"]) for f in report["findings"]] == [
        ("analyses/old.sql", 4, False), ("analyses/old.sql", 5, True), ("models/legacy.sql", 3, False)]
    assert "--update-baseline writes the baseline" in invoke(["check", "--update-baseline", "--base", "main"], 2).stderr


def test_a_broken_baseline_is_a_clear_error(repo):
    write(repo, "deprecator-baseline.json", '{"version": 1, "references": [{"path": 1}]}')
    assert "references[0]" in check(code=2).stderr


# --------------------------------------------------------------------------- files that cannot be checked


def test_unreadable_and_unparseable_files_are_listed_never_skipped(repo):
    (repo / "models/latin1.sql").write_bytes(b"select 'caf\xe9' from analytics.customer_facts\n")
    write(repo, "models/bad_jinja.sql", "select * from {{ ref('customer_facts' }}\n")
    write(repo, "models/bad_sql.sql", "select * from analytics.customer_facts where (\n")
    write(repo, "models/bad_sql_unrelated.sql", "select * from elsewhere where (\n")   # cannot mention one
    r = check("--base", "main", code=2)
    assert "models/latin1.sql:1:1: error: not UTF-8 (invalid byte 0xe9)" in r.stdout
    assert "models/bad_jinja.sql:1:1: error: Jinja syntax error" in r.stdout
    assert "models/bad_sql.sql:1:1: error: the SQL may reference a deprecated model but did not parse" in r.stdout
    assert "bad_sql_unrelated" not in r.stdout
    assert "3 file(s) could not be checked" in r.stderr


def test_a_path_that_does_not_exist_is_an_error(repo):
    assert "no such file or folder" in check("nope/", code=2).stdout


def test_target_packages_and_git_ignored_files_are_not_walked(repo):
    write(repo, "target/compiled/x.sql", "select * from analytics.customer_facts\n")
    write(repo, "dbt_packages/p/models/y.sql", "select * from analytics.customer_facts\n")
    write(repo, "env/lib/site-packages/z.sql", "select * from analytics.customer_facts\n")
    write(repo, "models/untracked.sql", "select * from analytics.customer_facts\n")   # not ignored: read
    paths = {f["path"] for f in as_json(code=1)["findings"]}
    assert "env/lib/site-packages/z.sql" in paths
    write(repo, ".gitignore", "env/\n")
    paths = {f["path"] for f in as_json(code=1)["findings"]}
    assert paths == {"models/legacy.sql", "analyses/old.sql", "models/untracked.sql"}
    # named explicitly, an ignored file is read
    assert {f["path"] for f in as_json("env/lib/site-packages/z.sql", code=1)["findings"]} == {
        "env/lib/site-packages/z.sql"}


# --------------------------------------------------------------------------- formats


def _change(repo: Path) -> None:
    write(repo, "models/new_model.sql", "select *\nfrom {{ ref('customer_facts') }}, analytics.old_orders\n")
    commit(repo, "new")


def test_github_annotations_and_step_summary(repo, tmp_path):
    _change(repo)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    r = check("--base", "main", "--format", "github", code=1, env={"GITHUB_STEP_SUMMARY": str(summary)})
    lines = r.stdout.splitlines()
    assert lines[0].startswith("::error file=models/new_model.sql,line=2,col=9,endColumn=30,"
                               "title=deprecated%3A analytics.customer_facts::new reference")
    assert lines[1].startswith("::error file=models/new_model.sql,line=2,col=35,endColumn=55,")
    text = summary.read_text()
    assert text.startswith("earlier step\n## deprecator check")   # appended, not overwritten
    assert "| :x: | `models/new_model.sql:2:9` | analytics.customer_facts |" in text


def test_github_annotations_put_errors_first(repo):
    write(repo, "models/legacy.sql", "-- an existing reader\nselect cust_id\nfrom {{ ref('customer_facts') }}\n\n")
    write(repo, "models/z_new.sql", "select * from analytics.customer_facts\n")
    commit(repo, "one existing, one new")
    lines = check("--base", "main", "--format", "github", code=1).stdout.splitlines()
    assert lines[0].startswith("::error file=models/z_new.sql") and lines[1].startswith("::warning file=models/legacy")


def test_github_escapes_workflow_command_data(repo):
    write(repo, "models/we%ird,name.sql", "select * from analytics.customer_facts\n")
    r = check("--base", "main", "--format", "github", code=1)
    assert "::error file=models/we%25ird%2Cname.sql,line=1," in r.stdout


def test_sarif_validates_against_the_official_schema(repo):
    _change(repo)
    write(repo, "models/s.sql", "select * from analytics.customer_facts -- deprecator: allow customer_facts "
                                "until 2027-01-01 reason \"tracked\"\n")
    write(repo, "models/bad.sql", "select * from {{ ref('customer_facts' }}\n")
    log = json.loads(check("--base", "main", "--format", "sarif", code=2).stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    results = log["runs"][0]["results"]
    by_rule = sorted((r["ruleId"], r["level"]) for r in results)
    assert by_rule == [("new-reference", "error"), ("new-reference", "note"), ("sunset", "error"),
                       ("unchecked-file", "error")]
    suppressed = [r for r in results if r.get("suppressions")]
    assert suppressed[0]["suppressions"] == [{"kind": "inSource", "justification": "tracked"}]
    loc = [r for r in results if r["ruleId"] == "sunset"][0]["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "models/new_model.sql", "uriBaseId": "%SRCROOT%"},
                   "region": {"startLine": 2, "startColumn": 35, "endColumn": 55}}
    # and an invalid log does not validate (the schema test can fail)
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)


def test_clean_check_exits_zero_in_every_format(repo):
    write(repo, "models/plain.sql", "select 2 as two\n")
    commit(repo, "clean")
    for fmt in ("text", "json", "github", "sarif"):
        check("--base", "main", "--format", fmt, code=0)


def test_the_readme_workflow_example_runs_the_check_it_documents(repo):
    """The GitHub Actions example in the README: valid YAML, full history, and check commands that work."""
    from ruamel.yaml import YAML

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## CI gate", 1)[1].split("\n## ", 1)[0]
    block = section.split("**GitHub Actions**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    workflow = YAML(typ="safe").load(block)
    steps = workflow["jobs"]["check"]["steps"]
    checkout = [s for s in steps if s.get("uses", "").startswith("actions/checkout")][0]
    assert checkout["with"]["fetch-depth"] == 0
    (run,) = [s["run"] for s in steps if "deprecator check" in s.get("run", "")]
    upload = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")][0]
    assert upload["if"] == "always()"          # the check step fails the job when it finds something
    _change(repo)
    git(repo, "update-ref", "refs/remotes/origin/main", "main")
    cmd = run.replace('"origin/${{ github.base_ref }}"', "origin/main").split()
    assert cmd[:2] == ["deprecator", "check"]
    r = invoke(cmd[1:], 1, env=ENV)
    assert r.stdout.startswith("::error file=models/new_model.sql")
    log = json.loads((repo / upload["with"]["sarif_file"]).read_text())
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()), cls=jsonschema.Draft4Validator)
    assert len(log["runs"][0]["results"]) == 2


def test_globs_name_files_in_both_modes(repo):
    write(repo, "analyses/deep/q.sql", "select * from analytics.customer_facts\n")
    assert {f["path"] for f in as_json("analyses/**/*.sql", code=1)["findings"]} == {
        "analyses/old.sql", "analyses/deep/q.sql"}
    assert "matched no files" in check("nothing/**/*.sql", code=2).stdout
    commit(repo, "q")
    assert {f["path"] for f in as_json("--base", "main", "analyses/**/*.sql", code=1)["findings"]} == {
        "analyses/deep/q.sql"}
    assert as_json("--base", "main", "models/**/*.sql", code=0)["files_checked"] == 0


def test_raw_names_in_every_if_branch_are_found_and_alternatives_parse(repo):
    write(repo, "models/branches.sql",
          "select id from {{ ref('orders') }}\n"
          "{% if target.name == 'prod' %}\nwhere id in (select id from analytics.entity_customers)\n"
          "{% else %}\nwhere id in (select cust_id from analytics.customer_facts)\n{% endif %}\n")
    report = as_json("--base", "main", code=1)
    assert report["problems"] == []
    assert [(f["path"], f["line"], f["column"], f["via"]) for f in report["findings"]] == [
        ("models/branches.sql", 5, 34, "relation")]


def test_a_bigquery_wildcard_table_is_a_reference_to_every_deprecated_table_it_covers(tmp_path, monkeypatch):
    """`mkt.ga.events_2023*` never names events_20230105 but reads it: a new reference, via the wildcard."""
    r = tmp_path / "bq"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "deprecator.yml", "registry: deprecations.yml\nwarehouse:\n  dialect: bigquery\n"
                               "  default_schema: ga\n  default_catalog: mkt\n")
    write(r, "deprecations.yml", "deprecations:\n  - model: mkt.ga.events_20230105\n"
                                 "    replacement: mkt.ga.events_v2\n    sunset: 2027-03-31\n")
    write(r, "models/plain.sql", "select 1 as one\n")
    commit(r, "init")
    git(r, "checkout", "-q", "-b", "feature")
    monkeypatch.chdir(r)
    write(r, "models/daily.sql", "select event_name\nfrom `mkt.ga.events_2023*`\nwhere _TABLE_SUFFIX > '0101'\n")
    write(r, "models/other.sql", "select 1 from `mkt.ga.sessions_*`\n")
    report = as_json("--base", "main", code=1)
    assert [(f["path"], f["line"], f["deprecation"], f["relation"], f["written"], f["via"], f["new"])
            for f in report["findings"]] == [
        ("models/daily.sql", 2, "mkt.ga.events_20230105", "mkt.ga.events_20230105", "`mkt.ga.events_2023*`",
         "wildcard", True)]


def test_odd_file_names_and_line_endings(repo):
    write(repo, "models/my file é.sql", "select 1\nunion all select 1 from analytics.customer_facts\n")
    (repo / "models" / 'q"uote.sql').write_bytes(b"\xef\xbb\xbfselect 1\r\nunion all select * from {{ ref('customer_facts') }}\r\n")
    commit(repo, "odd names")
    got = sorted((f["path"], f["line"], f["column"], f["new"]) for f in as_json("--base", "main", code=1)["findings"])
    assert got == [("models/my file é.sql", 2, 25, True), ('models/q"uote.sql', 2, 28, True)]


def test_json_is_a_stable_contract(repo):
    _change(repo)
    out = as_json("--base", "main", code=1)
    assert set(out) == {"exit_code", "today", "mode", "base", "merge_base", "baseline", "baseline_found",
                        "fail_before_sunset", "manifest", "files_checked", "files_parsed", "summary", "findings",
                        "problems", "suppressions", "notes"}
    assert set(out["findings"][0]) == {
        "path", "line", "column", "end_column", "deprecation", "relation", "written", "via", "mapped_by",
        "replacement", "sunset", "guide", "new", "level", "why", "rule", "suppressed", "suppression_reason",
        "fingerprint"}
    assert out["exit_code"] == 1 and out["mode"] == "base" and out["today"] == TODAY


def test_a_pull_request_checkout_as_github_actions_makes_it(repo, tmp_path, monkeypatch):
    """actions/checkout on pull_request: a full clone, HEAD detached at the merge of the branch into main."""
    write(repo, "models/new_model.sql", "select * from {{ ref('customer_facts') }}\n")
    commit(repo, "feature work")
    git(repo, "checkout", "-q", "main")
    write(repo, "models/main_only.sql", "select * from analytics.customer_facts\n")   # main moved on meanwhile
    commit(repo, "main work")
    git(repo, "checkout", "-q", "--detach", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    git(repo, "update-ref", "refs/pull/1/merge", "HEAD")         # what GitHub offers for a pull request
    git(repo, "checkout", "-q", "feature")
    ci = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", f"file://{repo}", str(ci)], check=True, capture_output=True)
    git(ci, "fetch", "-q", "origin", "refs/pull/1/merge")
    git(ci, "checkout", "-q", "--detach", "FETCH_HEAD")
    monkeypatch.chdir(ci)
    report = as_json("--base", "origin/main", code=1)
    assert [(f["path"], f["new"]) for f in report["findings"]] == [("models/new_model.sql", True)]
    assert report["files_checked"] == 1      # main's own new file is not the pull request's


def test_the_step_summary_is_capped_errors_first(repo, tmp_path, monkeypatch):
    import deprecator.check_format as cf

    monkeypatch.setattr(cf, "MAX_SUMMARY_ROWS", 1)
    _change(repo)
    summary = tmp_path / "summary.md"
    check("--base", "main", "--format", "github", code=1, env={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.count("| :x: |") == 1 and "... and 1 more (`--format json` lists them all)" in text
