"""Numba kernel of fuzzy title suggestions: the sorted suggestion keys walked as a trie (a node is a
range of keys sharing its first ``depth`` bytes; its children are found by binary search), with a
Levenshtein row per node, so only the branches within ``max_dist`` edits of the typed prefix are
visited. A node whose key prefix is within ``max_dist`` of the whole typed prefix is a match: its
range is returned and not descended further. Under a node whose row has no cell below
``max_dist`` only the children on the few typed bytes that can keep a cell within reach are
visited (the others could not): 313 nodes a walk on average instead of 764 over the prefixes
of benchmarks/bench_serve.py on the 30k index. Results and their order are a full walk's
(tests/_oracle.py ``fuzzy_ranges_slow``, the walk's definition). ``max_nodes`` bounds the nodes
visited, so a walk that stopped there before now goes further.
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
def _run_end_from(blob, offsets, i, hi, depth, c):
    """First entry in (i, hi) whose byte at ``depth`` is greater than ``c``, the byte of entry
    ``i`` (bytes ascend there), else ``hi``: galloping from ``i`` (i + 1, i + 2, i + 4, ...), then
    a binary search between the last two probes, so a short run costs a few steps whatever the
    range's size (most runs under a deep node are short)."""
    known = i                                            # byte(known) <= c
    step = 1
    while True:
        probe = i + step
        if probe >= hi:
            return _run_end(blob, offsets, known + 1, hi, depth, c)
        if _byte(blob, offsets, probe, depth) > c:
            return _run_end(blob, offsets, known + 1, probe, depth, c)
        known = probe
        step *= 2


@njit(cache=True, nogil=True)
def _push(stack, sp, lo, hi, depth, byte):
    """Put the node [lo, hi) at ``depth``, reached by ``byte``, on ``stack`` at row ``sp``: the
    stack, twice as long when it was full."""
    if sp == len(stack):
        grown = np.empty((2 * sp, 4), np.int64)
        grown[:sp] = stack
        stack = grown
    stack[sp, 0] = lo
    stack[sp, 1] = hi
    stack[sp, 2] = depth
    stack[sp, 3] = byte
    return stack


@njit(cache=True, nogil=True)
def fuzzy_ranges(blob, offsets, key, max_dist, max_nodes, anchor, lo0, hi0):
    """Ranges [lo, hi) of keys that start within ``max_dist`` edits (Levenshtein over bytes, an
    adjacent swap counting one) of ``key``, with the distance of each: (los, his, dists). The
    first ``anchor`` bytes are taken as typed: the walk starts at their range [lo0, hi0)."""
    n = len(key)
    stack = np.empty((1024, 4), np.int64)                 # nodes to visit: lo, hi, depth, byte
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
    stack = _push(stack, 0, lo0, hi0, anchor, -2)        # -2: enumerate the root's children
    sp = 1
    visited = 0
    wanted = np.empty(2 * max_dist + 2, np.int64)
    while sp > 0:
        sp -= 1
        lo = stack[sp, 0]
        hi = stack[sp, 1]
        depth = stack[sp, 2]
        c = stack[sp, 3]
        best = 0
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
            # Only the band [j0, j1] and the cell on each side of it are written: the band of a
            # depth is the same for every node there, and a row is read only in its band and
            # one cell beyond (the next depth's band and the swap's cells are within that).
            row[j0 - 1] = row[0] if j0 == 1 else cap
            if j1 < n:
                row[j1 + 1] = cap
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
            if j1 == n and row[n] <= max_dist:           # the whole prefix matched: this range
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
        if c >= 0 and best == max_dist:
            # No cell of this row is below the reach, so a child's cell j + 1 is within it only
            # on the diagonal from a cell j at the reach, with the child's byte == key[j]: an
            # insertion adds 1 to a cell, and a swap into cell j + 1 needs the byte key[j - 1]
            # and the row above at max_dist - 1 in cell j - 1, so this row's cell j - 1 is at
            # the reach and key[j - 1] is wanted already. The other children are beyond reach
            # from their first byte on (they would match nothing and lead nowhere): only the
            # children on those few bytes are visited, found by binary search, in the order of
            # a full walk.
            nw = 0
            for j in range(max(0, depth - max_dist), min(n - 1, depth + max_dist) + 1):
                if row[j] == max_dist:
                    wanted[nw] = key[j]
                    nw += 1
            for a in range(1, nw):                       # insertion sort: a few bytes
                v = wanted[a]
                b = a - 1
                while b >= 0 and wanted[b] > v:
                    wanted[b + 1] = wanted[b]
                    b -= 1
                wanted[b + 1] = v
            for a in range(nw):
                b = wanted[a]
                if a > 0 and b == wanted[a - 1]:
                    continue
                i = _run_end(blob, offsets, lo, hi, depth, b - 1)     # the first byte >= b
                if i == hi or _byte(blob, offsets, i, depth) != b:
                    continue
                j = _run_end_from(blob, offsets, i, hi, depth, b)
                stack = _push(stack, sp, i, j, depth + 1, b)
                sp += 1
            continue
        # children of [lo, hi) at this depth
        i = lo
        while i < hi and _byte(blob, offsets, i, depth) < 0:
            i += 1                                       # keys that end here
        while i < hi:
            b = _byte(blob, offsets, i, depth)
            j = _run_end_from(blob, offsets, i, hi, depth, b)
            stack = _push(stack, sp, i, j, depth + 1, b)
            sp += 1
            i = j
    return out_lo[:n_out], out_hi[:n_out], out_d[:n_out]
