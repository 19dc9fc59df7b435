"""Errors of the graph layer, each with a message an operator can act on."""


class GraphError(RuntimeError):
    """Base of every graph-layer error; its message is one clear line."""


class GraphUnreachable(GraphError):
    """The server did not answer at the configured address."""


class GraphAuthFailed(GraphError):
    """The server answered but refused the credentials."""


class SchemaTooOld(GraphError):
    """The graph's applied migrations are older than this code needs."""


class EmbeddedServerError(GraphError):
    """The embedded server could not be started (port in use, data directory locked, JVM failure)."""
