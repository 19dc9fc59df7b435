"""The root-cause GNN: model, artifacts, attribution and serving."""
