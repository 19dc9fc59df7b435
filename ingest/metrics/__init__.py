"""The metrics worker: Prometheus reads, anomaly detection and tracking, topology discovery."""
