"""Numba kernels of priors and suggest: binary search over sorted UTF-8 strings stored CSR-style.

Strings are ``blob[offsets[i]:offsets[i+1]]`` (uint8 blob, int64/uint64 offsets). ``order`` lists
string ids in increasing byte order; an empty ``order`` means the strings are stored sorted. Byte order of
UTF-8 is code point order, so these searches agree with Python's ``sorted`` on ``str``.

Pure functions over arrays, no I/O, no validation; all run under NUMBA_DISABLE_JIT=1.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from wikisearch.index._segment_kernels import compare_bytes as _compare
from wikisearch._topk_kernels import offer


@njit(cache=True, nogil=True)
def _id(order, r):
    return order[r] if order.shape[0] > 0 else r


@njit(cache=True, nogil=True)
def lower_bound(blob, offsets, order, key, k0, k1):
    """First rank r whose string is >= key[k0:k1] (the number of strings if none)."""
    lo = 0
    hi = offsets.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        i = _id(order, mid)
        if _compare(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]), key, k0, k1) < 0:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def find_many(blob, offsets, order, keys, key_offsets):
    """For each key ``keys[key_offsets[j]:key_offsets[j+1]]``: the string id equal to it, or -1."""
    m = key_offsets.shape[0] - 1
    out = np.full(m, -1, np.int64)
    n = offsets.shape[0] - 1
    for j in range(m):
        k0 = np.int64(key_offsets[j])
        k1 = np.int64(key_offsets[j + 1])
        r = lower_bound(blob, offsets, order, keys, k0, k1)
        if r < n:
            i = _id(order, r)
            if _compare(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]), keys, k0, k1) == 0:
                out[j] = i
    return out


@njit(cache=True, nogil=True)
def prefix_range(blob, offsets, order, prefix):
    """Ranks [lo, hi) of the strings starting with ``prefix`` (UTF-8 never holds byte 0xff, so
    they are exactly the strings in [prefix, prefix + 0xff))."""
    lo = lower_bound(blob, offsets, order, prefix, 0, prefix.shape[0])
    upper = np.empty(prefix.shape[0] + 1, np.uint8)
    upper[:prefix.shape[0]] = prefix
    upper[prefix.shape[0]] = 255
    hi = lower_bound(blob, offsets, order, upper, 0, upper.shape[0])
    return lo, hi


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
    order. Whole blocks are visited by decreasing block maximum and the scan stops at the first
    block that cannot beat the m-th best: popular pages are found without reading the range."""
    m = max(1, min(m, hi - lo))
    hp = np.empty(m, np.float64)
    ht = np.empty(m, np.int64)
    he = np.empty(m, np.int64)
    size = 0
    b0 = (lo + block - 1) // block
    b1 = hi // block
    if b0 >= b1:
        for e in range(lo, hi):
            size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
        return he[:size].copy()
    for e in range(lo, b0 * block):
        size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
    for e in range(b1 * block, hi):
        size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
    order = np.argsort(-bmax[b0:b1], kind="mergesort")
    for j in range(order.shape[0]):
        b = b0 + order[j]
        if size == m and bmax[b] < hp[0]:
            break
        for e in range(b * block, (b + 1) * block):
            size = offer(hp, ht, he, size, m, popularity[doc[e]], _tie(doc, alias, offsets, e), e)
    return he[:size].copy()
