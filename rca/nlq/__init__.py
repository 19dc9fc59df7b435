"""Ask: natural-language questions about the estate, understood offline and answered from the graph or Infer."""
