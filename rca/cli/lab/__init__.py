"""The live lab (`rca lab`): a miniature estate of real processes on loopback with real telemetry and real faults.

Runtime (estate, service hosts, datastores, hosts, load, Prometheus, supervisor): docs/lab.md.
"""
