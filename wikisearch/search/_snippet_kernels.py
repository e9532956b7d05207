"""Numba kernels of the snippets: the best window of matches (one text's, or several texts' in
one call), where a text's first characters end (``snippets`` validates and explains).

Pure functions over contiguous arrays, no I/O, no validation; they run with
``NUMBA_DISABLE_JIT=1`` too, and ``tests/_oracle.py`` holds the plain-Python window that a test
compares this one with.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit


@njit(cache=True, nogil=True)
def best_window(starts, ends, which, n_terms, run_first, run_last, width, n_chars, repeat,
                phrase, early):
    """The run of matches ``[first, last]`` fitting in ``width`` characters that scores best:
    its distinct terms, plus ``repeat[c]`` for the ``c``-th repeat of a term (at most 0.9 in
    all), plus ``phrase`` per phrase occurrence ``[run_first[r], run_last[r]]`` inside it, less
    ``early`` times how far into the text (of ``n_chars``) it starts; the earliest of equals.
    Every match is ``starts[k]``, ``ends[k]`` (character offsets, in text order) and ``which[k]``
    (its term, < ``n_terms``). The sums are made in the oracle's order, so the scores are its
    floats to the bit."""
    m = starts.size
    best_i, best_j = 0, 0
    best_score = -1.0
    counts = np.zeros(n_terms, np.int64)
    distinct = 0
    repeats = 0.0
    phr = 0.0
    j = 0                                   # matches [i, j) are in the window
    for i in range(m):
        limit = starts[i] + width
        while j < m and ends[j] <= limit:
            c = counts[which[j]]
            if c == 0:
                distinct += 1
            else:
                repeats += repeat[c]
            counts[which[j]] = c + 1
            j += 1
        if j <= i:                          # one match wider than the window: itself
            j = i + 1
            counts[which[i]] += 1
            if counts[which[i]] == 1:
                distinct += 1
        if run_first.size:
            inside = 0
            for r in range(run_first.size):
                if i <= run_first[r] and run_last[r] < j:
                    inside += 1
            phr = phrase * inside
        score = distinct + min(repeats, 0.9) + phr - early * starts[i] / max(n_chars, 1)
        if score > best_score + 1e-12:
            best_score = score
            best_i, best_j = i, j - 1
        c = counts[which[i]] - 1            # match i leaves the window
        counts[which[i]] = c
        if c == 0:
            distinct -= 1
        else:
            repeats -= repeat[c]
    return best_i, best_j


@njit(cache=True, nogil=True)
def best_windows(starts, ends, which, cuts, n_terms, width, n_chars, max_matches, repeat, early):
    """:func:`best_window` of each of several texts, without phrases: text ``t``'s matches are
    ``[cuts[t - 1], cuts[t])`` of ``starts``, ``ends``, ``which`` (offsets from the text's start;
    the first ``max_matches`` of them looked at), its length ``n_chars[t]``. ``(first, last)`` of
    each text as indexes into its own matches, ``(-1, -1)`` for a text without any."""
    out = np.full((cuts.size, 2), -1, np.int64)
    none = np.zeros(0, np.int64)
    a = 0
    for t in range(cuts.size):
        b = cuts[t]
        if b > a:
            z = min(b, a + max_matches)
            i, j = best_window(starts[a:z], ends[a:z], which[a:z], n_terms, none, none, width,
                               n_chars[t], repeat, 0.0, early)
            out[t, 0] = i
            out[t, 1] = j
        a = b
    return out


_HIGH = np.uint64(0x8080808080808080)


@njit(cache=True, nogil=True)
def char_cut(buf, start, stop, n):
    """How far the first ``n`` characters of the UTF-8 text ``buf[start:stop]`` reach: ``(byte
    end, characters)`` (all of it when it holds fewer). Only the bytes before the end are read:
    8 at a time (their continuation bytes, ``10xxxxxx``, counted in one uint64) while 8 more
    characters are sure to be wanted, then one by one."""
    cut = start
    chars = 0
    a8 = (start + 7) // 8 * 8
    while cut < a8 and cut < stop and chars < n:     # to a multiple of 8
        chars += (np.int64(buf[cut]) & 0xC0) != 0x80
        cut += 1
    if cut == a8:
        top = cut + max(0, min(stop - cut, n - chars)) // 8 * 8
        words = buf[cut:top].view(np.uint64)
        w = 0
        while w < words.size and chars + 8 <= n:
            x = words[w]
            c = (x & _HIGH & ((~x) << np.uint64(1))) >> np.uint64(7)   # 1 per continuation byte
            c += c >> np.uint64(8)
            c += c >> np.uint64(16)
            c += c >> np.uint64(32)
            chars += 8 - np.int64(c & np.uint64(0xFF))
            w += 1
        cut += 8 * w
    while chars < n and cut < stop:
        nxt = min(stop, cut + (n - chars))  # a character takes a byte at least
        for k in range(cut, nxt):
            chars += (np.int64(buf[k]) & 0xC0) != 0x80
        cut = nxt
    while cut < stop and (np.int64(buf[cut]) & 0xC0) == 0x80:   # the last character's bytes
        cut += 1
    return cut, chars
