"""Topology sources (the declarative file, discovery from metrics) and the reconciling sync."""
