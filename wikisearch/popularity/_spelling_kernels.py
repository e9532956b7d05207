"""Numba kernels of the spelling dictionary (``popularity.spelling``): SymSpell's delete index over
words held as code points (CSR: ``offsets`` int64[W+1], ``cps`` int32[]), and the lookup that
verifies its candidates with a weighted optimal-string-alignment distance.

Every word's first ``prefix`` code points, with 0, 1 or 2 of them deleted, are hashed (FNV-1a over
code points): a word within 2 edits of a query shares one of these hashes with it (SymSpell's
symmetric deletes; the prefix bounds the table at 29 entries a word).
"""
from __future__ import annotations

import numpy as np
from numba import njit

_OFFSET = np.uint64(14695981039346656037)
_PRIME = np.uint64(1099511628211)
_VOWELS = np.array([ord(c) for c in "aeiouy"], np.int32)


@njit(cache=True, nogil=True)
def _hash(cps, a, n, skip1, skip2):
    h = _OFFSET
    for i in range(n):
        if i == skip1 or i == skip2:
            continue
        h = (h ^ np.uint64(cps[a + i] + 1)) * _PRIME
    return h


@njit(cache=True, nogil=True)
def _n_variants(n, max_dist):
    v = 1
    if max_dist >= 1:
        v += n
    if max_dist >= 2:
        v += n * (n - 1) // 2
    return v


@njit(cache=True, nogil=True)
def _variants(cps, a, n, max_dist, out, k0):
    """The hashes of ``cps[a:a+n]`` with up to ``max_dist`` (<= 2) code points deleted."""
    k = k0
    out[k] = _hash(cps, a, n, -1, -1)
    k += 1
    if max_dist >= 1:
        for i in range(n):
            out[k] = _hash(cps, a, n, i, -1)
            k += 1
    if max_dist >= 2:
        for i in range(n):
            for j in range(i + 1, n):
                out[k] = _hash(cps, a, n, i, j)
                k += 1
    return k


@njit(cache=True, nogil=True)
def build_deletes(cps, offsets, prefix, max_dist):
    """(hashes uint64[], word ids int32[]) of every word's prefix deletes, unsorted."""
    n_words = len(offsets) - 1
    total = 0
    for w in range(n_words):
        total += _n_variants(min(offsets[w + 1] - offsets[w], prefix), max_dist)
    hashes = np.empty(total, np.uint64)
    ids = np.empty(total, np.int32)
    k = 0
    for w in range(n_words):
        n = min(offsets[w + 1] - offsets[w], prefix)
        k1 = _variants(cps, offsets[w], n, max_dist, hashes, k)
        ids[k:k1] = w
        k = k1
    return hashes, ids


@njit(cache=True, nogil=True)
def _is_vowel(c):
    for v in _VOWELS:
        if c == v:
            return True
    return False


@njit(cache=True, nogil=True)
def weighted_osa(q, w, a, m, cap):
    """Weighted optimal-string-alignment distance between ``q`` and ``w[a:a+m]``: insertions,
    deletions and substitutions cost 1, but a doubled letter added or dropped 0.5, a vowel for a
    vowel 0.75 and a swap of neighbours 0.75; > ``cap`` as soon as every path costs more."""
    n = len(q)
    if abs(n - m) > cap:
        return cap + 1.0
    prev2 = np.empty(m + 1, np.float64)
    prev = np.empty(m + 1, np.float64)
    cur = np.empty(m + 1, np.float64)
    for j in range(m + 1):
        prev[j] = j
        if j > 1 and w[a + j - 1] == w[a + j - 2]:
            prev[j] = prev[j - 1] + 0.5
        elif j > 0:
            prev[j] = prev[j - 1] + 1.0
    for i in range(1, n + 1):
        qi = q[i - 1]
        dq = 0.5 if i > 1 and q[i - 2] == qi else 1.0
        cur[0] = prev[0] + dq
        best = cur[0]
        for j in range(1, m + 1):
            wj = w[a + j - 1]
            if qi == wj:
                sub = 0.0
            elif _is_vowel(qi) and _is_vowel(wj):
                sub = 0.75
            else:
                sub = 1.0
            v = prev[j - 1] + sub
            d = prev[j] + dq                                     # q's letter dropped
            if d < v:
                v = d
            dw = 0.5 if j > 1 and w[a + j - 2] == wj else 1.0
            ins = cur[j - 1] + dw                                # w's letter added
            if ins < v:
                v = ins
            if i > 1 and j > 1 and qi == w[a + j - 2] and q[i - 2] == wj and qi != wj:
                t = prev2[j - 2] + 0.75
                if t < v:
                    v = t
            cur[j] = v
            if v < best:
                best = v
        if best > cap:
            return cap + 1.0
        prev2, prev, cur = prev, cur, prev2
    return prev[m]


@njit(cache=True, nogil=True)
def lookup(q, hashes, ids, cps, offsets, log_counts, prefix, max_dist, alpha, first_letter, k):
    """The ``k`` best words within ``max_dist`` (weighted) of ``q`` (int32 code points):
    (word ids int64[], costs float64[]) by decreasing ``log_count - alpha * cost`` (``first_letter``
    is added to the cost when the first letters differ)."""
    n = min(len(q), prefix)
    var = np.empty(_n_variants(n, max_dist), np.uint64)
    _variants(q, 0, n, max_dist, var, 0)
    total = 0
    los = np.empty(len(var), np.int64)
    his = np.empty(len(var), np.int64)
    for v in range(len(var)):
        los[v] = np.searchsorted(hashes, var[v], "left")
        his[v] = np.searchsorted(hashes, var[v], "right")
        total += his[v] - los[v]
    cand = np.empty(total, np.int32)
    c = 0
    for v in range(len(var)):
        for p in range(los[v], his[v]):
            cand[c] = ids[p]
            c += 1
    cand = np.unique(cand)
    out_ids = np.empty(len(cand), np.int64)
    out_cost = np.empty(len(cand), np.float64)
    out_score = np.empty(len(cand), np.float64)
    o = 0
    for w in cand:
        a = offsets[w]
        m = offsets[w + 1] - a
        cost = weighted_osa(q, cps, a, m, float(max_dist))
        if cost > max_dist:
            continue
        if len(q) and m and q[0] != cps[a]:
            cost += first_letter
        out_ids[o] = w
        out_cost[o] = cost
        out_score[o] = log_counts[w] - alpha * cost
        o += 1
    order = np.argsort(-out_score[:o], kind="mergesort")[:k]
    return out_ids[:o][order], out_cost[:o][order]
