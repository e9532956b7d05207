"""Numba kernels of search over pre-scored posting lists: the lists scored into the arenas, with
their block maxima (the MaxScore top-k over them is ``_blockmax_kernels.maxscore_topk``, the
window routine it shares with the block-max path over bit-packed lists).

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

from wikisearch.search._search_kernels import _NO_DOC, _POPCOUNT, _combine

#: Postings per block maximum (smaller: tighter bounds, more of them to step over).
BLOCK = 64
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


@njit(cache=True, nogil=True)
def count_union_bitset(starts, ends, docids, excluded, n_docs):
    """:func:`count_union` (every docid below ``n_docs``) by marking documents in a bitset of
    ``n_docs`` bits: one pass over the postings, no merge (T comparisons per document); pays for
    itself once the lists hold more postings than the bitset has 64-bit words."""
    seen = np.zeros((n_docs >> 6) + 1, np.uint64)
    one = np.uint64(1)
    for i in range(excluded.shape[0]):
        d = excluded[i]
        seen[d >> 6] |= one << np.uint64(d & 63)
    n = 0
    for t in range(starts.shape[0]):
        for p in range(starts[t], ends[t]):
            d = docids[p]
            w = d >> 6
            old = seen[w]
            new = old | (one << np.uint64(d & 63))
            n += new != old
            seen[w] = new
    return n
