"""Which entities an entity's changed warning and error lines name: the peer a victim blames.

A service whose calls fail says so and names whom it called ("call to session failed: connection
reset by peer", "dial tcp redis-feed:6379: connection refused", "could not connect to
postgres-ledger"); the entity at fault names nobody, or itself. So an entity named by the new error
lines of others is likely on the fault's path, and one whose own new error lines name another
entity is likely a victim pointing elsewhere. Only changed templates count (rca.rank.log_change):
a peer a service has been complaining about all along says nothing about this incident.

Names are matched as whole tokens of the template and its sample line's message (the syslog header,
which names the sender's own host, left out; split at everything but
letters, digits, '-' and '_', so host:port, URLs and DNS names give the bare name), against each
entity's id and name; names shorter than MIN_NAME, and names several entities share, are not
matched: "db" or "api" would be found everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ingest.syslog.parser import SyslogParser
from rca.rank.log_change import SEVERE, TemplateChange
from rca.rank.types import EntityNode

MIN_NAME = 4
_TOKEN_SPLIT = re.compile(r"[^a-z0-9_-]+")
# A sample is the raw line: its syslog header names the sender's own host (RFC 5424 HOSTNAME, the
# BSD host field), which every line of every service on that host would otherwise "blame".
_HEADERS = SyslogParser()


def named_peers(changes: Iterable[TemplateChange], nodes: Mapping[str, EntityNode]) -> dict[str, set[str]]:
    """Entity id -> the other entities its changed warning and error templates name."""
    tokens_of: dict[str, set[str]] = {}  # entity -> tokens of its changed warning and error lines
    for change in changes:
        if change.severity > SEVERE or change.signature_class == "change":
            continue
        text = f"{change.template} {_HEADERS.parse(change.sample).message}".lower()
        tokens_of.setdefault(change.entity_id, set()).update(_TOKEN_SPLIT.split(text))
    if not tokens_of:
        return {}
    lookup = _name_lookup(nodes, set().union(*tokens_of.values()))
    out: dict[str, set[str]] = {}
    for entity, tokens in tokens_of.items():
        peers = {lookup[t] for t in tokens if t in lookup} - {entity}
        if peers:
            out[entity] = peers
    return out


def _name_lookup(nodes: Mapping[str, EntityNode], tokens: set[str]) -> dict[str, str]:
    """Token -> entity id, for the tokens that are the id or name of exactly one entity."""
    owners: dict[str, set[str]] = {}
    for node in nodes.values():
        for name in (node.id.lower(), (node.name or "").lower()):
            if name in tokens and len(name) >= MIN_NAME:
                owners.setdefault(name, set()).add(node.id)
    return {name: next(iter(ids)) for name, ids in owners.items() if len(ids) == 1}
