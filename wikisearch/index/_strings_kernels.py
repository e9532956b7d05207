"""Numba kernels over tables of UTF-8 strings stored CSR-style: byte comparison and binary search.

Strings are ``blob[offsets[i]:offsets[i+1]]`` (uint8 blob, int64/uint64 offsets). ``order`` lists
string ids in increasing byte order; an empty ``order`` means the strings are stored sorted. Byte
order of UTF-8 is code point order, so these searches agree with Python's ``sorted`` on ``str``.
Used by the term dictionary and the merge (``compare_bytes``), title lookups (``find_many``) and
title suggestions (``prefix_range``). Pure functions; all run under NUMBA_DISABLE_JIT=1.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit


@njit(cache=True, nogil=True)
def compare_bytes(a, a0, a1, b, b0, b1):
    """-1, 0 or 1 as ``a[a0:a1]`` is <, == or > ``b[b0:b1]`` (bytes, lexicographic: UTF-8
    order of the strings)."""
    n = min(a1 - a0, b1 - b0)
    for i in range(n):
        x = a[a0 + i]
        y = b[b0 + i]
        if x != y:
            return -1 if x < y else 1
    la = a1 - a0
    lb = b1 - b0
    if la == lb:
        return 0
    return -1 if la < lb else 1



@njit(cache=True, nogil=True)
def _id(order, r):
    return order[r] if order.shape[0] > 0 else r


@njit(cache=True, nogil=True)
def _bound(blob, offsets, order, key, k0, k1, strict):
    """First rank r whose string is >= key[k0:k1] (``strict``: > key), or the number of strings."""
    lo = 0
    hi = offsets.shape[0] - 1
    limit = 1 if strict else 0          # go right while compare(string, key) < limit
    while lo < hi:
        mid = (lo + hi) >> 1
        i = _id(order, mid)
        if compare_bytes(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]), key, k0, k1) < limit:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def lower_bound(blob, offsets, order, key, k0, k1):
    """First rank r whose string is >= key[k0:k1] (the number of strings if none)."""
    return _bound(blob, offsets, order, key, k0, k1, False)


@njit(cache=True, nogil=True)
def upper_bound(blob, offsets, order, key, k0, k1):
    """First rank r whose string is > key[k0:k1] (the number of strings if none)."""
    return _bound(blob, offsets, order, key, k0, k1, True)


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
            if compare_bytes(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]), keys, k0, k1) == 0:
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
def _prefix_keys(blob, offsets):
    """The first 8 bytes of each string as a big-endian uint64 (zero-padded: UTF-8 titles hold
    no NUL bytes), so most comparisons of a sort are one integer comparison."""
    n = offsets.shape[0] - 1
    keys = np.zeros(n, np.uint64)
    for i in range(n):
        a = np.int64(offsets[i])
        b = np.int64(offsets[i + 1])
        k = np.uint64(0)
        for j in range(8):
            k = k << np.uint64(8)
            if a + j < b:
                k = k | np.uint64(blob[a + j])
        keys[i] = k
    return keys


@njit(cache=True, nogil=True)
def _less(blob, offsets, keys, i, j):
    if keys[i] != keys[j]:
        return keys[i] < keys[j]
    return compare_bytes(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]),
                         blob, np.int64(offsets[j]), np.int64(offsets[j + 1])) < 0


@njit(cache=True, nogil=True)
def sort_strings(blob, offsets):
    """String ids in increasing byte order, equal strings in id order (a stable bottom-up merge
    sort): the order of Python's ``sorted(range(n), key=strings.__getitem__)``."""
    n = offsets.shape[0] - 1
    keys = _prefix_keys(blob, offsets)
    a = np.arange(n, dtype=np.int64)
    b = np.empty(n, np.int64)
    width = 1
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if _less(blob, offsets, keys, a[j], a[i]):
                    b[k] = a[j]
                    j += 1
                else:
                    b[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                b[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                b[k] = a[j]
                j += 1
                k += 1
            lo = hi
        a, b = b, a
        width *= 2
    return a


@njit(cache=True, nogil=True)
def find_last_many(blob, offsets, order, keys, key_offsets):
    """:func:`find_many`, but the id of the *last* equal string in ``order`` (with a stable order:
    the highest id, as a Python dict built from the strings in id order keeps)."""
    m = key_offsets.shape[0] - 1
    out = np.full(m, -1, np.int64)
    for j in range(m):
        k0 = np.int64(key_offsets[j])
        k1 = np.int64(key_offsets[j + 1])
        lo = upper_bound(blob, offsets, order, keys, k0, k1)
        if lo > 0:
            i = _id(order, lo - 1)
            if compare_bytes(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]), keys, k0, k1) == 0:
                out[j] = i
    return out


@njit(cache=True, nogil=True)
def gather_strings(blob, offsets, ids):
    """The strings ``ids`` (in that order) as a new table: (offsets int64[len(ids)+1], blob)."""
    m = ids.shape[0]
    out_off = np.zeros(m + 1, np.int64)
    for j in range(m):
        i = ids[j]
        out_off[j + 1] = out_off[j] + (np.int64(offsets[i + 1]) - np.int64(offsets[i]))
    out = np.empty(out_off[m], np.uint8)
    for j in range(m):
        i = ids[j]
        a = np.int64(offsets[i])
        out[out_off[j]:out_off[j + 1]] = blob[a:a + out_off[j + 1] - out_off[j]]
    return out_off, out


@njit(cache=True, nogil=True)
def run_starts(blob, offsets, order):
    """For each rank of ``order``, the rank where its run of equal strings starts."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, np.int64)
    for r in range(1, n):
        i = order[r]
        j = order[r - 1]
        same = compare_bytes(blob, np.int64(offsets[i]), np.int64(offsets[i + 1]),
                             blob, np.int64(offsets[j]), np.int64(offsets[j + 1])) == 0
        out[r] = out[r - 1] if same else r
    return out


# --- FSST: strings compressed with random access (index/fsst.py) ----------------------------------
# A coded string is a run of codes: c < 255 stands for symbol c (sym[c, :sym_len[c]], 1-8 bytes),
# 255 for the literal byte after it. ``first``/``cand`` list the codes by their symbol's first byte
# (cand[first[b]:first[b + 1]]), longest first: the encoder takes the first that matches.

@njit(cache=True, nogil=True)
def fsst_match(blob, p, end, sym, sym_len, first, cand):
    """The code of the longest symbol that ``blob[p:end]`` starts with, or -1."""
    b = blob[p]
    for k in range(first[b], first[b + 1]):
        c = cand[k]
        n = np.int64(sym_len[c])
        if p + n > end:
            continue
        ok = True
        for t in range(1, n):
            if blob[p + t] != sym[c, t]:
                ok = False
                break
        if ok:
            return c
    return -1


@njit(cache=True, nogil=True)
def fsst_encode(blob, offsets, sym, sym_len, first, cand):
    """(codes uint8[], code offsets int64[n + 1]) of strings ``blob[offsets[i]:offsets[i+1]]``,
    each coded greedily (longest symbol first, else an escaped byte)."""
    n = offsets.shape[0] - 1
    size = np.int64(offsets[n]) - np.int64(offsets[0]) if n > 0 else np.int64(0)
    out = np.empty(2 * size, np.uint8)
    out_off = np.zeros(n + 1, np.int64)
    at = 0
    for i in range(n):
        p = np.int64(offsets[i])
        end = np.int64(offsets[i + 1])
        while p < end:
            c = fsst_match(blob, p, end, sym, sym_len, first, cand)
            if c < 0:
                out[at] = 255
                out[at + 1] = blob[p]
                at += 2
                p += 1
            else:
                out[at] = c
                at += 1
                p += np.int64(sym_len[c])
        out_off[i + 1] = at
    return out[:at].copy(), out_off


@njit(cache=True, nogil=True)
def fsst_count(blob, offsets, sample, sym, sym_len, first, cand):
    """What coding strings ``sample`` (ids) with the table emits: unit u is code u (< 255) or
    256 + an escaped byte; (count of each unit int64[512], of each pair of units emitted one
    after the other in a string int64[512, 512])."""
    c1 = np.zeros(512, np.int64)
    c2 = np.zeros((512, 512), np.int64)
    for i in sample:
        p = np.int64(offsets[i])
        end = np.int64(offsets[i + 1])
        prev = -1
        while p < end:
            c = fsst_match(blob, p, end, sym, sym_len, first, cand)
            if c < 0:
                u = 256 + np.int64(blob[p])
                p += 1
            else:
                u = np.int64(c)
                p += np.int64(sym_len[c])
            c1[u] += 1
            if prev >= 0:
                c2[prev, u] += 1
            prev = u
    return c1, c2


@njit(cache=True, nogil=True)
def fsst_decoded_size(codes, a, z, sym_len):
    """Bytes that codes[a:z] decode to."""
    n = np.int64(0)
    i = np.int64(a)
    while i < z:
        c = codes[i]
        if c == 255:
            n += 1
            i += 2
        else:
            n += np.int64(sym_len[c])
            i += 1
    return n


@njit(cache=True, nogil=True)
def fsst_decode(codes, offsets, sym, sym_len):
    """(blob uint8[], offsets int64[n + 1]) of coded strings ``codes[offsets[i]:offsets[i+1]]``."""
    n = offsets.shape[0] - 1
    out_off = np.zeros(n + 1, np.int64)
    for i in range(n):
        out_off[i + 1] = out_off[i] + fsst_decoded_size(codes, np.int64(offsets[i]), np.int64(offsets[i + 1]), sym_len)
    out = np.empty(out_off[n], np.uint8)
    at = 0
    for i in range(n):
        k = np.int64(offsets[i])
        z = np.int64(offsets[i + 1])
        while k < z:
            c = codes[k]
            if c == 255:
                out[at] = codes[k + 1]
                at += 1
                k += 2
            else:
                for t in range(np.int64(sym_len[c])):
                    out[at + t] = sym[c, t]
                at += np.int64(sym_len[c])
                k += 1
    return out, out_off


@njit(cache=True, nogil=True)
def compare_coded(codes, a0, a1, sym, sym_len, key, k0, k1):
    """:func:`compare_bytes` of the string that ``codes[a0:a1]`` decode to and ``key[k0:k1]``,
    decoded as it is compared (no buffer)."""
    j = k0
    i = a0
    while i < a1:
        c = codes[i]
        if c == 255:
            if j >= k1:
                return 1
            x = codes[i + 1]
            y = key[j]
            if x != y:
                return -1 if x < y else 1
            j += 1
            i += 2
        else:
            for t in range(np.int64(sym_len[c])):
                if j >= k1:
                    return 1
                x = sym[c, t]
                y = key[j]
                if x != y:
                    return -1 if x < y else 1
                j += 1
            i += 1
    return 0 if j == k1 else -1


@njit(cache=True, nogil=True)
def find_many_coded(codes, offsets, sym, sym_len, order, keys, key_offsets):
    """:func:`find_many` over FSST-coded strings (``order``: their ids by decoded bytes)."""
    m = key_offsets.shape[0] - 1
    out = np.full(m, -1, np.int64)
    n = offsets.shape[0] - 1
    for j in range(m):
        k0 = np.int64(key_offsets[j])
        k1 = np.int64(key_offsets[j + 1])
        lo = 0
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            i = _id(order, mid)
            if compare_coded(codes, np.int64(offsets[i]), np.int64(offsets[i + 1]), sym, sym_len, keys, k0, k1) < 0:
                lo = mid + 1
            else:
                hi = mid
        if lo < n:
            i = _id(order, lo)
            if compare_coded(codes, np.int64(offsets[i]), np.int64(offsets[i + 1]), sym, sym_len, keys, k0, k1) == 0:
                out[j] = i
    return out
