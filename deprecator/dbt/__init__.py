"""dbt: ``ref()``/``source()`` calls in model SQL (jinja2's parser) and ``manifest.json``."""
