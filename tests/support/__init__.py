"""Fixtures shared by tests and benchmarks: synthetic metrics, a local Prometheus, direct signal writes."""
