"""Statements about the schema itself: constraints, indexes, applied migrations, counts."""

CREATE_UNIQUE_CONSTRAINT = "CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{property} IS UNIQUE"
CREATE_PROPERTY_INDEX = "CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{property})"

APPLIED_MIGRATIONS = """
MATCH (m:SchemaMigration)
RETURN m.version AS version, m.description AS description, m.applied_at AS applied_at
ORDER BY version
"""

RECORD_MIGRATION = """
MERGE (m:SchemaMigration {version: $version})
ON CREATE SET m.description = $description, m.applied_at = $applied_at
"""

# Forget the migrations from $version on, so they run again (tests that start from an older schema).
FORGET_MIGRATIONS_FROM = "MATCH (m:SchemaMigration) WHERE m.version >= $version DETACH DELETE m"

COUNT_LABEL = "MATCH (n:{label}) RETURN count(n) AS count"

SERVER_COMPONENTS = "CALL dbms.components() YIELD name, versions RETURN name, versions"

# Empties one label of a throwaway graph (`rca diagnose --all` between cases); the label comes from
# graph_schema.model.Label, never from input.
DELETE_LABEL = "MATCH (n:{label}) DETACH DELETE n"

# Relationships of one type (a type of graph_schema.model.RelType, never input), e.g. to prove a graph unchanged.
COUNT_TYPE = "MATCH ()-[r:{type}]->() RETURN count(r) AS count"
