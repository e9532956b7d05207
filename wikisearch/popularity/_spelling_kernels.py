"""Numba kernels of the spelling dictionary (``popularity.spelling``): SymSpell's delete index over
words held as code points (CSR: ``offsets`` int64[W+1], ``cps`` int32[]), and the lookup that
verifies its candidates with a weighted optimal-string-alignment distance.

Every word's first ``prefix`` code points, with 0, 1 or 2 of them deleted, are hashed (FNV-1a over
code points): a word within 2 edits of a query shares one of these hashes with it (SymSpell's
symmetric deletes; the prefix bounds the table at 29 entries a word).
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit

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
    if abs(len(q) - m) > cap:
        return cap + 1.0
    rows = np.empty((3, m + 1), np.float64)
    return _wosa(q, w, a, m, cap, rows)


@njit(cache=True, nogil=True)
def _wosa(q, w, a, m, cap, rows):
    """:func:`weighted_osa` with its three rows given (``rows``: float64[3, >= m + 1])."""
    n = len(q)
    if abs(n - m) > cap:
        return cap + 1.0
    prev2 = rows[0]
    prev = rows[1]
    cur = rows[2]
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
def directory(hashes, bits):
    """Where each bucket of the sorted ``hashes`` starts (bucket: the top ``bits`` bits)."""
    n_b = 1 << bits
    out = np.empty(n_b + 1, np.int64)
    shift = np.uint64(64 - bits)
    j = 0
    for b in range(n_b):
        while j < len(hashes) and np.int64(hashes[j] >> shift) < b:
            j += 1
        out[b] = j
    out[n_b] = len(hashes)
    return out


@njit(cache=True, nogil=True)
def lookup_many(qcps, qoffsets, hashes, ids, dir_, bits, cps, offsets, log_counts, prefix,
                max_dists, alpha, first_letter):
    """The best word (id, or -1 for none) of each word ``qcps[qoffsets[i]:qoffsets[i+1]]``, with
    ``max_dists[i]``: :func:`lookup` with ``k`` 1 for a batch, in one call."""
    n = len(qoffsets) - 1
    out = np.full(n, -1, np.int64)
    for i in range(n):
        got, _ = lookup(qcps[qoffsets[i]:qoffsets[i + 1]], hashes, ids, dir_, bits, cps, offsets,
                        log_counts, prefix, max_dists[i], alpha, first_letter, 1)
        if len(got):
            out[i] = got[0]
    return out


@njit(cache=True, nogil=True)
def lookup(q, hashes, ids, dir_, bits, cps, offsets, log_counts, prefix, max_dist, alpha,
           first_letter, k):
    """The ``k`` best words within ``max_dist`` (weighted) of ``q`` (int32 code points):
    (word ids int64[], costs float64[]) by decreasing ``log_count - alpha * cost`` (``first_letter``
    is added to the cost when the first letters differ). ``dir_``: :func:`directory` of
    ``hashes`` with ``bits``."""
    n = min(len(q), prefix)
    var = np.empty(_n_variants(n, max_dist), np.uint64)
    _variants(q, 0, n, max_dist, var, 0)
    shift = np.uint64(64 - bits)
    cap = 256
    cand = np.empty(cap, np.int32)
    c = 0
    for v in range(len(var)):
        h = var[v]
        b = np.int64(h >> shift)
        for p in range(dir_[b], dir_[b + 1]):
            if hashes[p] == h:
                if c == cap:
                    cap *= 2
                    grown = np.empty(cap, np.int32)
                    grown[:c] = cand[:c]
                    cand = grown
                cand[c] = ids[p]
                c += 1
            elif hashes[p] > h:
                break
    cand = np.unique(cand[:c])
    # most common first: once a word's count cannot beat the k-th best score even at the
    # smallest cost it could have (0.5 a letter of length difference, 0.5 for any change),
    # no rarer word can either
    order = np.argsort(-log_counts[cand], kind="mergesort")
    out_ids = np.empty(len(cand), np.int64)
    out_cost = np.empty(len(cand), np.float64)
    out_score = np.empty(len(cand), np.float64)
    rows = np.empty((3, len(q) + 3 + 2 * int(max_dist) + 64), np.float64)
    top = np.full(k, -np.inf)                      # the k best scores so far, descending
    o = 0
    exact = -1
    for i in range(len(cand)):                     # the word itself (cost 0), if known
        w = cand[i]
        a = offsets[w]
        if offsets[w + 1] - a == len(q):
            same = True
            for j in range(len(q)):
                if cps[a + j] != q[j]:
                    same = False
                    break
            if same:
                exact = w
                out_ids[0] = w
                out_cost[0] = 0.0
                out_score[0] = log_counts[w]
                top[0] = log_counts[w]
                o = 1
                break
    for i in order:
        w = cand[i]
        if w == exact:
            continue
        a = offsets[w]
        m = offsets[w + 1] - a
        if abs(len(q) - m) > max_dist:
            continue
        if log_counts[w] - alpha * 0.5 <= top[k - 1]:
            break
        if log_counts[w] - alpha * 0.5 * abs(len(q) - m) <= top[k - 1]:
            continue
        if m + 1 > rows.shape[1]:
            rows = np.empty((3, m + 1), np.float64)
        cost = _wosa(q, cps, a, m, float(max_dist), rows)
        if cost > max_dist:
            continue
        if len(q) and m and q[0] != cps[a]:
            cost += first_letter
        score = log_counts[w] - alpha * cost
        out_ids[o] = w
        out_cost[o] = cost
        out_score[o] = score
        o += 1
        if score > top[k - 1]:                     # insert into the k best
            j = k - 1
            while j > 0 and top[j - 1] < score:
                top[j] = top[j - 1]
                j -= 1
            top[j] = score
    order = np.argsort(-out_score[:o], kind="mergesort")[:k]
    return out_ids[:o][order], out_cost[:o][order]
