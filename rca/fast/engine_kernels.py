"""The engine's hot loops, compiled with numba: symptom distances, the random walk, the paths.

Each is a loop over a few thousand links that Python and numpy pay for per step (a heap pop, a
numpy call of a few microseconds); compiled they cost a few percent of that. Each is plain Python
and numpy: with the compiled copies off (rca.fast) the same source runs in the interpreter, and
tests/unit/test_fast_paths.py holds the compiled results to that and to a scipy formulation of the
walk within a tolerance.

numba (numba.pydata.org) was chosen over Cython or a C extension because it compiles these
plain-Python loops as they are, needs no build step at install, and caches the machine code
beside this module (``cache=True``; a read-only install falls back to numba's per-user cache).
The signatures are given, so the kernels are compiled, or loaded from that cache, when this
module is imported rather than inside the first Infer.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit


@njit("float64(float64[:], int64)", cache=True)
def _sum(a, n):
    """The sum of a[:n], added in turn."""
    total = 0.0
    for i in range(n):
        total += a[i]
    return total


@njit(
    "float64[:](int64[:], int64[:], float64[:], boolean[:], float64[:], float64[:], float64[:],"
    " float64, int64, float64)",
    cache=True,
)
def walk(to_row, from_col, probability, dangling, personal, restart, rank, damping, iterations, tolerance):
    """Power iteration of the walk: new = damping * (P^T rank + dangling mass * personal) + restart."""
    n = rank.shape[0]
    any_dangling = dangling.any()
    stranded = np.empty(n)
    change = np.empty(n)
    for _ in range(iterations):
        new = np.zeros(n)
        for k in range(to_row.shape[0]):  # np.bincount(to_row, weights=probability * rank[from_col])
            new[to_row[k]] += probability[k] * rank[from_col[k]]
        if any_dangling:
            m = 0
            for i in range(n):
                if dangling[i]:
                    stranded[m] = rank[i]
                    m += 1
            mass = _sum(stranded, m)
            for i in range(n):
                new[i] += mass * personal[i]
        for i in range(n):
            new[i] *= damping
            new[i] += restart[i]
            change[i] = abs(new[i] - rank[i])
        done = _sum(change, n) < tolerance
        rank = new
        if done:
            break
    return rank


@njit("Tuple((float64[:, :], float64[:, :]))(int64, int64[:], float64[:], int64[:], int64[:], int64[:])", cache=True)
def symptom_distances(n, targets, gap, into_start, into_links, cause):
    """Per entity row and target, the cheapest (cost, hops) backwards over cause links (see PropagationGraph)."""
    cost = np.full((n, targets.shape[0]), np.inf)
    hops = np.full((n, targets.shape[0]), -1.0)
    for j in range(targets.shape[0]):
        target = targets[j]
        best = np.full(n, np.inf)
        steps = np.full(n, -1, dtype=np.int64)
        best[target], steps[target] = 0.0, 0
        queue = [(0.0, 0, target)]
        while queue:
            c, h, node = heapq.heappop(queue)
            if best[node] < c:
                continue
            new = c + 1.0 + (0.0 if node == target else gap[node])
            for position in range(into_start[node], into_start[node + 1]):
                u = cause[into_links[position]]
                if new < best[u]:
                    best[u], steps[u] = new, h + 1
                    heapq.heappush(queue, (new, h + 1, u))
        for i in range(n):
            cost[i, j] = best[i]
            hops[i, j] = steps[i]
    return cost, hops


@njit(
    "Tuple((float64[:], int64[:], int64[:], int64[:]))"
    "(int64, float64[:], int64[:], int64[:], int64[:], int64[:], int64)",
    cache=True,
)
def cheapest_paths(start, log_p, order_key, from_start, from_links, effect, max_hops):
    """Dijkstra from `start` forwards over cause links, a link costing -log_p, at most max_hops hops.

    The heap holds (cost, hops, order_key, row, trail): order_key is unique per row, so ties
    break by it and trails are never compared. A trail is a number into (trail_parent,
    trail_link), each trail its parent plus one link, so the path recorded for a row is the one
    that last lowered its cost. Returns the cost per row (inf: not reached), each row's trail
    and the two trail arrays (trail 0 is the empty trail).
    """
    n = order_key.shape[0]
    best = np.full(n, np.inf)
    trail_of = np.zeros(n, dtype=np.int64)
    parents, links = [np.int64(-1)], [np.int64(-1)]
    best[start] = 0.0
    queue = [(0.0, np.int64(0), order_key[start], start, np.int64(0))]
    while queue:
        cost, hops, _, node, trail = heapq.heappop(queue)
        if best[node] < cost or hops >= max_hops:
            continue
        for position in range(from_start[node], from_start[node + 1]):
            k = from_links[position]
            target = effect[k]
            new = cost - log_p[k]
            if new < best[target]:
                parents.append(trail)
                links.append(k)
                best[target], trail_of[target] = new, len(parents) - 1
                heapq.heappush(queue, (new, hops + 1, order_key[target], target, np.int64(len(parents) - 1)))
    trail_parent, trail_link = np.empty(len(parents), dtype=np.int64), np.empty(len(links), dtype=np.int64)
    for t in range(len(parents)):
        trail_parent[t], trail_link[t] = parents[t], links[t]
    return best, trail_of, trail_parent, trail_link
