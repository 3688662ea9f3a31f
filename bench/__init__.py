"""Benchmarks: `python3 -m bench` (see BENCHMARKS.md)."""
