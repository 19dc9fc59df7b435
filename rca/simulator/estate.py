"""Random but realistic estates: tiered services with fan-in/out, shared datastores and caches, hosts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SERVICE_WORDS = (
    "gateway",
    "frontend",
    "checkout",
    "payments",
    "cart",
    "catalog",
    "search",
    "users",
    "auth",
    "orders",
    "inventory",
    "shipping",
    "pricing",
    "reviews",
    "recommend",
    "notify",
    "email",
    "billing",
    "ledger",
    "fraud",
    "media",
    "profile",
    "session",
    "ads",
    "geo",
    "quotes",
    "tax",
    "promo",
    "wishlist",
    "returns",
    "loyalty",
    "invoice",
    "audit",
    "export",
    "report",
    "tracking",
)
DATASTORE_KINDS = (
    ("postgres", "db"),
    ("redis", "cache"),
    ("mysql", "db"),
    ("mongodb", "docdb"),
    ("redis", "cache"),
    ("elasticsearch", "index"),
    ("kafka", "queue"),
)
SERVICE_TECH = ("go", "java", "python", "node", "rust")


@dataclass(frozen=True)
class EntityRow:
    """One entity as the graph stores it (label plus the documented entity properties)."""

    id: str
    label: str
    name: str
    technology: str | None
    tier: int = 0  # 0 = user-facing; used only by the simulator to place symptoms

    def as_row(self) -> dict:
        """The property row the graph writes accept."""
        return {
            "id": self.id,
            "label": self.label,
            "name": self.name,
            "kind": self.label.lower(),
            "technology": self.technology,
            "source": "simulator",
        }


@dataclass
class Estate:
    """Entities and topology edges (graph direction) of one simulated estate."""

    entities: dict[str, EntityRow] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (source, target, type)

    def add(self, row: EntityRow) -> None:
        self.entities[row.id] = row

    def of_label(self, label: str) -> list[str]:
        """Ids of the entities with this label, in creation order."""
        return [e.id for e in self.entities.values() if e.label == label]


def _split(n_entities: int) -> tuple[int, int, int, int]:
    """How many hosts, datastores, services and instances make up n entities."""
    hosts = max(2, round(n_entities * 0.12))
    datastores = max(2, round(n_entities * 0.08))
    rest = max(4, n_entities - hosts - datastores)
    services = max(2, rest // 3)
    return hosts, datastores, services, rest - services


def _names(rng: random.Random, count: int) -> list[str]:
    words = list(SERVICE_WORDS)
    rng.shuffle(words)
    out = []
    for i in range(count):
        word = words[i % len(words)]
        out.append(word if i < len(words) else f"{word}-{i // len(words) + 1}")
    return out


def generate_estate(rng: random.Random, n_entities: int, prefix: str = "") -> Estate:
    """A tiered estate of about n_entities entities (exactly n when n >= 20)."""
    n_hosts, n_stores, n_services, n_instances = _split(n_entities)
    estate = Estate()
    n_tiers = 3 if n_services < 10 else 4 if n_services < 60 else 5
    names = _names(rng, n_services)
    tiers: list[list[str]] = [[] for _ in range(n_tiers)]
    n_gateways = max(1, min(3, n_services // 12))
    for i, name in enumerate(names):
        tier = 0 if i < n_gateways else 1 + int(rng.random() ** 0.8 * (n_tiers - 1))
        tier = min(tier, n_tiers - 1)
        sid = f"{prefix}svc-{name}"
        estate.add(EntityRow(sid, "Service", name, rng.choice(SERVICE_TECH), tier))
        tiers[tier].append(sid)
    tiers = [t for t in tiers if t]
    # Calls go down the tiers; every non-gateway service gets at least one caller (fan-in), and
    # callers call 1-4 services (fan-out), mostly the next tier, sometimes skipping one.
    for depth in range(1, len(tiers)):
        for sid in tiers[depth]:
            caller = rng.choice(tiers[depth - 1])
            estate.edges.append((caller, sid, "CALLS"))
    calls = {(s, t) for s, t, _ in estate.edges}
    for depth in range(len(tiers) - 1):
        for sid in tiers[depth]:
            for _ in range(rng.randint(0, 3)):
                lower = tiers[min(len(tiers) - 1, depth + 1 + (rng.random() < 0.25))]
                target = rng.choice(lower)
                if (sid, target) not in calls and target != sid:
                    calls.add((sid, target))
                    estate.edges.append((sid, target, "CALLS"))
    # Datastores: a few popular ones shared by many services (preferential attachment).
    stores = []
    for i in range(n_stores):
        tech, kind = (
            DATASTORE_KINDS[i % len(DATASTORE_KINDS)] if i < len(DATASTORE_KINDS) else rng.choice(DATASTORE_KINDS)
        )
        did = f"{prefix}ds-{kind}-{i + 1}"
        estate.add(EntityRow(did, "Datastore", f"{tech}-{kind}-{i + 1}", tech, len(tiers)))
        stores.append(did)
    popularity = dict.fromkeys(stores, 1.0)
    services = estate.of_label("Service")
    users_of: dict[str, list[str]] = {d: [] for d in stores}
    for sid in services:
        tier = estate.entities[sid].tier
        wanted = rng.choice((0, 1, 1, 2)) if tier > 0 else rng.choice((0, 0, 1))
        for _ in range(wanted):
            did = rng.choices(stores, weights=[popularity[d] for d in stores])[0]
            if sid in users_of[did]:
                continue
            users_of[did].append(sid)
            popularity[did] += 1.5
            kind = "CALLS" if estate.entities[did].technology in ("redis", "elasticsearch", "kafka") else "DEPENDS_ON"
            estate.edges.append((sid, did, kind))
    lower_tier = [s for s in services if estate.entities[s].tier > 0] or services
    for did in stores:  # no orphan datastores
        if not users_of[did]:
            sid = rng.choice(lower_tier)
            users_of[did].append(sid)
            estate.edges.append((sid, did, "DEPENDS_ON"))
    # Instances and host placement.
    hosts = [f"{prefix}host-{i + 1:03d}" for i in range(n_hosts)]
    for hid in hosts:
        estate.add(EntityRow(hid, "Host", hid.removeprefix(prefix), "linux", len(tiers) + 1))
    counts = dict.fromkeys(services, 1)
    for _ in range(max(0, n_instances - len(services))):
        counts[rng.choice(services)] += 1
    placed = 0
    for sid in services:
        name = estate.entities[sid].name
        for k in range(counts[sid]):
            iid = f"{prefix}inst-{name}-{k + 1}"
            estate.add(
                EntityRow(
                    iid, "Instance", f"{name}-{k + 1}", estate.entities[sid].technology, estate.entities[sid].tier
                )
            )
            estate.edges.append((iid, sid, "INSTANCE_OF"))
            host = hosts[placed] if placed < len(hosts) else rng.choice(hosts)
            placed += 1
            estate.edges.append((iid, host, "RUNS_ON"))
    for did in stores:
        estate.edges.append((did, rng.choice(hosts), "RUNS_ON"))
    return estate
