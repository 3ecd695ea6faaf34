"""Benchmarks run by `opsgraph bench`."""
