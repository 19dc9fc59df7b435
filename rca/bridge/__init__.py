"""The Alertmanager bridge: webhook notifications in, Infer per alert group, diagnoses out to receivers."""
