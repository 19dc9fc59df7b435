"""Root-cause ranking over an incident subgraph.

types (input/output shapes) -> graph (propagation view) -> features (per entity, versioned) ->
rca.rules (durable-rules findings) -> propagation / walk (consistency scores) -> combined (the
engine: fitted conditional logit, weights.json from calibrate) -> paths + explain. Every ranker,
baselines included, implements ranker.Ranker; the service uses combined.default_engine().
"""
