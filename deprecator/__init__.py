"""deprecator: retire warehouse tables and dbt models without breaking their users."""

from __future__ import annotations

__version__ = "0.1.0"
