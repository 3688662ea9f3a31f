"""Unit tests of the engine's helpers: placeholder pre-pass, name rendering, statuses."""

from __future__ import annotations

import logging

import pytest

from deprecator.sql import (
    RelationName,
    RewriteRule,
    find_references,
    neutralize_placeholders,
    normalize_part,
    normalize_relation,
    rewrite,
)
from deprecator.sql.names import needs_quotes, render_part
from deprecator.sql.references import MAX_NESTING, nesting_depth


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("x IN ($1,$2)", "x IN (01,02)"),
        ("x = $10 AND y = $2", "x = 010 AND y = 02"),
        ("'$1' || $1", "'$1' || 01"),
        ("E'it\\'s $1' = $2", "E'it\\'s $1' = 02"),
        ('"col$1" = $1', '"col$1" = 01'),
        ("-- $1\n$2", "-- $1\n02"),
        ("/* $1 /* nested $2 */ $3 */ $4", "/* $1 /* nested $2 */ $3 */ 04"),
        ("$$ body $1 $$ = $1", "$$ body $1 $$ = 01"),
        ("$fn$ select $1 $fn$ || $3", "$fn$ select $1 $fn$ || 03"),
        ("a$1 = $1", "a$1 = 01"),
        ("no placeholders", "no placeholders"),
    ],
)
def test_placeholder_prepass_keeps_length_and_skips_quoted_text(sql: str, expected: str) -> None:
    out = neutralize_placeholders(sql)
    assert out == expected
    assert len(out) == len(sql)


def test_in_list_without_spaces_parses_only_with_the_prepass() -> None:
    import sqlglot
    from sqlglot.errors import TokenError

    sql = "SELECT name FROM customer_facts WHERE id IN ($1,$2)"
    # sqlglot alone reads `$1,$` as the start of a dollar-quoted string
    with pytest.raises(TokenError):
        sqlglot.parse_one(sql, read="postgres")
    result = find_references(sql, "postgres", ("analytics",))
    assert result.status == "parsed"
    [ref] = result.references
    assert ref.written == "customer_facts" and ref.columns == frozenset({"id", "name"})


@pytest.mark.parametrize(
    "name, dialect, quoted, expected",
    [
        ("Customer_Facts", "postgres", False, "customer_facts"),
        ("Customer_Facts", "postgres", True, "Customer_Facts"),
        ("customer_facts", "snowflake", False, "CUSTOMER_FACTS"),
        ("customer_facts", "snowflake", True, "customer_facts"),
        ("Main", "bigquery", False, "Main"),
        ("Customer_Facts", "duckdb", True, "customer_facts"),
    ],
)
def test_normalize_part(name: str, dialect: str, quoted: bool, expected: str) -> None:
    assert normalize_part(name, quoted, dialect) == expected


@pytest.mark.parametrize(
    "name, dialect, like, expected",
    [
        ("entity_customers", "postgres", None, "entity_customers"),
        ("entity_customers", "postgres", "CUSTOMER_FACTS", "ENTITY_CUSTOMERS"),
        ("ENTITY_CUSTOMERS", "snowflake", "customer_facts", "entity_customers"),
        ("entity_customers", "snowflake", None, '"entity_customers"'),
        ("EntityCustomers", "postgres", None, '"EntityCustomers"'),
        ("user", "postgres", None, '"user"'),
        ("select", "bigquery", None, "`select`"),
        ("moz-fx-data", "bigquery", None, "`moz-fx-data`"),
        ('we"ird', "postgres", None, '"we""ird"'),
    ],
)
def test_render_part(name: str, dialect: str, like: str | None, expected: str) -> None:
    assert render_part(name, dialect, like=like) == expected


def test_needs_quotes_agrees_with_normalization() -> None:
    assert not needs_quotes("orders", "postgres")
    assert needs_quotes("Orders", "postgres")
    assert not needs_quotes("ORDERS", "snowflake")
    assert needs_quotes("orders", "snowflake")


def test_nesting_guard_and_depth() -> None:
    assert nesting_depth("(" * 150 + ")" * 150) == 150
    assert nesting_depth("(a)" * 150) == 1
    assert nesting_depth("((a)(b))") <= MAX_NESTING
    deep = "SELECT * FROM " + "(SELECT * FROM " * (MAX_NESTING + 1) + "t" + ") x" * (MAX_NESTING + 1)
    result = find_references(deep, "postgres")
    assert result.status == "error" and "nested" in (result.error or "")
    assert result.references == ()


def test_parse_error_reports_position() -> None:
    result = find_references("SELECT a FROM t WHERE (\n", "postgres")
    assert result.status == "error"
    assert "line 1" in (result.error or "")


def test_fallback_is_not_logged_but_reported(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    result = find_references("CREATE MATERIALIZED VIEW m AS SELECT 1 FROM t WITH NO DATA", "postgres")
    assert result.status == "fallback"
    assert "statement 1 not understood" in (result.error or "")
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]


@pytest.mark.parametrize(
    "sql",
    ["", ";", "   \n", "SELECT", "))((", "SELECT 'unterminated", "/* only a comment */",
     "SELECT 1; ; SELECT 2", "\x00\x01 garbage \u00e9", "SELECT $1,$2,$$"],
)
@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery", "duckdb", "sqlite", "redshift"])
def test_hostile_inputs_never_raise(sql: str, dialect: str) -> None:
    result = find_references(sql, dialect)
    assert result.status in ("parsed", "fallback", "error")
    rule = RewriteRule(RelationName(None, "a", "t"), RelationName(None, "a", "u"))
    assert rewrite(sql, dialect, []).text == sql
    assert rewrite(sql, dialect, [rule]).text == sql


def test_candidates_follow_the_search_path() -> None:
    [ref] = find_references("SELECT 1 FROM t", "postgres", ("a", "b", "c")).references
    assert ref.relation == RelationName(None, "a", "t")
    assert ref.candidates == tuple(RelationName(None, s, "t") for s in ("a", "b", "c"))
    [ref] = find_references("SELECT 1 FROM x.t", "postgres", ("a", "b")).references
    assert ref.candidates == ()


def test_rewrite_edits_are_the_only_changes() -> None:
    sql = "select cf.cust_id -- keep\nfrom customer_facts cf /* c */ where cf.cust_id = 1"
    rule = RewriteRule(normalize_relation("analytics.customer_facts", "postgres"),
                       normalize_relation("analytics.entity_customers", "postgres"),
                       columns={"cust_id": "customer_id"})
    result = rewrite(sql, "postgres", [rule], ("analytics",))
    assert result.changed
    rebuilt, pos = [], 0
    for e in result.edits:
        assert sql[e.start:e.end] == e.old
        rebuilt.append(sql[pos:e.start] + e.new)
        pos = e.end
    assert "".join(rebuilt) + sql[pos:] == result.text
    assert [e.old for e in result.edits] == ["cust_id", "customer_facts", "cust_id"]


def test_registry_style_rule_keys_are_normalized() -> None:
    # the registry writes column names as users type them; Snowflake folds them
    rule = RewriteRule(normalize_relation("analytics.customer_facts", "snowflake"),
                       normalize_relation("analytics.entity_customers", "snowflake"),
                       columns={"cust_id": "customer_id"})
    result = rewrite("select c.cust_id from analytics.customer_facts c", "snowflake", [rule])
    assert result.text == "select c.customer_id AS cust_id from analytics.entity_customers c"


# -- a text that does not parse whole: each statement on its own ----------------

def test_a_broken_statement_does_not_hide_the_others_references() -> None:
    sql = ("SELECT * FROM analytics.customer_facts WHERE x = $1;\n"
           "SELECT FROM WHERE;\n  /* ; */ SELECT 'a;b' FROM s.t; -- trailing; comment\n")
    result = find_references(sql, "postgres")
    assert result.status == "error"
    assert result.error is not None and result.error.startswith(
        "statement 2 of 4 (line 2) did not parse: Expected table name")
    # sqlglot's position (it points at the end of the offending WHERE), in the original text
    assert "(line 2, column 17)" in result.error
    assert [(str(r.relation), r.line, r.column, r.statement_index) for r in result.references] == [
        ("analytics.customer_facts", 1, 15, 0), ("s.t", 3, 29, 2)]
    assert all(sql[r.start:r.end] == r.written for r in result.references)
    assert result.statements == 4   # the trailing comment's semicolon is a statement, as when parsed whole


def test_every_failed_statement_is_named_and_all_failing_gives_no_references() -> None:
    result = find_references("SELECT FROM WHERE; SELECT * FROM a.b WHERE (1;\nDELETE FROM WHERE", "postgres")
    assert result.status == "error" and result.references == ()
    assert result.error is not None
    assert "statement 1 of 3 (line 1)" in result.error and "statement 2 of 3 (line 1)" in result.error
    assert "statement 3 of 3 (line 2)" in result.error and "other statement" not in result.error


def test_a_single_broken_statement_keeps_the_whole_text_message() -> None:
    result = find_references("SELECT * FROM analytics.customer_facts WHERE (1;", "postgres")
    assert (result.status, result.references, result.statements) == ("error", (), 0)
    assert result.error == "Expecting ) (line 1, column 47)"


def test_a_tokenizer_failure_keeps_todays_behaviour() -> None:
    result = find_references("SELECT * FROM analytics.customer_facts; SELECT 'unterminated", "postgres")
    assert (result.status, result.references, result.statements) == ("error", (), 0)
    assert result.error is not None and result.error.startswith("Error tokenizing")


def test_a_broken_statement_next_to_a_command_reports_both() -> None:
    sql = "SELECT a FROM s.t;\nVACUUM FULL s.t;\nSELECT FROM WHERE;"
    result = find_references(sql, "postgres")
    assert result.status == "error"
    assert result.error is not None
    assert "statement 3 of 3 (line 3) did not parse" in result.error and "statement 2 not understood" in result.error
    assert [(str(r.relation), r.statement_index) for r in result.references] == [("s.t", 0)]


def test_the_rewrite_refuses_a_partly_parsed_text() -> None:
    sql = "SELECT * FROM analytics.customer_facts;\nSELECT FROM WHERE;\n"
    assert find_references(sql, "postgres").references
    rule = RewriteRule(old=normalize_relation("analytics.customer_facts", "postgres"),
                       new=normalize_relation("analytics.entity_customers", "postgres"))
    result = rewrite(sql, "postgres", [rule])
    assert result.text == sql and not result.changed and result.status == "error"
    assert len(result.blockers) == 1 and result.blockers[0].reason.startswith(
        "could not parse (error): statement 2 of 2 (line 2) did not parse")


def test_statement_counts_in_messages_agree_with_their_noun() -> None:
    two_commands = find_references("SELECT a FROM s.t;\nVACUUM FULL s.t;\nVACUUM s.u;", "postgres")
    assert two_commands.error == "statements 2, 3 not understood by the parser (opaque Command)"
    one_left = find_references("SELECT a FROM s.t;\nSELECT FROM WHERE;", "postgres").error or ""
    assert one_left.endswith("; references come from the 1 other statement only")
    two_left = find_references("SELECT a FROM s.t; SELECT 1;\nSELECT FROM WHERE;", "postgres").error or ""
    assert two_left.endswith("; references come from the 2 other statements only")


@pytest.mark.parametrize("inner", ["x y", "a..b", "", "t AS u", "x;drop table y"])
def test_snowflake_identifier_string_that_names_no_relation_is_not_a_reference(inner: str) -> None:
    sql = f"SELECT * FROM IDENTIFIER('{inner}') JOIN regions r ON 1 = 1"
    res = find_references(sql, "snowflake", ["ANALYTICS"])
    assert res.status == "parsed"
    assert [str(r.relation) for r in res.references] == ["ANALYTICS.REGIONS"]


def test_snowflake_identifier_string_reference_is_not_an_exact_span() -> None:
    sql = """SELECT 1 FROM IDENTIFIER('"a''s".t') x, IDENTIFIER('"Mixed".t2')"""
    refs = find_references(sql, "snowflake", ["ANALYTICS"]).references
    assert [(str(r.relation), r.written, r.exact_span) for r in refs] == [
        ("a's.T", '"a\'\'s".t', False), ("Mixed.T2", '"Mixed".t2', False),
    ]
    rule = RewriteRule(RelationName(None, "Mixed", "T2"), RelationName(None, "Mixed", "T3"))
    res = rewrite(sql, "snowflake", [rule], ["ANALYTICS"])
    assert res.text == sql and not res.changed
    assert "IDENTIFIER('\"Mixed\".t2')" in res.blockers[0].reason


# -- the layout between name parts -------------------------------------------------

GAPS = {  # dialect -> what may stand between two name parts (all hold exactly one dot)
    "postgres": [".", " . ", "\n  .", "/*x*/.", ". -- c\n  ", " /* a */ . /* b */ ", "\t.\n\t"],
    "snowflake": [".", " .", "\n.", ". /* c */", " -- c\n . "],
    "bigquery": [".", " . ", "/* c */.", " # c\n  .", ". -- c\n"],
    "duckdb": [".", "\n\t.", " . /* c */ ", "-- c\n."],
}
STYLES = {  # dialect -> (schema, table, new schema, new table) spelled bare and quoted
    "postgres": [("analytics", "customer_facts", "core", "entity_customers"),
                 ('"analytics"', '"customer_facts"', '"core"', '"entity_customers"')],
    "snowflake": [("ANALYTICS", "CUSTOMER_FACTS", "CORE", "ENTITY_CUSTOMERS"),
                  ('"ANALYTICS"', '"CUSTOMER_FACTS"', '"CORE"', '"ENTITY_CUSTOMERS"')],
    "bigquery": [("analytics", "customer_facts", "core", "entity_customers"),
                 ("`analytics`", "`customer_facts`", "`core`", "`entity_customers`")],
    "duckdb": [("analytics", "customer_facts", "core", "entity_customers"),
               ('"analytics"', '"customer_facts"', '"core"', '"entity_customers"')],
}


@pytest.mark.parametrize("dialect", sorted(GAPS))
def test_only_the_changed_name_parts_are_replaced(dialect: str) -> None:
    """Whitespace and comments between parts stay byte for byte; each changed part is replaced in place."""
    import random

    rng = random.Random(f"layout-{dialect}")
    for _ in range(40):
        schema, table, new_schema, new_table = rng.choice(STYLES[dialect])
        gap = rng.choice(GAPS[dialect])
        move = rng.random() < 0.5   # the replacement lives in another schema too
        sql = f"SELECT t.id FROM {schema}{gap}{table} AS t WHERE t.id > 0"
        old = normalize_relation("analytics.customer_facts", dialect)
        new = normalize_relation(f"{'core' if move else 'analytics'}.entity_customers", dialect)
        result = rewrite(sql, dialect, [RewriteRule(old, new)])
        assert not result.blockers, (sql, result.blockers)
        want = f"SELECT t.id FROM {new_schema if move else schema}{gap}{new_table} AS t WHERE t.id > 0"
        assert result.text == want, sql
        assert [e.old for e in result.edits] == ([schema] if move else []) + [table]


def test_part_spans_tell_each_written_part_or_nothing() -> None:
    import sqlglot
    from sqlglot import exp

    from deprecator.sql.references import _table_parts, part_spans

    def spans(sql: str, dialect: str) -> list[str] | None:
        table = sqlglot.parse_one(sql, read=dialect).find(exp.Table)
        assert table is not None
        got = part_spans(sql, _table_parts(table))
        return None if got is None else [sql[s:e] for s, e in got]

    assert spans("SELECT 1 FROM a /* . */ . -- x.y\n b", "postgres") == ["a", "b"]
    assert spans('SELECT 1 FROM "a""b" . "c"', "postgres") == ['"a""b"', '"c"']
    assert spans("SELECT 1 FROM my-project . ds.`t`", "bigquery") == ["my-project", "ds", "`t`"]
    assert spans("SELECT 1 FROM ds.`a\\`b`", "bigquery") == ["ds", "`a\\`b`"]
    # one token for several parts, or parts the parser gives one shared position
    assert spans("SELECT 1 FROM `p.ds.t`", "bigquery") is None
    assert spans("SELECT 1 FROM `p.ds`.t", "bigquery") is None
    assert spans("SELECT 1 FROM my-proj-1.ds.t", "bigquery") is None


def test_a_replacement_with_fewer_parts_drops_the_leading_parts_only() -> None:
    sql = "SELECT 1 FROM analytics /* a */ . customer_facts AS cf -- tail"
    rule = RewriteRule(RelationName(None, "analytics", "customer_facts"), RelationName(None, None, "entity_customers"))
    result = rewrite(sql, "postgres", [rule])
    assert not result.blockers, result.blockers
    assert result.text == "SELECT 1 FROM entity_customers AS cf -- tail"
    assert [(e.old, e.new) for e in result.edits] == [("analytics /* a */ . ", ""), ("customer_facts", "entity_customers")]


def test_unicode_identifiers_are_found_as_tokens_only() -> None:
    """Those that do not decode (PostgreSQL refuses them too) are listed; the others are read as names."""
    from deprecator.sql.rewrite import unicode_identifiers

    sql = """SELECT U&"a\\zz", t.u&"b\\00", u & "c", U&'str', xU&"d", '&"U&"', U&"ok\\0061" FROM t -- U&"e"
WHERE x IN ($1,$2)"""
    assert [sql[i:i + 4] for i in unicode_identifiers(sql, "postgres")] == ['U&"a', 'u&"b']
    assert unicode_identifiers(sql, "snowflake") == []
    rule = RewriteRule(RelationName(None, "s", "t"), RelationName(None, "s", "t2"))
    result = rewrite("SELECT u & \"c\" FROM s.t", "postgres", [rule])   # a real bitwise AND is rewritten
    assert result.text == 'SELECT u & "c" FROM s.t2' and not result.blockers


@pytest.mark.parametrize("sql", [
    "EXPLAIN (ANALYZE", "EXPLAIN ANALYZE", "EXPLAIN (ANALYZE SELECT * FROM a.t", "EXPLAIN SELECT * FROM a.t WHERE",
    "EXPLAIN EXECUTE p(1)", "EXPLAIN 'SELECT * FROM a.t'", "PREPARE p", "PREPARE p(int AS SELECT * FROM a.t",
    "PREPARE p AS SELEC * FROM a.t", "DECLARE c CURSOR", "DECLARE c CURSOR a.t", "DECLARE c CURSOR FOR",
    "CREATE RULE r AS ON INSERT TO", "CREATE RULE r AS ON INSERT TO a.t DO", "CREATE RULE r AS ON INSERT TO a.t DO (",
    "CREATE RULE r AS ON INSERT TO a.t WHERE DO NOTHING", "CREATE RULE r AS ON INSERT TO a.t DO (SELECT 1) (SELECT 2)",
    "CREATE RULE r AS ON INSERT TO a.t DO ALSO (INSERT INTO a.log SELECT FROM WHERE; DELETE FROM a.u)",
])
def test_a_wrapping_statement_not_understood_is_never_clean(sql: str) -> None:
    """EXPLAIN / PREPARE / DECLARE / CREATE RULE whose parts do not parse: a fallback with why, no rewrite."""
    result = find_references(sql, "postgres")
    assert result.status == "fallback", result.references
    assert result.error is not None and "statement 1" in result.error
    rule = RewriteRule(RelationName(None, "a", "t"), RelationName(None, "a", "t2"))
    rewritten = rewrite(sql, "postgres", [rule])
    assert rewritten.text == sql and rewritten.blockers


def test_wrapped_statements_keep_indexes_and_spans_across_a_rule_action_list() -> None:
    """Semicolons inside a rule's action list do not split the text: indexes are those of the statements."""
    sql = ("CREATE RULE r AS ON INSERT TO a.t DO ALSO (INSERT INTO a.log VALUES (NEW.id); DELETE FROM a.u);\n"
           "EXPLAIN ANALYZE SELECT * FROM a.v;\nSELECT * FROM a.w")
    result = find_references(sql, "postgres")
    assert result.status == "parsed" and result.statements == 3
    got = [(r.written, r.statement_index, r.statement_kind, sql[r.start:r.end]) for r in result.references]
    assert got == [("a.t", 0, "create_rule", "a.t"), ("a.log", 0, "insert", "a.log"), ("a.u", 0, "delete", "a.u"),
                   ("a.v", 1, "select", "a.v"), ("a.w", 2, "select", "a.w")]
    assert result.references[0].columns == frozenset({"id"})
