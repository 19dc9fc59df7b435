"""Every Cypher statement of the project as a named constant, grouped by what it touches.

Values travel only as parameters. Where a statement needs a label or relationship type, it is
built once from the closed enums of ``graph_schema.model`` by a function here, never from input.
"""
