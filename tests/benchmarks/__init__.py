"""Benchmarks run by ``make bench`` (tests/benchmarks/run_all.py); pytest runs each once at a
small size only (test_benchmarks_run.py), so that none breaks unnoticed."""
