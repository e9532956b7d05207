"""Numba kernels of the analyzer: a UTF-8 tokenizer over one byte buffer holding many texts.

Pure functions over contiguous arrays, no I/O, no validation (``analyze.py`` validates).
Every kernel also runs with ``NUMBA_DISABLE_JIT=1``; loads are cast to ``np.int64`` /
``np.uint64`` explicitly so that plain numpy scalars (which wrap at 8 bits) and numba
(which widens) compute the same thing.

Token grammar, over code-point classes from ``analyze.class_table()``:
``token --> WORD (WORD | EXTEND)* | CJK EXTEND*``; ``EXTEND`` (marks, ZWJ, ZWNJ) never
starts a token, everything else (``SEP``) ends one.
"""
from __future__ import annotations

import numpy as np
from numba import njit

SEP, WORD, EXTEND, CJK = 0, 1, 2, 3

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)   # value slot of an unused hash-table entry


@njit(cache=True, nogil=True)
def _decode(buf, i):
    """Code point starting at byte ``i`` and its length in bytes (input is valid UTF-8)."""
    b = np.int64(buf[i])
    if b < 0x80:
        return b, 1
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F), 2
    if b < 0xF0:
        return (((b & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6)
                | (np.int64(buf[i + 2]) & 0x3F)), 3
    return (((b & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12)
            | ((np.int64(buf[i + 2]) & 0x3F) << 6) | (np.int64(buf[i + 3]) & 0x3F)), 4


@njit(cache=True, nogil=True)
def next_token(buf, i, end, table):
    """Find the next token in ``buf[i:end]``: returns ``(start, stop, n_chars)``, start -1 if none."""
    kind = SEP
    n = 1
    while i < end:
        cp, n = _decode(buf, i)
        kind = table[cp]
        if kind == WORD or kind == CJK:
            break
        i += n
    if i >= end:
        return -1, end, 0
    start = i
    i += n
    n_chars = 1
    while i < end:
        cp, n = _decode(buf, i)
        c = table[cp]
        if c == EXTEND or (c == WORD and kind == WORD):
            i += n
            n_chars += 1
        else:
            break
    return start, i, n_chars


@njit(cache=True, nogil=True)
def _lower(b):
    return b + 32 if 65 <= b <= 90 else b


@njit(cache=True, nogil=True)
def fnv1a(buf, start, stop):
    """64-bit FNV-1a of the token's bytes with ASCII lowercased."""
    h = _FNV_OFFSET
    for k in range(start, stop):
        h = (h ^ np.uint64(_lower(np.int64(buf[k])))) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def _same_token(buf, a0, a1, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if _lower(np.int64(buf[a0 + k])) != _lower(np.int64(buf[b0 + k])):
            return False
    return True


@njit(cache=True, nogil=True)
def _grow(a, size):
    b = np.empty(max(size, 2 * a.size), a.dtype)
    b[:a.size] = a
    return b


@njit(cache=True, nogil=True)
def _rehash(table, d_hash):
    """Table of twice the size holding the same distinct ids (slot = [hash, id])."""
    cap = table.size  # twice the number of slots now; slots double
    new = np.full(2 * cap, _EMPTY, np.uint64)
    mask = np.uint64(cap - 1)
    for j in range(1, table.size, 2):
        if table[j] != _EMPTY:
            h = d_hash[np.int64(table[j])]
            s = h & mask
            while new[2 * s + 1] != _EMPTY:
                s = (s + np.uint64(1)) & mask
            new[2 * s] = h
            new[2 * s + 1] = table[j]
    return new


@njit(cache=True, nogil=True)
def tokenize_distinct(buf, text_ends, table, max_chars):
    """Tokenize texts ``buf[text_ends[t-1]:text_ends[t]]`` and number their distinct tokens.

    Tokens compare equal when their bytes are equal with ASCII lowercased. Returns
    ``(token_ids, token_text, distinct_start, distinct_stop)``: per token (in order) the
    distinct id (ids in order of first occurrence) and the text index; per distinct token the
    byte span of its first occurrence. Tokens of more than ``max_chars`` code points are dropped.
    """
    n_tok = 0
    tok_ids = np.empty(max(16, buf.size // 6), np.int32)
    tok_text = np.empty(tok_ids.size, np.int32)
    n_dist = 0
    d_start = np.empty(1024, np.int64)
    d_stop = np.empty(1024, np.int64)
    d_hash = np.empty(1024, np.uint64)
    ht = np.full(2 * 4096, _EMPTY, np.uint64)  # open addressing, linear probing
    begin = 0
    for t in range(text_ends.size):
        end = text_ends[t]
        i = begin
        while i < end:
            start, i, n_chars = next_token(buf, i, end, table)
            if start < 0 or n_chars > max_chars:
                continue
            h = fnv1a(buf, start, i)
            mask = np.uint64(ht.size // 2 - 1)
            s = h & mask
            while True:
                v = ht[2 * s + 1]
                if v == _EMPTY:
                    break
                if ht[2 * s] == h:
                    d = np.int64(v)
                    if _same_token(buf, d_start[d], d_stop[d], start, i):
                        break
                s = (s + np.uint64(1)) & mask
            if v == _EMPTY:
                d = n_dist
                if d == d_start.size:
                    d_start = _grow(d_start, d + 1)
                    d_stop = _grow(d_stop, d + 1)
                    d_hash = _grow(d_hash, d + 1)
                d_start[d] = start
                d_stop[d] = i
                d_hash[d] = h
                ht[2 * s] = h
                ht[2 * s + 1] = np.uint64(d)
                n_dist += 1
                if 2 * n_dist > ht.size // 2:   # load factor 1/2
                    ht = _rehash(ht, d_hash)
            if n_tok == tok_ids.size:
                tok_ids = _grow(tok_ids, n_tok + 1)
                tok_text = _grow(tok_text, n_tok + 1)
            tok_ids[n_tok] = d
            tok_text[n_tok] = t
            n_tok += 1
        begin = end
    return tok_ids[:n_tok], tok_text[:n_tok], d_start[:n_dist], d_stop[:n_dist]


@njit(cache=True, nogil=True)
def token_spans(buf, text_ends, table, max_chars):
    """Byte spans of every token (``max_chars`` filter applied): ``(start, stop, text)``."""
    n = 0
    starts = np.empty(max(16, buf.size // 4), np.int64)
    stops = np.empty(starts.size, np.int64)
    texts = np.empty(starts.size, np.int32)
    begin = 0
    for t in range(text_ends.size):
        end = text_ends[t]
        i = begin
        while i < end:
            start, i, n_chars = next_token(buf, i, end, table)
            if start < 0 or n_chars > max_chars:
                continue
            if n == starts.size:
                starts = _grow(starts, n + 1)
                stops = _grow(stops, n + 1)
                texts = _grow(texts, n + 1)
            starts[n] = start
            stops[n] = i
            texts[n] = t
            n += 1
        begin = end
    return starts[:n], stops[:n], texts[:n]


@njit(cache=True, nogil=True)
def join_spans(buf, starts, stops, sep):
    """The bytes of spans ``buf[starts[k]:stops[k]]`` joined by byte ``sep``."""
    total = 0
    for k in range(starts.size):
        total += stops[k] - starts[k] + 1
    out = np.empty(max(total - 1, 0), np.uint8)
    p = 0
    for k in range(starts.size):
        if k > 0:
            out[p] = sep
            p += 1
        for j in range(starts[k], stops[k]):
            out[p] = buf[j]
            p += 1
    return out
