"""Numba kernels of the store's word transform (:mod:`wikisearch.index.wordcode`): frequent words
replaced by 1-3 byte codes before zstd, and back.

A *code byte* is one of the 42 byte values that UTF-8 text rarely or never holds (``CODE_BYTES``
in ``wordcode.py``); ``kind[b]`` (uint8[256]) says what byte ``b`` is: 0 an ordinary byte, 1 the
escape (the next byte is literal), 2 / 3 the capital / all-capitals flag, 4 the no-space flag, 5 /
6 / 7 a lead byte of a 1 / 2 / 3 byte code; ``base[b]`` is the word rank of a lead byte's first
code. A word is a maximal run of ASCII letters; a coded word is written ``[NOSP] [CAP | UP] code``
and stands for a space then the word, or the word alone after ``NOSP``. Pure functions over
contiguous uint8 / int32 / int64 arrays; all run under NUMBA_DISABLE_JIT=1.
"""
from __future__ import annotations

import numpy as np

from wikisearch.jit import njit

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


@njit(cache=True, nogil=True)
def _lower(c):
    return c + 32 if 65 <= c <= 90 else c


@njit(cache=True, nogil=True)
def _hash_lower(x, a, z):
    """FNV-1a (32 bits) of ``x[a:z]`` lower-cased (ASCII letters)."""
    h = _FNV_OFFSET
    for i in range(a, z):
        h = ((h ^ np.int64(_lower(x[i]))) * _FNV_PRIME) & 0xFFFFFFFF
    return h


@njit(cache=True, nogil=True)
def build_table(words, starts, size):
    """An open-addressing hash table of the words ``words[starts[i]:starts[i+1]]`` (lower case):
    int64[size] (``size`` a power of two), each slot a word's rank << 32 | its hash, -1 empty."""
    table = np.full(size, -1, np.int64)
    mask = size - 1
    for r in range(len(starts) - 1):
        hw = _hash_lower(words, starts[r], starts[r + 1])
        h = hw & mask
        while table[h] >= 0:
            h = (h + 1) & mask
        table[h] = (np.int64(r) << 32) | hw
    return table


@njit(cache=True, nogil=True)
def _find(x, a, z, hw, words, starts, table):
    """The rank of the lower case of ``x[a:z]`` (whose :func:`_hash_lower` is ``hw``) among the
    words, or -1."""
    mask = len(table) - 1
    h = hw & mask
    n = z - a
    while True:
        t = table[h]
        if t < 0:
            return -1
        if t & 0xFFFFFFFF == hw:
            r = t >> 32
            s = starts[r]
            if starts[r + 1] - s == n:
                same = True
                for i in range(n):
                    if _lower(x[a + i]) != words[s + i]:
                        same = False
                        break
                if same:
                    return r
        h = (h + 1) & mask


@njit(cache=True, nogil=True)
def _is_letter(c):
    return 97 <= c <= 122 or 65 <= c <= 90


@njit(cache=True, nogil=True)
def encode(x, out, words, starts, table, kind, codes, code_lens):
    """``x`` (uint8) transformed into ``out`` (uint8, at least 2 * len(x) + 8 bytes); returns the
    bytes written. ``table`` is :func:`build_table`'s (empty: no words), ``codes`` (uint8[W, 3])
    and ``code_lens`` (uint8[W]) give each word's code; ``kind`` as the module says (escape,
    flags: the first byte of each kind)."""
    esc = cap = up = nosp = 0
    for b in range(256):
        k = kind[b]
        if k == 1:
            esc = b
        elif k == 2:
            cap = b
        elif k == 3:
            up = b
        elif k == 4:
            nosp = b
    n = len(x)
    has_words = len(table) > 0
    o = 0
    i = 0
    while i < n:
        c = x[i]
        spaced = c == 32 and i + 1 < n and _is_letter(x[i + 1])
        if not spaced and not _is_letter(c):
            if kind[c] != 0:
                out[o] = esc
                o += 1
            out[o] = c
            o += 1
            i += 1
            continue
        a = i + 1 if spaced else i
        # one pass over the word: its end, the hash of its lower case, its capitals
        h = _FNV_OFFSET
        n_up = 0
        z = a
        while z < n:
            ch = np.int64(x[z])
            if 97 <= ch <= 122:
                pass
            elif 65 <= ch <= 90:
                ch += 32
                n_up += 1
            else:
                break
            h = ((h ^ ch) * _FNV_PRIME) & 0xFFFFFFFF
            z += 1
        flag = -1                           # -1: not coded, 0: lower, 1: capital, 2: capitals
        if n_up == 0:
            flag = 0
        elif n_up == 1 and x[a] <= 90:
            flag = 1
        elif n_up == z - a:
            flag = 2
        r = -1
        if flag >= 0 and has_words:
            r = _find(x, a, z, h, words, starts, table)
        if r < 0:
            for j in range(i, z):
                out[o] = x[j]
                o += 1
        else:
            if not spaced:
                out[o] = nosp
                o += 1
            if flag == 1:
                out[o] = cap
                o += 1
            elif flag == 2:
                out[o] = up
                o += 1
            for j in range(code_lens[r]):
                out[o] = codes[r, j]
                o += 1
        i = z
    return o


@njit(cache=True, nogil=True)
def decode(y, out, words, starts, kind, base):
    """The inverse of :func:`encode`: ``y`` decoded into ``out``; returns the bytes written, -1
    when ``y`` is not a transform's output (a damaged block), -2 when ``out`` is too small."""
    n = len(y)
    m = len(out)
    nw = len(starts) - 1
    o = 0
    i = 0
    while i < n:
        c = y[i]
        k = kind[c]
        if k == 0:
            if o >= m:
                return -2
            out[o] = c
            o += 1
            i += 1
            continue
        if k == 1:
            if i + 1 >= n:
                return -1
            if o >= m:
                return -2
            out[o] = y[i + 1]
            o += 1
            i += 2
            continue
        spaced = True
        if k == 4:
            spaced = False
            i += 1
            if i >= n:
                return -1
            c = y[i]
            k = kind[c]
        case = 0
        if k == 2 or k == 3:
            case = k - 1
            i += 1
            if i >= n:
                return -1
            c = y[i]
            k = kind[c]
        if k == 5:
            r = base[c]
            i += 1
        elif k == 6:
            if i + 1 >= n:
                return -1
            r = base[c] + np.int64(y[i + 1])
            i += 2
        elif k == 7:
            if i + 2 >= n:
                return -1
            r = base[c] + (np.int64(y[i + 1]) << 8) + np.int64(y[i + 2])
            i += 3
        else:
            return -1
        if r >= nw:
            return -1
        s, e = starts[r], starts[r + 1]
        if o + (e - s) + spaced > m:
            return -2
        if spaced:
            out[o] = 32
            o += 1
        if case == 0:
            for j in range(s, e):
                out[o] = words[j]
                o += 1
        elif case == 1:
            out[o] = words[s] - 32
            o += 1
            for j in range(s + 1, e):
                out[o] = words[j]
                o += 1
        else:
            for j in range(s, e):
                out[o] = words[j] - 32
                o += 1
    return o
