"""Rank fusion: combine ranked lists of the same kind of item (here: articles by page id).

Pure Python + numpy, no extra needed. Both functions take lists of rankings, each ranking a list
of ``(key, score)`` pairs best first, and return ``[(key, fused score)]`` best first.

Ties in the fused score are broken by the best (smallest) rank the key got in any list, then by
the order of the lists (a key of the first list first), so the output is deterministic.
"""
from __future__ import annotations

from typing import Hashable, Sequence

RRF_K = 60

Ranking = Sequence[tuple[Hashable, float]]


def rrf(rankings: Sequence[Ranking], k: int = RRF_K, weights: Sequence[float] | None = None):
    """Reciprocal rank fusion (Cormack et al. 2009): ``sum_lists w / (k + rank)``, rank from 1.

    >>> rrf([[("a", 9.0), ("b", 5.0)], [("b", 0.9), ("c", 0.8)]], k=60)
    [('b', 0.03252247488101534), ('a', 0.01639344262295082), ('c', 0.016129032258064516)]
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict = {}
    best: dict = {}
    for li, (ranking, w) in enumerate(zip(rankings, weights)):
        for r, (key, _score) in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + r)
            if key not in best or (r, li) < best[key]:
                best[key] = (r, li)
    return _sorted(scores, best)


def weighted(rankings: Sequence[Ranking], weights: Sequence[float] | None = None):
    """Weighted sum of min-max normalised scores; a key missing from a list gets 0 there.

    Each list is normalised over the items it returned: best -> 1, worst -> 0 (all equal -> 1).

    >>> weighted([[("a", 10.0), ("b", 5.0), ("c", 0.0)], [("c", 0.9), ("a", 0.5)]], [0.5, 0.5])
    [('a', 0.5), ('c', 0.5), ('b', 0.25)]
    """
    weights = weights or [1.0 / len(rankings)] * len(rankings)
    scores: dict = {}
    best: dict = {}
    for li, (ranking, w) in enumerate(zip(rankings, weights)):
        if not ranking:
            continue
        values = [float(s) for _, s in ranking]
        lo, hi = min(values), max(values)
        for r, ((key, _), v) in enumerate(zip(ranking, values), start=1):
            norm = (v - lo) / (hi - lo) if hi > lo else 1.0
            scores[key] = scores.get(key, 0.0) + w * norm
            if key not in best or (r, li) < best[key]:
                best[key] = (r, li)
    return _sorted(scores, best)


def _sorted(scores: dict, best: dict):
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]]))
