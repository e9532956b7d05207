"""Numba kernels of the re-ranker: a sum of regression trees over a feature matrix, and the text
features of the candidates.

Trees are concatenated: tree t owns internal nodes ``node_start[t]:node_start[t+1]`` of ``feature``,
``threshold``, ``left`` and ``right`` (children local to the tree: ``c >= 0`` an internal node,
``c < 0`` leaf ``-c - 1``) and leaves ``leaf_start[t]:leaf_start[t+1]`` of ``value``. A row goes
left when its feature value is ``<= threshold``. Each row's sum runs over trees in order from 0.0,
so the result equals the plain-numpy evaluation (tests/_oracle.py) to the bit.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit

from wikisearch.search._search_kernels import _combine, _gallop


#: Rows walked down a tree together by :func:`predict_trees`.
_BLOCK = 8


@njit(cache=True, nogil=True)
def predict_trees(X, node_start, leaf_start, feature, threshold, left, right, value):
    """Tree by tree, each tree walked by a block of ``_BLOCK`` rows at once, one level a step: the
    rows' paths are independent, so the processor overlaps them instead of waiting on one path's
    unpredictable branches (the shipped model's 200 trees over the 100 candidates of 100 real
    queries: 0.51 ms a query against 0.70 ms walking each row through every tree in turn; blocks of
    4, 16 and 32 rows 0.52, 0.51 and 0.50 ms; session 23, an idle machine).
    Each row still sums its trees in order from 0.0, so the result is bit for bit the row-by-row
    sum (tests/_oracle.py)."""
    n = X.shape[0]
    T = node_start.shape[0] - 1
    out = np.zeros(n, np.float64)
    nodes = np.zeros(_BLOCK, np.int64)
    for t in range(T):
        ns = node_start[t]
        ls = leaf_start[t]
        if node_start[t + 1] == ns:                           # a single leaf
            v = value[ls]
            for i in range(n):
                out[i] += v
            continue
        for b0 in range(0, n, _BLOCK):
            m = min(_BLOCK, n - b0)
            for r in range(m):
                nodes[r] = 0
            active = m
            while active > 0:
                active = 0
                for r in range(m):
                    node = nodes[r]
                    if node >= 0:
                        j = ns + node
                        node = left[j] if X[b0 + r, feature[j]] <= threshold[j] else right[j]
                        nodes[r] = node
                        active += node >= 0
            for r in range(m):
                out[b0 + r] += value[ls - nodes[r] - 1]
    return out


#: Rows :func:`predict_quickscorer` takes together (the shipped model over 100 real candidates a
#: query: 4, 8, 16, 32 and 64 rows 0.23, 0.19, 0.17, 0.17 and 0.16 ms; one row at a time 0.27 ms).
QUICK_ROWS = 32
#: A 32-bit de Bruijn sequence: ``DEBRUIJN_TABLE[((b * DEBRUIJN) >> 27) & 31]`` is the index of the
#: one set bit of ``b`` (1 << 0 ... 1 << 30); the product stays under 2 ** 58, so it never
#: overflows an int64 (nor warns in plain Python).
DEBRUIJN = 0x077CB531
DEBRUIJN_TABLE = np.zeros(32, np.int64)
for _i in range(32):
    DEBRUIJN_TABLE[(((1 << _i) * DEBRUIJN) >> 27) & 31] = _i


@njit(cache=True, nogil=True)
def predict_quickscorer(X, feat_start, threshold, tree, mask, leaf_start, value, debruijn_table, rows):
    """The same sums as :func:`predict_trees`, by QuickScorer (Lucchese et al., SIGIR 2015, with
    its blocks of rows): no row walks a tree. The internal nodes of all trees are grouped by feature
    (``feat_start``: CSR over ``X``'s columns) and sorted by ``threshold``; a node whose test fails
    for a row (the row goes right: not ``value <= threshold``) rules out the leaves under its left
    child, so ``mask`` is every bit set but those leaves' (a tree's leaves numbered left to right, at
    most 31). For a block of ``rows`` rows (:data:`QUICK_ROWS`), each feature's nodes are read in threshold
    order until one whose test holds for every row of the block; tree t's exit leaf is then the
    lowest bit left in its mask (found by :data:`DEBRUIJN`), and ``value[leaf_start[t] + bit]`` its
    value. Each row sums its trees in order from 0.0, as :func:`predict_trees` does, so the two
    agree to the bit (tests compare both with tests/_oracle.py). The shipped model's 200 trees over
    100 real candidates a query: 0.17 ms against 0.57 ms (session 25)."""
    n = X.shape[0]
    F = feat_start.shape[0] - 1
    T = leaf_start.shape[0] - 1
    B = max(rows, 1)                                # (an argument: as a constant the kernel ran 1.4x slower)
    out = np.zeros(n, np.float64)
    masks = np.empty((T, B), np.int64)
    xs = np.empty(B, np.float64)
    for b0 in range(0, n, B):
        m = min(B, n - b0)
        masks[:, :] = -1
        for f in range(F):
            for r in range(m):
                xs[r] = X[b0 + r, f]
            for r in range(m, B):
                xs[r] = -np.inf                     # (goes left at every node)
            for j in range(feat_start[f], feat_start[f + 1]):
                th = threshold[j]
                t = tree[j]
                mk = mask[j]
                fails = False
                for r in range(B):
                    c = not (xs[r] <= th)
                    masks[t, r] &= mk if c else -1
                    fails |= c
                if not fails:                       # (nor at a higher threshold)
                    break
        for r in range(m):
            acc = 0.0
            for t in range(T):
                low = masks[t, r] & -masks[t, r]    # (the exit leaf's bit is always set)
                acc += value[leaf_start[t] + debruijn_table[((low * DEBRUIJN) >> 27) & 31]]
            out[b0 + r] = acc
    return out


@njit(cache=True, nogil=True)
def candidate_features(cands, offsets, docids, masks, tfpos, tfs, idf, field_lengths, weights, norm_a,
                       norm_c, k1, model, group, n_groups, norm_a1, norm_c1, k1_field):
    """The text features of the sorted candidates ``cands`` in one walk over the query's postings
    (CSR as in ``_search_kernels``; every field allowed), each (term, candidate) found by galloping:

    - ``bm25f[C]``: the first stage's score (``weights``, ``norm_a``/``norm_c``, ``k1``, ``model``),
      summed over terms in order, so equal to ``_search_kernels.score_docs`` to the bit;
    - ``matched[C]``: the idf of the terms the document has in any field, summed;
    - per field group ``g`` (``group[f]``: field f's group, -1 for none): ``gscore[C, g]``, BM25 of
      the group's fields as one (tf / (norm_a1 + norm_c1 * len) summed over them, weight 1, k1
      ``k1_field``), ``gmatched[C, g]``, the idf of the terms found in the group, and ``gcount[C, g]``,
      how many terms are.
    """
    C = cands.shape[0]
    T = offsets.shape[0] - 1
    bm25f = np.zeros(C, np.float64)
    matched = np.zeros(C, np.float64)
    gscore = np.zeros((C, n_groups), np.float64)
    gmatched = np.zeros((C, n_groups), np.float64)
    gcount = np.zeros((C, n_groups), np.int64)
    acc_g = np.zeros(n_groups, np.float64)
    for t in range(T):
        p = offsets[t]
        end = offsets[t + 1]
        for c in range(C):
            d = cands[c]
            p = _gallop(docids, p, end, d)
            if p >= end:
                break
            if docids[p] != d:
                continue
            for g in range(n_groups):
                acc_g[g] = 0.0
            full = np.int64(masks[p])
            j = tfpos[p]
            acc = 0.0
            f = 0
            while full:
                if full & 1:
                    tf = np.float64(tfs[j])
                    flen = np.float64(field_lengths[d, f])
                    norm = norm_a[f] + norm_c[f] * flen
                    if model == 0:
                        acc += weights[f] * tf / norm
                    else:
                        acc += weights[f] * (1.0 + np.log(tf)) / norm
                    g = group[f]
                    if g >= 0:
                        acc_g[g] += 1.0 * tf / (norm_a1[f] + norm_c1[f] * flen)
                    j += 1
                full >>= 1
                f += 1
            bm25f[c] += _combine(acc, idf[t], k1, model)
            matched[c] += idf[t]
            for g in range(n_groups):
                if acc_g[g] > 0.0:
                    gscore[c, g] += idf[t] * (acc_g[g] / (k1_field + acc_g[g]))
                    gmatched[c, g] += idf[t]
                    gcount[c, g] += 1
    return bm25f, matched, gscore, gmatched, gcount
