"""The syslog worker: listeners, parsing, templates, classes, entities, aggregation, graph writes."""
