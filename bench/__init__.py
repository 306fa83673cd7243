"""Benchmarks of invdash, run on demand (`make bench`), never in the test suite."""
