"""Everything that touches the graph database: model, migrations, Cypher, store, embedded server."""
