"""feedback: pseudo-relevance feedback read from the forward index, weighed for the re-ranker
(``relevance.py --select s29-feedback``, session 29) and not kept.

The question: does a candidate that shares the vocabulary of the first stage's head candidates (the
cluster hypothesis: relevant pages resemble each other) deserve a higher place? The feature needs no
index statistics, only the candidates' ``forward.bin`` records (their first ~4,000 characters of
prose as term ordinals), which the re-ranker already reads for term proximity.

:func:`feedback_features` is the kernel; ``tests/test_bench_feedback.py`` compares it with a plain
Python reading of the same definition. Nothing in ``wikisearch/`` uses it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from wikisearch.search import _proximity_kernels as PK

#: The forward record's unpacker as a numba function of this module's own (the library's may be
#: the install's ahead-of-time build, which numba code cannot call; ``py_func`` is on either).
unpack_record = njit(nogil=True)(PK.unpack_record.py_func)


@njit(cache=True, nogil=True)
def _distinct_sorted(tokens, sentinel):
    """``tokens``' distinct values but the sentinel, ascending."""
    t = np.sort(tokens)
    k = 0
    for i in range(t.shape[0]):
        if t[i] != sentinel and (k == 0 or t[i] != t[k - 1]):
            t[k] = t[i]
            k += 1
    return t[:k]


_FILTER = 1 << 14


@njit(cache=True, nogil=True)
def feedback_features(starts, words, bits, docids, top, n_terms):
    """float64[C]: how much of the vocabulary that the first ``top`` of ``docids`` share (the
    candidates in the first stage's order) each candidate holds, over the candidates' records:
    pseudo-relevance feedback without the index's statistics.

    A term held by ``f`` of the first ``top`` candidates (at least 2) and by ``g`` of all ``C`` is
    weighed ``f / top * ln((C + 1) / (g + 0.5))``: common to the head of the list, rare in the rest
    (the query's own terms, held by most candidates, weigh little). The ``n_terms`` heaviest
    (ties: the smaller ordinal) are the feedback terms; a candidate's value is the weight of
    those it holds over their total (0 without any). The sentinel ordinal is no term. Records are
    taken as checked (:func:`check_records`)."""
    C = docids.shape[0]
    out = np.zeros(C, np.float64)
    top = min(top, C)
    if C == 0 or top < 2 or n_terms <= 0:
        return out
    sentinel = np.int64((1 << bits) - 1)
    # the head's distinct terms, each with the count of head candidates holding it
    parts = [_distinct_sorted(unpack_record(starts, words, bits, docids[c]), sentinel) for c in range(top)]
    n = 0
    for p in parts:
        n += p.shape[0]
    pool = np.empty(n, np.int64)
    n = 0
    for p in parts:
        pool[n:n + p.shape[0]] = p
        n += p.shape[0]
    pool.sort()
    terms = np.empty(n, np.int64)                # terms held by two head candidates or more,
    f = np.empty(n, np.int64)                    # and by how many
    S = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and pool[j] == pool[i]:
            j += 1
        if j - i >= 2:
            terms[S] = pool[i]
            f[S] = j - i
            S += 1
        i = j
    if S == 0:
        return out
    terms = terms[:S]
    g = np.zeros(S, np.int64)
    seen = np.full(S, -1, np.int64)
    hit_c = np.empty(C * 8, np.int64)            # (candidate, term) pairs, each once; grown as needed
    hit_s = np.empty(C * 8, np.int64)
    H = 0
    filt = np.zeros(_FILTER, np.bool_)           # most tokens are none of the terms: one test lets them go
    for s in range(S):
        filt[terms[s] & (_FILTER - 1)] = True
    for c in range(C):
        tokens = unpack_record(starts, words, bits, docids[c])
        for i in range(tokens.shape[0]):
            o = tokens[i]
            if not filt[o & (_FILTER - 1)]:
                continue
            s = np.searchsorted(terms, o)
            if s < S and terms[s] == o and seen[s] != c:
                seen[s] = c
                g[s] += 1
                if H == hit_c.shape[0]:
                    hit_c = np.concatenate((hit_c, np.empty(H, np.int64)))
                    hit_s = np.concatenate((hit_s, np.empty(H, np.int64)))
                hit_c[H] = c
                hit_s[H] = s
                H += 1
    w = np.empty(S, np.float64)
    for s in range(S):
        w[s] = f[s] / top * np.log((C + 1.0) / (g[s] + 0.5))
    pick = np.argsort(-w, kind="mergesort")[:min(n_terms, S)]
    chosen = np.zeros(S, np.bool_)
    mass = 0.0
    for p in pick:
        chosen[p] = True
        mass += w[p]
    if mass <= 0:
        return out
    for h in range(H):
        if chosen[hit_s[h]]:
            out[hit_c[h]] += w[hit_s[h]]
    for c in range(C):
        out[c] /= mass
    return out
