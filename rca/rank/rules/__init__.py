"""Rule packs (durable-rules) that turn evidence around an incident into named findings."""
