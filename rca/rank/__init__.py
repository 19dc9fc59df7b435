"""Root-cause ranking over an incident subgraph: rankers, their inputs and one result type."""
