"""Helpers shared by the tests and the benchmarks: a worker subprocess, its metrics, a real broker's topics."""
