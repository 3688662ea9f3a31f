"""A PostgreSQL-dialect project whose scan reads a query-history file (history.jsonl) and deprecates
analytics.customer_facts: for the tests that run the CLI as a subprocess and signal it mid-scan.

Shared by test_cli_interrupt and test_parallel_sigterm (a plain module, not a test module, so importing
it collects no tests twice).
"""

CONFIG = """\
warehouse:
  dialect: postgres
  default_schema: analytics
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
state:
  url: sqlite:///.deprecator/state.db
"""

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
"""
