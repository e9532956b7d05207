"""Numba kernels of the forward index (``forward.bin``, :mod:`wikisearch.search.proximity`): each
document's kept tokens packed as term ordinals, and the re-ranker's proximity features read from
them.

A document's record is ``2 + ceil(n * bits / 64)`` uint64 words: a head word (its token count
``n`` in the low 32 bits, the tokens of its first sentence in the high 32), a check word (FNV-1a
over 64-bit words of the head and the packed words: any one damaged word changes it), then its
``n`` ordinals of ``bits`` bits each, little-end first, packed across word boundaries.
"""
from __future__ import annotations

import numpy as np

from wikisearch.jit import njit

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
#: The proximity features, in the columns :func:`forward_features` fills.
N_FEATURES = 5


@njit(cache=True, nogil=True)
def record_words(n, bits):
    """The uint64 words of a record of ``n`` tokens of ``bits`` bits."""
    return 2 + (n * bits + 63) // 64


@njit(cache=True, nogil=True)
def _check(words, a, z):
    """FNV-1a over the words ``a`` (the head) and ``a + 2:z`` (the packed ordinals)."""
    h = _FNV_OFFSET
    h = (h ^ words[a]) * _FNV_PRIME
    for i in range(a + 2, z):
        h = (h ^ words[i]) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def pack_records(ordinals, counts, firsts, bits, sentinel):
    """``(starts int64[D + 1], words uint64)``: the records of D documents whose tokens are
    ``ordinals`` (int64, back to back; ``counts[d]`` of them for document d, the first
    ``firsts[d]`` of those in its first sentence; an ordinal < 0, a term the index lacks, is
    stored as ``sentinel``)."""
    D = counts.shape[0]
    starts = np.zeros(D + 1, np.int64)
    for d in range(D):
        starts[d + 1] = starts[d] + record_words(counts[d], bits)
    words = np.zeros(starts[D], np.uint64)
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    t = 0
    for d in range(D):
        a = starts[d]
        n = counts[d]
        words[a] = np.uint64(n) | (np.uint64(firsts[d]) << np.uint64(32))
        for i in range(n):
            o = ordinals[t + i]
            v = np.uint64(sentinel) if o < 0 else np.uint64(o)
            v &= mask
            bit = i * bits
            w = a + 2 + (bit >> 6)
            s = bit & 63
            words[w] |= v << np.uint64(s)
            if s + bits > 64:
                words[w + 1] |= v >> np.uint64(64 - s)
        t += n
        words[a + 1] = _check(words, a, starts[d + 1])
    return starts, words


@njit(cache=True, nogil=True)
def check_records(starts, words, bits, docids):
    """The first of ``docids`` whose record is damaged (its length or check word wrong), else -1."""
    for c in range(docids.shape[0]):
        d = docids[c]
        a, z = starts[d], starts[d + 1]
        if z - a < 2:
            return d
        n = np.int64(words[a] & np.uint64(0xFFFFFFFF))
        first = np.int64(words[a] >> np.uint64(32))
        if first > n or z - a != record_words(n, bits) or _check(words, a, z) != words[a + 1]:
            return d
    return -1


@njit(cache=True, nogil=True)
def unpack_record(starts, words, bits, d):
    """int64[n]: document ``d``'s ordinals (its record taken as checked)."""
    a = starts[d]
    n = np.int64(words[a] & np.uint64(0xFFFFFFFF))
    out = np.empty(n, np.int64)
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    for i in range(n):
        bit = i * bits
        w = a + 2 + (bit >> 6)
        s = bit & 63
        v = words[w] >> np.uint64(s)
        if s + bits > 64:
            v |= words[w + 1] << np.uint64(64 - s)
        out[i] = np.int64(v & mask)
    return out


@njit(cache=True, nogil=True)
def forward_features(starts, words, bits, docids, query_ords, idf, window):
    """float64[C, 5], the proximity features of documents ``docids`` for a query whose distinct
    terms (in the query's order) have ordinals ``query_ords`` (-1: a term this index lacks) and
    idf ``idf``, each over the document's kept tokens:

    0. ``prefix_cov``: the idf of the query's terms it holds, over their sum (over the terms'
       count when the idf sums to 0);
    1. ``prox_window``: the most distinct query terms that ``window`` consecutive tokens from a
       match hold, over the query's terms;
    2. ``prox_density``: the terms it holds over the shortest run of tokens from a match holding
       all of them;
    3. ``prox_bigrams``: the query's adjacent term pairs found adjacent and in order, over the
       pairs (0 for a one-term query);
    4. ``first_sentence_cov``: the query's terms in its first sentence, over the query's terms.

    Records are taken as checked (:func:`check_records`)."""
    C, T = docids.shape[0], query_ords.shape[0]
    P = np.zeros((C, N_FEATURES), np.float64)
    if T == 0:
        return P
    total = 0.0
    for t in range(T):
        total += idf[t]
    present = np.zeros(T, np.bool_)
    seen = np.zeros(T, np.bool_)
    cnt = np.zeros(T, np.int64)
    sieve = np.uint64(0)                         # bit (ordinal % 64) of each query term: most tokens
    for t in range(T):                           # match none, and are let go on one test
        if query_ords[t] >= 0:
            sieve |= np.uint64(1) << np.uint64(query_ords[t] & 63)
    for c in range(C):
        a = starts[docids[c]]
        first = np.int64(words[a] >> np.uint64(32))
        tokens = unpack_record(starts, words, bits, docids[c])
        n = tokens.shape[0]
        mpos = np.empty(n, np.int64)             # the matches: token positions and query terms
        mterm = np.empty(n, np.int64)
        M = 0
        present[:] = False
        in_first = 0
        for i in range(n):
            o = tokens[i]
            if not (sieve >> np.uint64(o & 63)) & np.uint64(1):
                continue
            for t in range(T):
                if o == query_ords[t]:
                    mpos[M] = i
                    mterm[M] = t
                    M += 1
                    if not present[t]:
                        present[t] = True
                        if i < first:
                            in_first += 1
                    break
        found = 0
        cov = 0.0
        for t in range(T):
            if present[t]:
                found += 1
                cov += idf[t]
        P[c, 0] = cov / total if total > 0 else found / T
        P[c, 4] = in_first / T
        if found == 0:
            continue
        # the most distinct terms in ``window`` tokens from a match: two pointers over the matches
        cnt[:] = 0
        distinct, e, best = 0, 0, 0
        for m in range(M):
            while e < M and mpos[e] - mpos[m] < window:
                if cnt[mterm[e]] == 0:
                    distinct += 1
                cnt[mterm[e]] += 1
                e += 1
            best = max(best, distinct)
            cnt[mterm[m]] -= 1
            if cnt[mterm[m]] == 0:
                distinct -= 1
        # the shortest run from a match holding every term found: the same, to the completing match
        cnt[:] = 0
        distinct, e, width = 0, 0, n + 1
        for m in range(M):
            while e < M and distinct < found:
                if cnt[mterm[e]] == 0:
                    distinct += 1
                cnt[mterm[e]] += 1
                e += 1
            if distinct < found:
                break
            width = min(width, mpos[e - 1] - mpos[m] + 1)
            cnt[mterm[m]] -= 1
            if cnt[mterm[m]] == 0:
                distinct -= 1
        P[c, 1] = best / T
        P[c, 2] = found / width
        if T > 1:
            seen[:] = False
            pairs = 0
            for m in range(M - 1):
                t = mterm[m]
                if mpos[m + 1] == mpos[m] + 1 and mterm[m + 1] == t + 1 and not seen[t]:
                    seen[t] = True
                    pairs += 1
            P[c, 3] = pairs / (T - 1)
    return P
