"""Numba kernel of fuzzy title suggestions: the sorted suggestion keys walked as a trie (a node is a
range of keys sharing its first ``depth`` bytes; its children are found by binary search), with a
Levenshtein row per node, so only the branches within ``max_dist`` edits of the typed prefix are
visited. A node whose key prefix is within ``max_dist`` of the whole typed prefix is a match: its
range is returned and not descended further.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit


@njit(cache=True, nogil=True)
def _byte(blob, offsets, e, depth):
    a = offsets[e]
    if offsets[e + 1] - a <= depth:
        return -1
    return np.int64(blob[a + depth])


@njit(cache=True, nogil=True)
def _run_end(blob, offsets, lo, hi, depth, c):
    """First entry in [lo, hi) whose byte at ``depth`` is greater than ``c`` (bytes ascend there)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if _byte(blob, offsets, mid, depth) <= c:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def fuzzy_ranges(blob, offsets, key, max_dist, max_nodes, anchor, lo0, hi0):
    """Ranges [lo, hi) of keys that start within ``max_dist`` edits (Levenshtein over bytes, an
    adjacent swap counting one) of ``key``, with the distance of each: (los, his, dists). The
    first ``anchor`` bytes are taken as typed: the walk starts at their range [lo0, hi0)."""
    n = len(key)
    size = 1024
    st_lo = np.empty(size, np.int64)
    st_hi = np.empty(size, np.int64)
    st_depth = np.empty(size, np.int64)
    st_byte = np.empty(size, np.int64)
    rows = np.empty((n + max_dist + 2, n + 1), np.int64)   # row per depth of the current path
    path = np.empty(n + max_dist + 2, np.int64)
    for i in range(anchor + 1):                           # key[:i] against key[:j]
        for j in range(n + 1):
            rows[i, j] = min(abs(i - j), max_dist + 1)
        if i < anchor:
            path[i] = key[i]
    out_lo = np.empty(64, np.int64)
    out_hi = np.empty(64, np.int64)
    out_d = np.empty(64, np.int64)
    if rows[anchor, n] <= max_dist:                      # the typed key is within reach already
        out_lo[0] = lo0
        out_hi[0] = hi0
        out_d[0] = rows[anchor, n]
        return out_lo[:1], out_hi[:1], out_d[:1]
    n_out = 0
    sp = 0
    # push the root's children
    st_lo[0] = lo0
    st_hi[0] = hi0
    st_depth[0] = anchor
    st_byte[0] = -2                                      # marker: enumerate children of this
    sp = 1
    visited = 0
    while sp > 0:
        sp -= 1
        lo = st_lo[sp]
        hi = st_hi[sp]
        depth = st_depth[sp]
        c = st_byte[sp]
        if c >= 0:                                       # a node: compute its row
            visited += 1
            if visited > max_nodes:
                break
            path[depth - 1] = c
            prev = rows[depth - 1]
            row = rows[depth]
            cap = max_dist + 1                           # cells beyond reach hold cap (Ukkonen's band)
            row[0] = depth if depth < cap else cap
            best = row[0]
            j0 = max(1, depth - max_dist)
            j1 = min(n, depth + max_dist)
            for j in range(1, j0):
                row[j] = cap
            for j in range(j0, j1 + 1):
                cost = 0 if key[j - 1] == c else 1
                v = prev[j - 1] + cost
                if prev[j] + 1 < v:
                    v = prev[j] + 1
                if row[j - 1] + 1 < v:
                    v = row[j - 1] + 1
                if depth > 1 and j > 1 and key[j - 1] == path[depth - 2] and key[j - 2] == c \
                        and c != key[j - 1]:
                    t = rows[depth - 2, j - 2] + 1
                    if t < v:
                        v = t
                if v > cap:
                    v = cap
                row[j] = v
                if v < best:
                    best = v
            for j in range(j1 + 1, n + 1):
                row[j] = cap
            if row[n] <= max_dist:                       # the whole prefix matched: this range
                if n_out == len(out_lo):
                    out_lo = np.concatenate((out_lo, np.empty(n_out, np.int64)))
                    out_hi = np.concatenate((out_hi, np.empty(n_out, np.int64)))
                    out_d = np.concatenate((out_d, np.empty(n_out, np.int64)))
                out_lo[n_out] = lo
                out_hi[n_out] = hi
                out_d[n_out] = row[n]
                n_out += 1
                continue
            if best > max_dist or depth >= n + max_dist:
                continue
        # children of [lo, hi) at this depth
        i = lo
        while i < hi and _byte(blob, offsets, i, depth) < 0:
            i += 1                                       # keys that end here
        while i < hi:
            b = _byte(blob, offsets, i, depth)
            j = _run_end(blob, offsets, i, hi, depth, b)
            if sp == size:
                size *= 2
                st_lo = np.concatenate((st_lo, np.empty(sp, np.int64)))
                st_hi = np.concatenate((st_hi, np.empty(sp, np.int64)))
                st_depth = np.concatenate((st_depth, np.empty(sp, np.int64)))
                st_byte = np.concatenate((st_byte, np.empty(sp, np.int64)))
            st_lo[sp] = i
            st_hi[sp] = j
            st_depth[sp] = depth + 1
            st_byte[sp] = b
            sp += 1
            i = j
    return out_lo[:n_out], out_hi[:n_out], out_d[:n_out]
