"""Root-cause analysis: features, rules, models, ranking, the gRPC service and the command line."""
