"""Numba kernels of title suggestions: the most popular entries of a range of the sorted key
table, read a block at a time by decreasing block maximum (binary search over the keys is
``wikisearch.index._strings_kernels``).

Pure functions over arrays, no I/O, no validation; all run under NUMBA_DISABLE_JIT=1.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit

from wikisearch._topk_kernels import offer


@njit(cache=True, nogil=True)
def _tie(doc, alias, offsets, e):
    """Order among equally popular entries: titles before redirects, shorter keys, lower docid."""
    keylen = min(np.int64(offsets[e + 1]) - np.int64(offsets[e]), 511)
    return (np.int64(alias[e] >= 0) << 40) | (keylen << 31) | np.int64(doc[e])


@njit(cache=True, nogil=True)
def block_max(popularity, doc, block):
    """Largest popularity of each run of ``block`` consecutive entries."""
    n = doc.shape[0]
    nb = (n + block - 1) // block
    out = np.zeros(nb, np.float64)
    for b in range(nb):
        best = -np.inf
        for e in range(b * block, min(n, (b + 1) * block)):
            v = popularity[doc[e]]
            if v > best:
                best = v
        out[b] = best
    return out


@njit(cache=True, nogil=True)
def range_top(popularity, doc, alias, offsets, bmax, block, lo, hi, m):
    """Entries of [lo, hi) that are the m best by (popularity of their doc desc, tie asc), in any
    order: :func:`ranges_top` of the one range. Whole blocks are visited by decreasing block
    maximum and the scan stops at the first block that cannot beat the m-th best: popular pages
    are found without reading the range."""
    return ranges_top(popularity, doc, alias, offsets, bmax, block, np.array([lo], np.int64),
                      np.array([hi], np.int64), m)


@njit(cache=True, nogil=True)
def ranges_top(popularity, doc, alias, offsets, bmax, block, los, his, m):
    """Entries of the union of disjoint ranges [los[i], his[i]) (a fuzzy prefix's trie nodes)
    that are the m best by (popularity of their doc desc, tie asc), in any order: one heap; the
    entries outside whole blocks offered one by one, then the whole blocks of every range by
    decreasing block maximum, stopping at the first that cannot beat the m-th best (so a walk's
    hundred ranges cost one pass, and a one-letter prefix reads a few blocks of millions)."""
    total = 0
    n_full = 0
    for i in range(los.shape[0]):
        total += his[i] - los[i]
        b0 = (los[i] + block - 1) // block
        b1 = his[i] // block
        if b1 > b0:
            n_full += b1 - b0
    m = max(1, min(m, total))
    hp = np.empty(m, np.float64)
    ht = np.empty(m, np.int64)
    he = np.empty(m, np.int64)
    size = 0
    full = np.empty(n_full, np.int64)
    f = 0
    for i in range(los.shape[0]):
        lo = los[i]
        hi = his[i]
        b0 = (lo + block - 1) // block
        b1 = hi // block
        if b0 >= b1:                       # no whole block: every entry
            for e in range(lo, hi):
                size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
            continue
        for e in range(lo, b0 * block):
            size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
        for e in range(b1 * block, hi):
            size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
        for b in range(b0, b1):
            full[f] = b
            f += 1
    if n_full:
        order = np.argsort(-bmax[full], kind="mergesort")
        for j in range(n_full):
            b = full[order[j]]
            if size == m and bmax[b] < hp[0]:
                break
            for e in range(b * block, (b + 1) * block):
                size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
    return he[:size].copy()
