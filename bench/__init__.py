"""Benchmarks of a synthetic province on PostgreSQL: ``python -m bench.run --members N``."""
