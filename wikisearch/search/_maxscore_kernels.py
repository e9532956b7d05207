"""Numba kernels of search over pre-scored posting lists: MaxScore top-k with block maxima.

The plain-OR query path (search.py) keeps recently used lists decoded and scored in shared arenas:
term t owns postings ``starts[t]:ends[t]`` of ``docids`` (int32, increasing), ``scores`` (float64:
the term's score without idf, ``_combine(acc, 1.0)``) and ``fields`` (uint16: the fields it
matched in, within the term's field selection). Only postings matching the selection are kept.
A term's score in a document is ``idf[t] * scores[p]``, the very operation ``_combine`` performs,
and a document's score is summed over terms in index order t = 0..T-1, so scores are
bit-identical to :mod:`._search_kernels` (and rank.py). ``bmax[bstarts[t] + j]`` is the largest
score of postings ``j*BLOCK .. j*BLOCK+BLOCK-1`` of term t: a list that is only probed is skipped
a block at a time when even its block maximum cannot lift a document into the top k.

Pure functions over arrays, no I/O and no validation (search.py validates); all run under
NUMBA_DISABLE_JIT=1. Their oracles are ``_search_kernels.exhaustive_topk_prior`` (tests).
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit

from wikisearch.search._search_kernels import _NO_DOC, _POPCOUNT, _SLACK, _combine, _gallop
from wikisearch._topk_kernels import heap_sorted, offer

#: Postings per block maximum (smaller: tighter bounds, more of them to step over).
BLOCK = 64
#: Documents whose essential postings are added up at a time.
WINDOW = 2048
#: The lowest set bit of every 16-bit field mask (its field; -1 for no bit), built vectorized:
#: a Python loop over 65,536 masks would cost the cold start tens of milliseconds.
_LOWBIT = np.full(1 << 16, -1, np.int8)
_LOWBIT[1:] = np.log2(np.arange(1, 1 << 16) & -np.arange(1, 1 << 16)).astype(np.int8)


@njit(cache=True, nogil=True)
def prescore_into(docids, masks, tfs, sel, field_lengths, weights, norm_a, norm_c, k1, model,
                  out_docids, out_scores, out_fields, pos, out_bmax, bpos):
    """Score one decoded list (postings matching ``sel`` only) into the arenas at ``pos`` and its
    block maxima at ``bpos``: returns (postings written, block maxima written, largest score).

    The arithmetic is ``_search_kernels._field_sum`` then ``_combine(acc, 1.0)``, operation by
    operation (fields in ascending order), visiting only the set bits of each mask.
    """
    n = 0
    best = 0.0
    bm = 0.0
    nb = 0
    j = 0                                      # where posting p's tfs start
    for p in range(docids.shape[0]):
        full = np.int64(masks[p])
        start = j
        j += np.int64(_POPCOUNT[full])
        if full & sel == 0:
            continue
        d = docids[p]
        acc = 0.0
        rest = full
        while rest:
            f = np.int64(_LOWBIT[rest])
            if sel >> f & 1:
                tf = np.float64(tfs[start])
                norm = norm_a[f] + norm_c[f] * np.float64(field_lengths[d, f])
                if model == 0:
                    acc += weights[f] * tf / norm
                else:
                    acc += weights[f] * (1.0 + np.log(tf)) / norm
            start += 1
            rest &= rest - 1
        v = _combine(acc, 1.0, k1, model)
        out_docids[pos + n] = d
        out_scores[pos + n] = v
        out_fields[pos + n] = np.uint16(full & sel)
        if n % BLOCK == 0 or v > bm:
            bm = v
        if v > best:
            best = v
        n += 1
        if n % BLOCK == 0:
            out_bmax[bpos + nb] = bm
            nb += 1
    if n % BLOCK != 0:
        out_bmax[bpos + nb] = bm
        nb += 1
    return n, nb, best


@njit(cache=True, nogil=True)
def maxscore_topk(k, starts, ends, docids, scores, fields, bstarts, bmax, idf, upper,
                  excluded, prior, prior_max):
    """Exact top-k of a disjunction of pre-scored lists by MaxScore (Turtle & Flood 1995), the
    essential lists accumulated a window of documents at a time (as Lucene's MaxScoreBulkScorer).

    ``upper[t]`` bounds ``idf[t] * scores[p]`` over term t's list. Lists sorted by bound; once the
    k-th best score exceeds the summed bounds of the weakest, those become non-essential. The
    essential lists' postings in a window of WINDOW docids are added up term at a time; each
    document found is then dropped if that sum plus the block maxima (or bounds) of the
    non-essential lists cannot reach the k-th score, else they are probed (galloping), strongest
    first, stopping as soon as it cannot; a document that gets through is scored exactly, terms in
    index order. ``excluded`` (sorted) never match; ``prior[d]`` (empty: none; <= ``prior_max``)
    is added to every matching document. Returns (docids, scores, field masks matched, n_scored)
    best first, ties by docid ascending.
    """
    T = starts.shape[0]
    has_prior = prior.shape[0] > 0
    pmax = prior_max if has_prior else 0.0
    order = np.argsort(upper, kind="mergesort")
    cum = np.empty(T, np.float64)
    s = 0.0
    for i in range(T):
        s += upper[order[i]]
        cum[i] = s * (1.0 + _SLACK)
    ptr = starts.copy()                        # essential: next to add up; else: probe cursor
    cur = starts.copy()                        # exact scoring cursor
    blk = np.zeros(T, np.int64)                # block of the last probe, per non-essential list
    hs = np.empty(max(k, 1), np.float64)
    hd = np.empty(max(k, 1), np.int32)
    hf = np.zeros(max(k, 1), np.int64)
    size = 0
    threshold = -np.inf
    first = 0 if k > 0 else T                  # lists order[first:] are essential
    contrib = np.zeros(T, np.float64)
    hit = np.zeros(T, np.bool_)
    probed = np.zeros(T, np.bool_)             # non-essential in this window
    rest = np.zeros(T + 1, np.float64)         # rest[i]: block bounds of lists order[:i] ...
    nend = -1                                  # ... valid for documents up to nend
    acc = np.zeros(WINDOW, np.float64)         # a window's essential sums, by docid - base
    seen = np.zeros(WINDOW, np.int64)
    touched = np.empty(WINDOW + 1, np.int64)   # the window's documents (docid - base) ...
    cand = np.empty(WINDOW, np.int64)          # ... those that might make the top k
    ex = 0
    n_ex = excluded.shape[0]
    n_scored = 0
    while first < T:
        base = _NO_DOC
        for i in range(first, T):
            t = order[i]
            if ptr[t] < ends[t] and docids[ptr[t]] < base:
                base = docids[ptr[t]]
        if base == _NO_DOC:
            break
        top = base + WINDOW
        n = 0
        for i in range(first, T):              # (branch-free: these branches are coin flips)
            t = order[i]
            p = ptr[t]
            e = ends[t]
            w = idf[t]
            while p < e and docids[p] < top:
                j = docids[p] - base
                acc[j] += w * scores[p]
                touched[n] = j
                n += 1 - seen[j]
                seen[j] = 1
                p += 1
            ptr[t] = p
        fw = first                             # the window's non-essential lists: order[:fw]
        others = cum[fw - 1] + pmax if fw > 0 else pmax
        for i in range(T):
            probed[order[i]] = i < fw
        m = 0
        for c in range(n):                     # not even with every other list at its bound?
            j = touched[c]
            keep = np.int64((acc[j] + others) * (1.0 + _SLACK) >= threshold)
            cand[m] = j
            m += keep
            seen[j] = keep                     # (seen now marks the candidates)
        if m <= 32:                            # in docid order: a few sorted runs ...
            _insertion_sort(cand, m)
            for c in range(m):
                seen[cand[c]] = 0
        else:                                  # ... or read off the window
            m = 0
            for j in range(WINDOW):
                cand[m] = j
                m += seen[j]
                seen[j] = 0
        for c in range(m):
            if True:
                j = cand[c]
                partial = acc[j]
                d = base + j
                while ex < n_ex and excluded[ex] < d:
                    ex += 1
                if ex < n_ex and excluded[ex] == d:
                    continue
                if (partial + others) * (1.0 + _SLACK) < threshold:
                    continue                   # not even with every other list at its bound
                pd = prior[d] if has_prior else 0.0
                if fw > 0 and d > nend:        # block bounds of the non-essential lists at d
                    nend = _block_bounds(d, fw, order, blk, starts, ends, docids, bstarts, bmax,
                                         idf, upper, rest)
                pruned = False
                for i in range(fw - 1, -1, -1):
                    if (partial + rest[i + 1] + pd) * (1.0 + _SLACK) < threshold:
                        pruned = True
                        break
                    t = order[i]
                    lo = min(max(ptr[t], starts[t] + blk[t] * BLOCK), ends[t])
                    p = lo
                    if lo < ends[t] and docids[lo] < d:
                        p = _gallop(docids, lo, min(starts[t] + (blk[t] + 1) * BLOCK, ends[t]), d)
                    ptr[t] = p
                    if p < ends[t] and docids[p] == d:
                        c = idf[t] * scores[p]
                        contrib[t] = c
                        hit[t] = True
                        partial += c
                if not pruned and fw == 0 and (partial + pd) * (1.0 + _SLACK) < threshold:
                    pruned = True
                if pruned:
                    for i in range(fw):
                        hit[order[i]] = False
                    continue
                total = 0.0                    # exact: terms in index order
                fm = np.int64(0)
                for t in range(T):
                    if hit[t]:
                        hit[t] = False
                        total += contrib[t]
                        fm |= np.int64(fields[ptr[t]])
                    elif not probed[t] and cur[t] < ends[t] and docids[cur[t]] <= d:
                        p = _gallop(docids, cur[t], ends[t], d)
                        cur[t] = p
                        if p < ends[t] and docids[p] == d:
                            total += idf[t] * scores[p]
                            fm |= np.int64(fields[p])
                if has_prior:
                    total += pd
                n_scored += 1
                # documents come in docid order: a tie never displaces the root (offer's rule)
                size = offer(hs, hd, hf, size, k, total, d, fm)
                if size == k:
                    threshold = hs[0]
        for c in range(n):
            acc[touched[c]] = 0.0
        while first < T and (cum[first] + pmax) * (1.0 + _SLACK) < threshold:
            first += 1
            nend = -1
    docs, top_scores, masks = heap_sorted(hs, hd, hf, size)
    return docs, top_scores, masks, n_scored


@njit(cache=True, nogil=True)
def _insertion_sort(a, n):
    """Sort ``a[:n]`` in place (a few short sorted runs: quicker than np.sort's set-up)."""
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@njit(cache=True, nogil=True)
def _block_bounds(d, fw, order, blk, starts, ends, docids, bstarts, bmax, idf, upper, rest):
    """Bounds of the non-essential lists ``order[:fw]`` at document ``d`` from the blocks holding
    it (0 for a list that has passed d: for good): ``rest[i]`` sums those of ``order[:i]``.
    Returns the last document they hold for (where the first of those blocks ends)."""
    until = _NO_DOC
    for i in range(fw):
        t = order[i]
        b = blk[t]
        nb = (ends[t] - starts[t] + BLOCK - 1) // BLOCK
        while b < nb and docids[min(starts[t] + (b + 1) * BLOCK, ends[t]) - 1] < d:
            b += 1
        blk[t] = b
        bound = 0.0
        if b < nb:
            bound = min(idf[t] * bmax[bstarts[t] + b] * (1.0 + _SLACK), upper[t])
            until = min(until, np.int64(docids[min(starts[t] + (b + 1) * BLOCK, ends[t]) - 1]))
        rest[i + 1] = rest[i] + bound
    return until


@njit(cache=True, nogil=True)
def count_union(starts, ends, docids, excluded):
    """Number of documents in at least one list, not in ``excluded``."""
    T = starts.shape[0]
    ptr = starts.copy()
    ex = 0
    n = 0
    while True:
        d = _NO_DOC
        for t in range(T):
            if ptr[t] < ends[t] and docids[ptr[t]] < d:
                d = docids[ptr[t]]
        if d == _NO_DOC:
            return n
        for t in range(T):
            if ptr[t] < ends[t] and docids[ptr[t]] == d:
                ptr[t] += 1
        while ex < excluded.shape[0] and excluded[ex] < d:
            ex += 1
        if not (ex < excluded.shape[0] and excluded[ex] == d):
            n += 1
