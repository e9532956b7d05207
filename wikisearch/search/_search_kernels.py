"""Numba kernels of search: BM25F/TF-IDF scoring of field-tagged postings, boolean set operations
and the exhaustive top-k oracles (the MaxScore top-k itself is ``_maxscore_kernels``).

The postings of a query's T scoring terms are concatenated CSR-style: term t owns postings
``offsets[t]:offsets[t+1]`` of ``docids`` (int32, increasing per term) and ``masks`` (uint16 field
bit masks); ``tfpos[p]`` is where posting p's tfs start in ``tfs`` (one tf per set mask bit, in
field order). ``fsel[t]`` is the mask of fields term t may match in (a field prefix), ``idf[t]``
its idf. Scores are float64; a document's score is summed over terms in index order t = 0..T-1,
whatever order a kernel visits them in, so every kernel (and rank.py) gives bit-identical scores.

Pure functions over arrays, no I/O and no validation (search.py validates); all run under
NUMBA_DISABLE_JIT=1.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit


_NO_DOC = np.int64(2 ** 31)
#: Relative slack on upper bounds: pruning must never drop a document over a rounding difference.
_SLACK = 1e-9


#: popcount of every 16-bit field mask (a table lookup beats bit tricks on 1-2 bit masks).
_POPCOUNT = sum(((np.arange(1 << 16) >> bit) & 1) for bit in range(16)).astype(np.uint8)


@njit(cache=True, nogil=True)
def tf_positions(masks):
    """Exclusive prefix sum of popcount(masks): where each posting's tfs start (plus the total)."""
    n = masks.shape[0]
    out = np.empty(n + 1, np.int64)
    run = 0
    for i in range(n):
        out[i] = run
        run += np.int64(_POPCOUNT[masks[i]])   # not uint8 arithmetic under NUMBA_DISABLE_JIT
    out[n] = run
    return out


@njit(cache=True, nogil=True)
def _field_sum(p, d, sel, masks, tfpos, tfs, field_lengths, weights, norm_a, norm_c, model):
    """Sum over the allowed fields of w_f * tf_f / norm_f for posting p of document d; -1 if the
    posting has none of the allowed fields (the document does not match this term)."""
    full = np.int64(masks[p])
    if full & sel == 0:
        return -1.0
    j = tfpos[p]
    acc = 0.0
    f = 0
    while full:
        if full & 1:
            if sel >> f & 1:
                tf = np.float64(tfs[j])
                norm = norm_a[f] + norm_c[f] * np.float64(field_lengths[d, f])
                if model == 0:
                    acc += weights[f] * tf / norm
                else:
                    acc += weights[f] * (1.0 + np.log(tf)) / norm
            j += 1
        full >>= 1
        f += 1
    return acc


@njit(cache=True, nogil=True)
def _combine(acc, idf, k1, model):
    if model == 0:
        return idf * (acc / (k1 + acc))
    return idf * acc


@njit(cache=True, nogil=True)
def _gallop(docids, lo, hi, target):
    """First index in [lo, hi) with docids[i] >= target (hi if none): exponential then binary."""
    if lo >= hi or docids[lo] >= target:
        return lo
    step = 1
    prev = lo
    cur = lo + 1
    while cur < hi and docids[cur] < target:
        prev = cur
        step *= 2
        cur = prev + step
    if cur > hi:
        cur = hi
    lo = prev + 1
    hi = cur
    while lo < hi:
        mid = (lo + hi) >> 1
        if docids[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def exhaustive_scores(n_docs, offsets, docids, masks, tfpos, tfs, fsel, idf, field_lengths,
                      weights, norm_a, norm_c, k1, model):
    """Term-at-a-time scores of every document: (scores float64[n_docs], matched bool[n_docs])."""
    scores = np.zeros(n_docs, np.float64)
    matched = np.zeros(n_docs, np.bool_)
    for t in range(offsets.shape[0] - 1):
        for p in range(offsets[t], offsets[t + 1]):
            d = docids[p]
            a = _field_sum(p, d, fsel[t], masks, tfpos, tfs, field_lengths, weights,
                           norm_a, norm_c, model)
            if a >= 0.0:
                scores[d] += _combine(a, idf[t], k1, model)
                matched[d] = True
    return scores, matched


@njit(cache=True, nogil=True)
def exhaustive_topk(k, offsets, docids, masks, tfpos, tfs, fsel, idf, field_lengths,
                    weights, norm_a, norm_c, k1, model, excluded):
    """The oracle of ``_maxscore_kernels.maxscore_topk``: score every matching document, sort, cut at k."""
    return exhaustive_topk_prior(k, offsets, docids, masks, tfpos, tfs, fsel, idf, field_lengths,
                                 weights, norm_a, norm_c, k1, model, excluded, np.zeros(0, np.float64))


@njit(cache=True, nogil=True)
def exhaustive_topk_prior(k, offsets, docids, masks, tfpos, tfs, fsel, idf, field_lengths,
                          weights, norm_a, norm_c, k1, model, excluded, prior):
    """The oracle of ``_maxscore_kernels.maxscore_topk`` with priors (``prior`` empty: none)."""
    n_docs = field_lengths.shape[0]
    scores, matched = exhaustive_scores(n_docs, offsets, docids, masks, tfpos, tfs, fsel, idf,
                                        field_lengths, weights, norm_a, norm_c, k1, model)
    if prior.shape[0] > 0:
        for d in range(n_docs):
            scores[d] += prior[d]
    for i in range(excluded.shape[0]):
        matched[excluded[i]] = False
    cand = np.nonzero(matched)[0].astype(np.int32)
    return top_k(cand, scores[cand], k)


@njit(cache=True, nogil=True)
def top_k(cands, scores, k):
    """The k best of (cands, scores): score descending, docid ascending; cands sorted ascending."""
    order = np.argsort(-scores, kind="mergesort")[:k]
    return cands[order].copy(), scores[order].copy(), cands.shape[0]


@njit(cache=True, nogil=True)
def score_docs(cands, offsets, docids, masks, tfpos, tfs, fsel, idf, field_lengths,
               weights, norm_a, norm_c, k1, model):
    """Scores of the sorted documents ``cands``, the union of fields each matched in, and for each
    (document, term) whether the term matched there (bool[C, T]).

    Lists are walked by galloping, so the cost is about C * T * log(df / C), not sum(df).
    """
    C = cands.shape[0]
    T = offsets.shape[0] - 1
    scores = np.zeros(C, np.float64)
    fields = np.zeros(C, np.int64)
    hits = np.zeros((C, T), np.bool_)
    for t in range(T):
        p = offsets[t]
        end = offsets[t + 1]
        for c in range(C):
            d = cands[c]
            p = _gallop(docids, p, end, np.int64(d))
            if p >= end:
                break
            if docids[p] == d:
                a = _field_sum(p, d, fsel[t], masks, tfpos, tfs, field_lengths, weights,
                               norm_a, norm_c, model)
                if a >= 0.0:
                    scores[c] += _combine(a, idf[t], k1, model)
                    fields[c] |= np.int64(masks[p]) & fsel[t]
                    hits[c, t] = True
    return scores, fields, hits


@njit(cache=True, nogil=True)
def field_docs(docids, masks, sel):
    """Documents of one term's list having it in at least one field of ``sel``."""
    out = np.empty(docids.shape[0], np.int32)
    n = 0
    for i in range(docids.shape[0]):
        if np.int64(masks[i]) & sel:
            out[n] = docids[i]
            n += 1
    return out[:n].copy()


@njit(cache=True, nogil=True)
def intersect_sorted(a, b):
    out = np.empty(min(a.shape[0], b.shape[0]), np.int32)
    i = j = np.int64(0)                        # (int64, not a literal 0: one _gallop signature)
    n = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < b[j]:
            i = _gallop(a, i, a.shape[0], np.int64(b[j]))
        elif a[i] > b[j]:
            j = _gallop(b, j, b.shape[0], np.int64(a[i]))
        else:
            out[n] = a[i]
            n += 1
            i += 1
            j += 1
    return out[:n].copy()


@njit(cache=True, nogil=True)
def union_sorted(a, b):
    out = np.empty(a.shape[0] + b.shape[0], np.int32)
    i = j = n = 0
    while i < a.shape[0] or j < b.shape[0]:
        if j >= b.shape[0] or (i < a.shape[0] and a[i] < b[j]):
            out[n] = a[i]
            i += 1
        elif i >= a.shape[0] or b[j] < a[i]:
            out[n] = b[j]
            j += 1
        else:
            out[n] = a[i]
            i += 1
            j += 1
        n += 1
    return out[:n].copy()


@njit(cache=True, nogil=True)
def difference_sorted(a, b):
    out = np.empty(a.shape[0], np.int32)
    j = np.int64(0)
    n = 0
    for i in range(a.shape[0]):
        j = _gallop(b, j, b.shape[0], np.int64(a[i]))
        if j < b.shape[0] and b[j] == a[i]:
            continue
        out[n] = a[i]
        n += 1
    return out[:n].copy()


@njit(cache=True, nogil=True)
def count_union(offsets, docids, masks, fsel, excluded):
    """Number of documents matching at least one term (in its fields), not in ``excluded``."""
    T = offsets.shape[0] - 1
    ptr = offsets[:T].copy()
    ex = 0
    n = 0
    while True:
        d = _NO_DOC
        for t in range(T):
            if ptr[t] < offsets[t + 1] and docids[ptr[t]] < d:
                d = docids[ptr[t]]
        if d == _NO_DOC:
            return n
        ok = False
        for t in range(T):
            p = ptr[t]
            if p < offsets[t + 1] and docids[p] == d:
                if np.int64(masks[p]) & fsel[t]:
                    ok = True
                ptr[t] = p + 1
        while ex < excluded.shape[0] and excluded[ex] < d:
            ex += 1
        if ok and not (ex < excluded.shape[0] and excluded[ex] == d):
            n += 1
