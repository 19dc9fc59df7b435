"""Which entities an entity's changed warning and error lines name: the peer a victim blames.

A service whose calls fail says so and names whom it called ("call to session failed: connection
reset by peer", "dial tcp redis-feed:6379: connection refused", "could not connect to
postgres-ledger"); the entity at fault names nobody, or itself. So an entity named by the new error
lines of others is likely on the fault's path, and one whose own new error lines name another
entity is likely a victim pointing elsewhere. Only changed templates count (rca.rank.log_change):
a peer a service has been complaining about all along says nothing about this incident.

Names are matched as whole tokens of the template and its sample line (split at everything but
letters, digits, '-' and '_', so host:port, URLs and DNS names give the bare name), against each
entity's id and name; names shorter than MIN_NAME, and names several entities share, are not
matched: "db" or "api" would be found everywhere. An entity never blames itself nor what it is
made of: its own hosts, instances and service are left out. A raw syslog line names its sender's
host in its header (RFC 5424 HOSTNAME, the BSD host field): live, every service "blamed" the host
it runs on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rca.rank.log_change import SEVERE, TemplateChange
from rca.rank.types import Edge, EntityNode

MIN_NAME = 4
_TOKEN_SPLIT = re.compile(r"[^a-z0-9_-]+")


def named_peers(
    changes: Iterable[TemplateChange], nodes: Mapping[str, EntityNode], edges: Iterable[Edge] = ()
) -> dict[str, set[str]]:
    """Entity id -> the other entities its changed warning and error templates name (not its own parts)."""
    tokens_of: dict[str, set[str]] = {}  # entity -> tokens of its changed warning and error lines
    for change in changes:
        if change.severity > SEVERE or change.signature_class == "change":
            continue
        text = f"{change.template} {change.sample}".lower()
        tokens_of.setdefault(change.entity_id, set()).update(_TOKEN_SPLIT.split(text))
    if not tokens_of:
        return {}
    lookup = _name_lookup(nodes, set().union(*tokens_of.values()))
    own = _own_parts(edges, set(tokens_of))
    out: dict[str, set[str]] = {}
    for entity, tokens in tokens_of.items():
        peers = {lookup[t] for t in tokens if t in lookup} - {entity} - own.get(entity, set())
        if peers:
            out[entity] = peers
    return out


def _own_parts(edges: Iterable[Edge], entities: set[str]) -> dict[str, set[str]]:
    """For each of ``entities``: its instances or service (INSTANCE_OF) and the hosts it or they run on."""
    instance_of: dict[str, set[str]] = {}
    runs_on: dict[str, set[str]] = {}
    for edge in edges:
        if edge.type == "INSTANCE_OF":
            instance_of.setdefault(edge.source, set()).add(edge.target)
            instance_of.setdefault(edge.target, set()).add(edge.source)
        elif edge.type == "RUNS_ON":
            runs_on.setdefault(edge.source, set()).add(edge.target)
    out = {}
    for entity in entities:
        relatives = instance_of.get(entity, set())
        hosts = set().union(runs_on.get(entity, set()), *(runs_on.get(r, set()) for r in relatives))
        out[entity] = relatives | hosts
    return out


def _name_lookup(nodes: Mapping[str, EntityNode], tokens: set[str]) -> dict[str, str]:
    """Token -> entity id, for the tokens that are the id or name of exactly one entity."""
    owners: dict[str, set[str]] = {}
    for node in nodes.values():
        for name in (node.id.lower(), (node.name or "").lower()):
            if name in tokens and len(name) >= MIN_NAME:
                owners.setdefault(name, set()).add(node.id)
    return {name: next(iter(ids)) for name, ids in owners.items() if len(ids) == 1}
