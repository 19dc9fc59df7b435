"""The learned half of the engine: the root-cause GNN, its training, artifacts and serving."""
