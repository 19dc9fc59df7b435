"""Ingest workers: syslog, Prometheus metrics and topology sources into the graph."""
