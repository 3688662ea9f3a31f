"""A plan statement edited by hand is shown where it differs, not cut before the difference.

Found by adding a column to a saved plan's CREATE OR REPLACE VIEW: apply refused it (good)
with "the plan's statement 1 is `CREATE OR REPLACE VIEW ... AS SELECT c.client_id AS
customer_id, (c.first_name:...`, deprecator derives `CREATE OR REPLACE VIEW ... (c.first_name:...`",
the same 160 characters twice: the edit, further on, was in neither.
"""

from __future__ import annotations

from deprecator.operations import Operation
from deprecator.plan.staleness import _first_difference
from deprecator.sql.model import RelationName

REL = RelationName(None, "analytics", "customer_revenue")
HEAD = ('CREATE OR REPLACE VIEW "analytics"."customer_revenue" ("customer_id", "full_name", "country", "revenue") AS '
        "SELECT c.client_id AS customer_id, (c.first_name::text || ' '::text) || c.last_name::text AS full_name, ")


def test_the_difference_is_in_both_excerpts() -> None:
    tail = " sum(i.total) AS revenue FROM analytics.client c"
    planned = [Operation("replace_view", REL, HEAD + "c.country, c.email," + tail)]
    derived = [Operation("replace_view", REL, HEAD + "c.country," + tail)]
    text = _first_difference(planned, derived, "statement")
    planned_part, derived_part = text.split(", deprecator derives ")
    assert "c.email" in planned_part
    assert "c.country, sum(i.total)" in derived_part


def test_a_short_statement_is_shown_whole_as_before() -> None:
    planned = [Operation("replace_view", REL, "CREATE VIEW v AS SELECT 1")]
    derived = [Operation("replace_view", REL, "CREATE VIEW v AS SELECT 2")]
    assert _first_difference(planned, derived, "statement") == (
        "the plan's statement 1 is `CREATE VIEW v AS SELECT 1`, deprecator derives `CREATE VIEW v AS SELECT 2`")
