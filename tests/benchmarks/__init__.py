"""Benchmarks run by ``make bench`` (tests/benchmarks/run_all.py), not by pytest."""
