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


@njit(cache=True, nogil=True)
def feature_rows(X, order, bm25f, matched, gscore, gmatched, gcount, total, n_terms, len_title, log_len_body,
                 prior, log_rank, cols, bm25_cols, ratio_cols, cov_cols):
    """Fill the re-ranker's feature matrix ``X`` (C rows in first-stage order, zeros) from
    :func:`candidate_features`' arrays (candidates in docid order: row ``order[i]`` is candidate
    i) in one pass per column group, as ``rerank._document_features`` and then
    ``rerank._candidate_set_features`` fill it with numpy (the oracle; a test compares the two to
    the bit: the same IEEE operations in the same order). ``total``: the query's idf summed (0 and
    ``n_terms`` 0 when no term is in the index); ``len_title``, ``log_len_body``, ``prior``,
    ``log_rank``: per row. ``cols``: the columns of bm25f, score_ratio, log_rank, cov_all,
    title_precision, title_exact, n_terms, idf_mean, len_title, log_len_body, prior,
    cov_title_gap, title_dice, title_dice_gap, title_exact_first, n_title_exact and bm25f_ratio;
    ``bm25_cols``, ``ratio_cols``, ``cov_cols``: the field groups' columns (group 0: the title)."""
    C = X.shape[0]
    G = bm25_cols.shape[0]
    c_bm25f, c_ratio, c_rank, c_cov_all, c_tp, c_exact, c_nt, c_idf, c_lt, c_llb, c_prior = (
        cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], cols[10])
    c_ctgap, c_dice, c_dgap, c_efirst, c_nexact, c_bratio = cols[11], cols[12], cols[13], cols[14], cols[15], cols[16]
    scored = n_terms > 0
    if scored:
        for i in range(C):
            r = order[i]
            X[r, c_bm25f] = bm25f[i]
            X[r, c_cov_all] = matched[i] / total
            for g in range(G):
                X[r, bm25_cols[g]] = gscore[i, g]
                X[r, cov_cols[g]] = gmatched[i, g] / total
            X[r, c_tp] = min(1.0, gcount[i, 0] / max(np.float64(len_title[r]), 1.0))
            X[r, c_idf] = total / n_terms
    for r in range(C):
        X[r, c_exact] = 1.0 if (X[r, cov_cols[0]] >= 1.0 - 1e-12) and (X[r, c_tp] >= 1.0) else 0.0
        X[r, c_nt] = n_terms
        X[r, c_lt] = len_title[r]
        X[r, c_llb] = log_len_body[r]
        X[r, c_prior] = prior[r]
    if C == 0:
        return
    if scored:
        for g in range(G):
            top = X[0, bm25_cols[g]]
            for r in range(1, C):
                top = max(top, X[r, bm25_cols[g]])
            for r in range(C):
                X[r, ratio_cols[g]] = X[r, bm25_cols[g]] / top if top > 0 else 0.0
        best = X[0, c_bm25f] + X[0, c_prior]
        for r in range(1, C):
            best = max(best, X[r, c_bm25f] + X[r, c_prior])
        for r in range(C):
            X[r, c_ratio] = (X[r, c_bm25f] + X[r, c_prior]) / best if best > 0 else 0.0
    ct_max = X[0, cov_cols[0]]
    dice_max = -np.inf
    b_max = X[0, c_bm25f]
    n_exact = 0
    first_exact = -1
    for r in range(C):
        X[r, c_rank] = log_rank[r]
        ct = X[r, cov_cols[0]]
        tp = X[r, c_tp]
        dice = 2.0 * ct * tp / max(ct + tp, 1e-300) if ct + tp > 0 else 0.0
        X[r, c_dice] = dice
        ct_max = max(ct_max, ct)
        dice_max = max(dice_max, dice)
        b_max = max(b_max, X[r, c_bm25f])
        if X[r, c_exact] > 0:
            n_exact += 1
            if first_exact < 0:
                first_exact = r
    for r in range(C):
        X[r, c_ctgap] = X[r, cov_cols[0]] - ct_max
        X[r, c_dgap] = X[r, c_dice] - dice_max
        X[r, c_nexact] = np.float64(n_exact)
        X[r, c_bratio] = X[r, c_bm25f] / b_max if b_max > 0 else 0.0
    if first_exact >= 0:
        X[first_exact, c_efirst] = 1.0
