"""The prefilter must never drop a text that holds a reference (property-style, seeded)."""

from __future__ import annotations

import random

import pytest

from deprecator.prefilter import Prefilter, spellings
from deprecator.sql import find_references
from tests.spellings import unicode_spelling

PLAIN = "abcxyzABCXYZ_019"
ODD = PLAIN + ' "`]éßΣςİK$'

QUOTES = {  # dialect -> (open, close, how the closing quote is escaped inside)
    "postgres": ('"', '"', '""'),
    "snowflake": ('"', '"', '""'),
    "duckdb": ('"', '"', '""'),
    "bigquery": ("`", "`", "\\`"),
    "mysql": ("`", "`", "``"),
    "tsql": ("[", "]", "]]"),
}

TEMPLATES = [
    "SELECT * FROM {a}",
    "select x.c1 from {a} x join {b} y on x.id = y.id",
    "WITH cte AS (SELECT 1 AS c FROM {a}) SELECT * FROM cte, {b}",
    "insert into {a} select * from {b} where c in (select c from {a})",
    "SELECT c FROM (SELECT c FROM {a}) AS sub UNION ALL SELECT c FROM {b}",
    "/* header */ select count(*) -- trailing\nfrom {a}",
    "DELETE FROM {a} WHERE id IN (SELECT id FROM {b})",
]


def _ident(rng: random.Random, dialect: str) -> str:
    if rng.random() < 0.5:
        first = rng.choice("abcxyzABCXYZ_")
        return first + "".join(rng.choice(PLAIN) for _ in range(rng.randint(0, 10)))
    open_, close, esc = QUOTES[dialect]
    raw = "".join(rng.choice(ODD) for _ in range(rng.randint(1, 10)))
    if dialect == "bigquery" and rng.random() < 0.4:
        return open_ + "".join(_bigquery_char(rng, c) for c in raw) + close
    return open_ + raw.replace(close, esc) + close


def _bigquery_char(rng: random.Random, c: str) -> str:
    """One character inside BigQuery backticks, sometimes as a backslash escape (``\\x5f``, ``\\u005f``...)."""
    if rng.random() < 0.5:
        return "\\`" if c == "`" else c
    forms = [f"\\U{ord(c):08x}"]
    if ord(c) < 0x10000:
        forms.append(f"\\u{ord(c):04x}")
    if ord(c) < 0x100:
        forms += [f"\\x{ord(c):02x}", f"\\X{ord(c):02X}", f"\\{ord(c):03o}"]
    return rng.choice(forms)


def _relation(rng: random.Random, dialect: str) -> str:
    parts = [_ident(rng, dialect) for _ in range(rng.randint(1, 3))]
    if dialect == "bigquery" and rng.random() < 0.3:
        # `project.dataset.table` in one pair of backticks
        words = ["".join(rng.choice("abcxyz_019-") for _ in range(rng.randint(1, 8))) for _ in range(2)]
        return f"`{words[0]}.{words[1]}.{_ident(rng, 'postgres').strip(chr(34)) or 't'}`"
    return ".".join(parts)


@pytest.mark.parametrize("dialect", sorted(QUOTES))
def test_no_true_reference_is_filtered_out(dialect):
    rng = random.Random(f"prefilter-{dialect}")
    checked = escaped = 0
    for _ in range(150):
        text = rng.choice(TEMPLATES).format(a=_relation(rng, dialect), b=_relation(rng, dialect))
        if rng.random() < 0.5:
            text = text.upper() if rng.random() < 0.5 else text.swapcase()
        result = find_references(text, dialect, default_schema=("s",))
        for ref in result.references:
            # What the registry hands the prefilter: the normalized bare name, lower-cased.
            pf = Prefilter([ref.relation.name.lower(), "unrelated_name"])
            assert pf.may_reference(text), (dialect, text, ref.relation)
            checked += 1
            escaped += "\\" in ref.written and ref.relation.name.lower() not in text.lower()
    assert checked > 100  # the generator really produced parseable references
    if dialect == "bigquery":
        assert escaped > 10   # names that only backslash escapes spell


def test_unicode_escaped_names_are_never_filtered_out():
    """``U&"customer_\\0066acts"`` names customer_facts without spelling it: such texts always pass,
    and the engine reads the name they spell (or, for one it cannot decode, never reports the text clean)."""
    rng = random.Random("prefilter-unicode")
    hidden = 0
    for _ in range(300):
        name = "".join(rng.choice(ODD.replace(" ", "")) for _ in range(rng.randint(1, 12)))
        spelled = unicode_spelling(rng, name)
        if rng.random() < 0.3:
            spelled = f"{_ident(rng, 'postgres')}.{spelled}"
        text = rng.choice(TEMPLATES).format(a=spelled, b=_relation(rng, "postgres"))
        assert Prefilter([name, "unrelated_name"]).may_reference(text), text
        assert Prefilter([name.lower()]).may_reference(text), text
        # without the U& rule the name's own spellings would have missed this text
        hidden += not Prefilter([name]).may_reference(text.replace('U&"', '"').replace('u&"', '"'))
        result = find_references(text, "postgres", default_schema=("s",))
        assert result.status != "parsed" or name in {r.relation.name for r in result.references}, text
    assert hidden > 150
    assert not Prefilter([]).may_reference('select * from U&"\\0061"')
    assert not Prefilter(["customer_facts"]).may_reference('select * from "U&customer"')


def test_bigquery_backslash_escapes():
    pf = Prefilter(["customer_facts"])
    for text in ("select * from ds.`customer\\x5ffacts`", "select * from `p.ds.customer\\u005Ffacts`",
                 "select * from ds.`\\143ustomer_facts`"):
        [ref] = find_references(text, "bigquery", ("ds",), "p").references
        assert ref.relation.name == "customer_facts" and not ref.exact_span
        assert pf.may_reference(text), text
    # a backslash with no backtick before it spells no identifier
    assert not pf.may_reference(r"select regexp_contains(x, r'\d+') from `p.ds.t`")
    assert not pf.may_reference(r"select '\x63ustomer_facts' from t")


def test_quote_escapes_and_case():
    pf = Prefilter(['we"ird', "customer_facts"])
    assert pf.may_reference('select * from "WE""IRD"')
    assert pf.may_reference("SELECT * FROM `my-proj.analytics.Customer_Facts`")
    assert not pf.may_reference("select * from customer_fact")
    assert spellings("a`b") >= {"a`b", "a``b", "a\\`b"}


def test_unicode_folding():
    pf = Prefilter(["straße"])
    assert pf.may_reference('SELECT * FROM "STRASSE"'.replace("SS", "ẞ"))  # capital sharp s
    assert pf.may_reference("select * from STRASSE")  # Snowflake folds unquoted ß to SS
    assert not Prefilter([]).may_reference("select 1")


def test_longer_identifiers_are_not_mentions():
    pf = Prefilter(["customer_facts"])
    for text in ("select * from analytics.customer_facts_v2", "select * from xcustomer_facts",
                 "select * from écustomer_facts", "select customer_facts1 from t"):
        assert not pf.may_reference(text), text
    for text in ("select * from customer_facts", "select * from [customer_facts]", "select 1 from`customer_facts`",
                 "select * from p-1.d.customer_facts", "select * from (customer_facts)", "customer_facts",
                 "select customer_facts.x from customer_facts_v2, customer_facts"):
        assert pf.may_reference(text), text
    odd = Prefilter(['"odd name!"', "a.b"])
    assert odd.may_reference('select * from """odd name!"""')
    assert odd.may_reference("select * from `x.a.b`") and not odd.may_reference("select * from xa.by")


def test_a_bigquery_wildcard_table_passes_the_prefilter_though_it_names_no_deprecated_table() -> None:
    """`p.d.events_2023*` reads events_20230105 without writing it: a candidate with wildcard_tables only."""
    text = "SELECT * FROM `p.d.events_2023*` WHERE _TABLE_SUFFIX > '0101'"
    parts = "SELECT * FROM `p`.`d`.`events_*`"
    assert not Prefilter(["events_20230105"]).may_reference(text)
    pf = Prefilter(["events_20230105"], wildcard_tables=True)
    assert pf.may_reference(text) and pf.may_reference(parts)
    assert not pf.may_reference("SELECT COUNT(*) FROM `p.d.sessions`")
    # and the engine agrees: the text reads the deprecated table through the pattern
    ref, = find_references(text, "bigquery").references
    assert ref.wildcard and ref.covers(find_references("SELECT 1 FROM `p.d.events_20230105`",
                                                       "bigquery").references[0].relation)


def test_the_pushed_down_history_filter_keeps_bigquery_wildcard_texts() -> None:
    from sqlalchemy.dialects import sqlite

    from deprecator.sources.sql_history import pushed_down_query

    def sql(dialect: str) -> str:
        return str(pushed_down_query("SELECT q AS query_text, u AS user_name, t AS start_time FROM log",
                                     ["events_20230105"], dialect).compile(dialect=sqlite.dialect(),
                                                                           compile_kwargs={"literal_binds": True}))
    assert "*`" in sql("bigquery") and "*`" not in sql("postgresql")
