"""Fitting what the rankers learn: combination weights, the GNN, fine-tuning from feedback."""
