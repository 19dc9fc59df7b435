"""The datastore_config fault: a real configuration change that leaves a datastore's clients too few
connections, and its undo (rca.cli.lab.injectors checks the fault and calls ``starve_connections``).

PostgreSQL's max_connections is read only at server start, so "lower it and reload" changes nothing
until a restart, and the restart is itself an outage. The default mechanism is therefore the per-role
connection limit (``ALTER ROLE ... CONNECTION LIMIT``), a catalog setting an operator changes that
applies to the next connection without a restart; the clients' open sessions are terminated so they
reconnect into the limit, as they would after a pooler recycle. ``mechanism=max_connections`` does the
other real thing: ``ALTER SYSTEM SET max_connections`` and a restart. On redis, ``maxclients`` is a
runtime setting (``CONFIG SET``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Log = Callable[[str, str], None]  # (severity, message) as the datastore
Undo = Callable[[], None]

CLIENT_ROLES = "SELECT rolname, rolconnlimit FROM pg_roles WHERE rolcanlogin AND NOT rolsuper ORDER BY rolname"
TERMINATE_CLIENTS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usesysid IN "
    "(SELECT oid FROM pg_roles WHERE rolcanlogin AND NOT rolsuper)"
)
RESERVED_SLOTS = (
    "SELECT coalesce(sum(setting::int), 0) FROM pg_settings "
    "WHERE name IN ('superuser_reserved_connections', 'reserved_connections')"
)
REDIS_TIMEOUT_S = 5.0
MECHANISMS = ("role_limit", "max_connections")
DEFAULT_LIMIT = {"postgresql": 1, "redis": 2}


class Datastore(Protocol):
    kind: str
    port: int

    def stop(self) -> None: ...
    def start(self) -> None: ...
    def sql(self, statement: str) -> Any: ...


def lowest_limit(mechanism: str) -> int:
    """The lowest limit a mechanism takes: a role's limit and redis' clients may be 0 (every client refused);
    PostgreSQL's max_connections must leave at least one connection beyond the reserved ones."""
    return 1 if mechanism == "max_connections" else 0


class StarvationError(ValueError):
    """The change cannot be made on this datastore; the message says why."""


def starve_connections(
    store: Datastore, limit: int | None, mechanism: str, log: Log, going_down: Callable[[], bool]
) -> Undo:
    """Lower the clients' connection limit of STORE to LIMIT; return how to restore it."""
    limit = DEFAULT_LIMIT.get(store.kind, 1) if limit is None else limit
    if store.kind == "postgresql":
        if mechanism == "max_connections":
            return _postgres_max_connections(store, limit, log, going_down)
        return _postgres_role_limit(store, limit, log)
    if store.kind == "redis":
        return _redis_maxclients(store, limit, log)
    raise StarvationError(f"no connection-limit change for a datastore of kind {store.kind}")


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(result: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in (result or [])]


def _set_role_limit(store: Datastore, role: str, limit: int, log: Log) -> None:
    # The role name comes from the catalog, quoted as an identifier; the limit is an int.
    store.sql(f"ALTER ROLE {_quote_identifier(role)} CONNECTION LIMIT {int(limit)}")
    log("info", f"LOG:  statement: ALTER ROLE {role} CONNECTION LIMIT {int(limit)}")


def _postgres_role_limit(store: Datastore, limit: int, log: Log) -> Undo:
    roles = _rows(store.sql(CLIENT_ROLES))
    if not roles:
        raise StarvationError("no non-superuser login role to limit (the clients must not log in as superuser)")
    for role, _ in roles:
        _set_role_limit(store, role, limit, log)
    store.sql(TERMINATE_CLIENTS)

    def undo() -> None:
        for role, before in roles:
            _set_role_limit(store, role, before, log)

    return undo


def _postgres_max_connections(store: Datastore, limit: int, log: Log, going_down: Callable[[], bool]) -> Undo:
    # The superuser slots are kept on top of the clients' ones (PostgreSQL refuses fewer).
    total = limit + int(_rows(store.sql(RESERVED_SLOTS))[0][0])
    store.sql(f"ALTER SYSTEM SET max_connections = {total}")
    log("info", f'LOG:  parameter "max_connections" set to "{total}" in postgresql.auto.conf; restarting')
    store.stop()
    store.start()

    def undo() -> None:
        store.sql("ALTER SYSTEM RESET max_connections")
        if not going_down():
            store.stop()
            store.start()

    return undo


def _redis_maxclients(store: Datastore, limit: int, log: Log) -> Undo:
    import redis  # the lab's redis client library, needed only here

    # The fault holds one admin connection for its own undo (a new one might be refused); it counts
    # against maxclients, so the clients get LIMIT.
    admin = redis.Redis(host="127.0.0.1", port=store.port, socket_timeout=REDIS_TIMEOUT_S)
    current: Any = admin.config_get("maxclients")  # a dict from the synchronous client
    before = str(current["maxclients"])
    admin.config_set("maxclients", limit + 1)
    admin.client_kill_filter(_type="normal", skipme=True)
    log("warning", f"CONFIG SET maxclients {limit + 1}")

    def undo() -> None:
        try:
            admin.config_set("maxclients", before)
        except redis.RedisError:
            pass  # the held connection broke: the server restarted and forgot CONFIG SET anyway
        finally:
            admin.close()

    return undo
