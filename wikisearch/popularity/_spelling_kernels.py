"""Numba kernels of the spelling dictionary (``popularity.spelling``): SymSpell's delete index over
words held as code points (CSR: ``offsets`` int64[W+1], ``cps`` int32[]), and the lookup that
verifies its candidates with a weighted optimal-string-alignment distance.

Every word's first ``prefix`` code points, with 0, 1 or 2 of them deleted, are hashed (FNV-1a over
code points, then mixed): a word within 2 edits of a query shares one of these hashes with it (SymSpell's
symmetric deletes; the prefix bounds the table at 29 entries a word). The table is bucketed by
the hash's top ``bits`` bits (``dir_``: where each bucket starts) and keeps of each entry only a
16-bit fingerprint (the hash's low bits, ``fps``) and the word id (``ids``): a fingerprint match
that is not a shared delete only adds a candidate that the verification rejects.

Word ids are in order of decreasing count, so the candidates sorted by id are sorted by count,
and the lookup stops at the first one too rare to beat the best found.

Every kernel takes int64 integers, float64 costs and read-only arrays (the dictionary's, read back
from ``spelling.bin`` or just built): one compiled signature each.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit

_OFFSET = np.uint64(14695981039346656037)
_PRIME = np.uint64(1099511628211)
#: ctz of a 64-bit word with one bit set (de Bruijn multiplication)
_DEBRUIJN_MUL = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN = np.array([0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4, 62, 55, 59, 36, 53,
                      51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5, 63, 47, 56, 27, 60, 41, 37, 16,
                      54, 35, 52, 21, 44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19,
                      9, 13, 8, 7, 6], np.int64)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
#: Bit i set: the letter chr(97 + i) is a vowel (a e i o u y).
_VOWEL_MASK = (1 << 0) | (1 << 4) | (1 << 8) | (1 << 14) | (1 << 20) | (1 << 24)


@njit(cache=True, nogil=True)
def n_variants(n, max_dist):
    """How many deletes (0 up to ``max_dist`` <= 2 of ``n`` code points) :func:`variants` makes."""
    v = 1
    if max_dist >= 1:
        v += n
    if max_dist >= 2:
        v += n * (n - 1) // 2
    return v


@njit(cache=True, nogil=True)
def variants(cps, a, n, max_dist, out, k0):
    """Writes from ``out[k0]`` the hashes of ``cps[a:a+n]`` with 0 up to ``max_dist`` (<= 2) code
    points deleted (none, then each one, then each pair); returns the next free index."""
    k = k0
    for skip1 in range(-1, n if max_dist >= 1 else 0):
        for skip2 in range(skip1 + 1 if skip1 >= 0 and max_dist >= 2 else n, n + 1):
            h = _OFFSET
            for i in range(n):
                if i != skip1 and i != skip2:
                    h = (h ^ np.uint64(cps[a + i] + 1)) * _PRIME
            h ^= h >> np.uint64(33)                  # MurmurHash3's finalizer: FNV alone
            h *= _MIX1                               # leaves the top bits (the bucket) of
            h ^= h >> np.uint64(33)                  # short words badly spread
            h *= _MIX2
            h ^= h >> np.uint64(33)
            out[k] = h
            k += 1
    return k


@njit(cache=True, nogil=True)
def build_deletes(cps, offsets, n_words, prefix, max_dist):
    """(hashes uint64[], word ids int32[]) of the prefix deletes of words ``0 .. n_words-1``,
    unsorted."""
    total = 0
    for w in range(n_words):
        total += n_variants(min(offsets[w + 1] - offsets[w], prefix), max_dist)
    hashes = np.empty(total, np.uint64)
    ids = np.empty(total, np.int32)
    k = np.int64(0)
    for w in range(n_words):
        n = min(offsets[w + 1] - offsets[w], prefix)
        k1 = variants(cps, offsets[w], n, max_dist, hashes, k)
        ids[k:k1] = w
        k = k1
    return hashes, ids


@njit(cache=True, nogil=True)
def weighted_osa(q, w, a, m, cap):
    """Weighted optimal-string-alignment distance between ``q`` and ``w[a:a+m]``: insertions,
    deletions and substitutions cost 1, but a doubled letter added or dropped 0.5, a vowel for a
    vowel 0.75 and a swap of neighbours 0.75; > ``cap`` as soon as every path costs more."""
    rows = np.empty((3, m + 1), np.int64)
    c4 = np.int64(np.floor(cap * 4.0))
    got = _wosa4(q, w, a, m, c4, rows)
    return got / 4.0 if got <= c4 else cap + 1.0


@njit(cache=True, nogil=True)
def _wosa4(q, w, a, m, cap, rows):
    """:func:`weighted_osa` in quarters (int64; ``cap`` too), > ``cap`` when over it, with its
    three rows given (``rows``: int64[3, >= m + 1])."""
    n = len(q)
    if abs(n - m) * 2 > cap:
        return cap + 1
    prev2 = rows[0]
    prev = rows[1]
    cur = rows[2]
    prev[0] = 0
    before = 0                                   # the smallest cell of the row before
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + (2 if j > 1 and w[a + j - 1] == w[a + j - 2] else 4)
    for i in range(1, n + 1):
        qi = q[i - 1]
        qv = qi >= 97 and qi <= 122 and (_VOWEL_MASK >> (qi - 97)) & 1 == 1
        dq = 2 if i > 1 and q[i - 2] == qi else 4
        qprev = q[i - 2] if i > 1 else -1
        cur[0] = prev[0] + dq
        best = cur[0]
        wprev = -1
        for j in range(1, m + 1):
            wj = w[a + j - 1]
            if qi == wj:
                v = prev[j - 1]
            elif qv and wj >= 97 and wj <= 122 and (_VOWEL_MASK >> (wj - 97)) & 1 == 1:
                v = prev[j - 1] + 3
            else:
                v = prev[j - 1] + 4
            d = prev[j] + dq                                     # q's letter dropped
            if d < v:
                v = d
            ins = cur[j - 1] + (2 if wprev == wj else 4)         # w's letter added
            if ins < v:
                v = ins
            if qi == wprev and qprev == wj and qi != wj and j > 1:
                t = prev2[j - 2] + 3
                if t < v:
                    v = t
            cur[j] = v
            if v < best:
                best = v
            wprev = wj
        if best > cap and before > cap:          # a swap reaches back two rows, no further
            return cap + 1
        before = best
        prev2, prev, cur = prev, cur, prev2
    return prev[m]


@njit(cache=True, nogil=True)
def lookup_many(qcps, qoffsets, exact, fps, ids, dir_, bits, cps, offsets, log_counts, prefix,
                max_dists, alpha, first_letter):
    """The best word (id, or -1 for none) of each word ``qcps[qoffsets[i]:qoffsets[i+1]]``, with
    ``exact[i]`` and ``max_dists[i]``: :func:`lookup` with ``k`` 1 for a batch, in one call."""
    n = len(qoffsets) - 1
    out = np.full(n, -1, np.int64)
    one = np.int64(1)
    for i in range(n):
        got, _ = lookup(qcps[qoffsets[i]:qoffsets[i + 1]], fps, ids, dir_, bits, cps, offsets,
                        log_counts, prefix, max_dists[i], alpha, first_letter, one, exact[i])
        if len(got):
            out[i] = got[0]
    return out


@njit(cache=True, nogil=True)
def lookup(q, fps, ids, dir_, bits, cps, offsets, log_counts, prefix, max_dist, alpha,
           first_letter, k, exact):
    """The ``k`` best words within ``max_dist`` (weighted) of ``q`` (int32 code points):
    (word ids int64[], costs float64[]) by decreasing ``log_count - alpha * cost`` (``first_letter``
    is added to the cost when the first letters differ); ``exact``: the id of ``q`` itself (cost
    0), or -1 when it is not a word. ``fps``, ``ids``, ``dir_``, ``bits``: the delete table (module
    doc)."""
    nq = len(q)
    n = min(nq, prefix)
    md = np.int64(2) if max_dist >= 2 else (np.int64(1) if max_dist >= 1 else np.int64(0))
    var = np.empty(n_variants(n, md), np.uint64)
    variants(q, np.int64(0), n, md, var, np.int64(0))
    shift = np.uint64(64 - bits)
    # the candidates: a bit set over word ids (dedupes them; read in id order: by count)
    seen = np.zeros((len(offsets) + 62) // 64, np.uint64)
    lo = len(seen)
    hi = -1
    c = 0
    for v in range(len(var)):
        h = var[v]
        b = np.int64(h >> shift)
        fp = np.uint16(h & np.uint64(0xFFFF))
        for p in range(dir_[b], dir_[b + 1]):
            if fps[p] == fp:
                w = ids[p]
                seen[w >> 6] |= np.uint64(1) << np.uint64(w & 63)
                lo = min(lo, w >> 6)
                hi = max(hi, w >> 6)
                c += 1
    out_ids = np.empty(c + 1, np.int64)
    out_cost = np.empty(c + 1, np.float64)
    out_score = np.empty(c + 1, np.float64)
    rows = np.empty((3, nq + 4), np.int64)          # m <= nq + 2
    top = np.full(k, -np.inf)                      # the k best scores so far, descending
    hist = np.zeros(64, np.int64)                  # q's letters by class (code point & 63)
    for j in range(nq):
        hist[q[j] & 63] += 1
    o = 0
    if exact >= 0:
        out_ids[0] = exact
        out_cost[0] = 0.0
        out_score[0] = log_counts[exact]
        top[0] = log_counts[exact]
        o = 1
    for word in range(lo, hi + 1):
        x = seen[word]
        stop = False
        while x != 0:
            low = x & (~x + np.uint64(1))
            w = (word << 6) + _DEBRUIJN[np.int64(((low * _DEBRUIJN_MUL) >> np.uint64(58)))]
            x ^= low
            if w == exact:
                continue
            bound = top[k - 1]
            lc = log_counts[w]
            # any other word costs at least 0.5: once a word's count cannot beat the k-th best
            # score even so, no rarer word can
            if lc - alpha * 0.5 <= bound:
                stop = True
                break
            a = offsets[w]
            m = offsets[w + 1] - a
            if abs(nq - m) > max_dist:
                continue
            fl = first_letter if nq > 0 and m > 0 and q[0] != cps[a] else 0.0
            cap = max_dist
            if bound > -np.inf:                    # only a cost beating the k-th best matters
                cap = min(cap, (lc - bound) / alpha - fl)
            if cap < 0:
                continue
            c4 = np.int64(np.floor(cap * 4.0))
            # letters in one word and not the other (counted in 64 classes): an edit changes
            # that count by at most 1 per 0.5 (a doubled letter) or 2 per 0.75 (vowels)
            diff = np.int64(0)
            for j in range(m):
                hist[cps[a + j] & 63] -= 1
            for j in range(m):
                cl = cps[a + j] & 63
                diff += abs(hist[cl])
                hist[cl] = 0
            for j in range(nq):
                cl = q[j] & 63
                diff += abs(hist[cl])
                hist[cl] = 0
            for j in range(nq):
                hist[q[j] & 63] += 1
            if 3 * diff > 2 * c4:
                continue
            q4 = _wosa4(q, cps, a, m, c4, rows)
            if q4 > c4:
                continue
            cost = q4 / 4.0 + fl
            score = lc - alpha * cost
            out_ids[o] = w
            out_cost[o] = cost
            out_score[o] = score
            o += 1
            if score > top[k - 1]:                 # insert into the k best
                j = k - 1
                while j > 0 and top[j - 1] < score:
                    top[j] = top[j - 1]
                    j -= 1
                top[j] = score
        if stop:
            break
    order = np.argsort(-out_score[:o], kind="mergesort")[:k]
    return out_ids[:o][order], out_cost[:o][order]
