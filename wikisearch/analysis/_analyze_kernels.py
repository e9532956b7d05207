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
from wikisearch.jit import njit

SEP, WORD, EXTEND, CJK = 0, 1, 2, 3

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)   # value slot of an unused hash-table entry
_LONG = np.uint64(0xFF) << np.uint64(56)  # key2 of a token longer than 15 bytes


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
def _rehash(table):
    """A hash table (slot = [hash, distinct id, key, key2]) of twice as many slots, same entries."""
    n_slots = table.size // 4
    new = np.full(2 * table.size, _EMPTY, np.uint64)
    mask = np.uint64(2 * n_slots - 1)
    for old in range(n_slots):
        if table[4 * old + 1] == _EMPTY:
            continue
        s = table[4 * old] & mask
        while new[4 * s + 1] != _EMPTY:
            s = (s + np.uint64(1)) & mask
        for w in range(4):
            new[4 * s + w] = table[4 * old + w]
    return new


@njit(cache=True, nogil=True)
def _class_at(buf, i, table):
    """Class and byte length of the character at byte ``i``; ASCII skips the UTF-8 decoder."""
    b = np.int64(buf[i])
    if b < 0x80:
        return table[b], 1
    cp, n = _decode(buf, i)
    return table[cp], n


@njit(cache=True, nogil=True)
def _scan_token(buf, i, end, table):
    """Like :func:`next_token`, and in the same pass the token's :func:`fnv1a` hash and its key:
    ``(start, stop, n_chars, hash, key, key2)``, start -1 if none. For tokens of up to 15 bytes
    the two keys hold the ASCII-lowercased bytes (8 + 7) and the length, so tokens are equal
    exactly when their keys are; longer tokens have ``key2 == _LONG`` (compared byte by byte).
    ASCII bytes skip the UTF-8 decoder."""
    kind = np.uint8(SEP)      # (not a literal 0: typed as what _class_at returns, whatever order kernels compile in)
    n = 1
    while i < end:
        kind, n = _class_at(buf, i, table)
        if kind == WORD or kind == CJK:
            break
        i += n
    if i >= end:
        return -1, end, 0, _FNV_OFFSET, _LONG, _LONG
    start = i
    h = _FNV_OFFSET
    key = np.uint64(0)
    key2 = np.uint64(0)
    for k in range(i, i + n):
        lb = np.uint64(_lower(np.int64(buf[k])))
        h = (h ^ lb) * _FNV_PRIME
        j = k - start
        if j < 8:
            key |= lb << np.uint64(8 * j)
    i += n
    n_chars = 1
    while i < end:
        c, n = _class_at(buf, i, table)
        if c == EXTEND or (c == WORD and kind == WORD):
            for k in range(i, i + n):
                lb = np.uint64(_lower(np.int64(buf[k])))
                h = (h ^ lb) * _FNV_PRIME
                j = k - start
                if j < 8:
                    key |= lb << np.uint64(8 * j)
                elif j < 15:
                    key2 |= lb << np.uint64(8 * (j - 8))
            i += n
            n_chars += 1
        else:
            break
    if i - start > 15:
        key2 = _LONG
    else:
        key2 |= np.uint64(i - start) << np.uint64(56)
    return start, i, n_chars, h, key, key2


@njit(cache=True, nogil=True)
def _intern(ht, mask, h, key, key2, buf, start, stop, d_start, d_stop, n_dist):
    """The distinct id of the token ``buf[start:stop]`` (hash ``h``, slot keys ``key``/``key2``
    from :func:`_scan_token`) in the open-addressing table ``ht`` (linear probing), entered as
    distinct token ``n_dist`` when new: ``(id, n_dist after)``."""
    s = h & mask
    while True:
        v = ht[4 * s + 1]
        if v == _EMPTY:
            d_start[n_dist] = start
            d_stop[n_dist] = stop
            ht[4 * s] = h
            ht[4 * s + 1] = np.uint64(n_dist)
            ht[4 * s + 2] = key
            ht[4 * s + 3] = key2
            return np.int64(n_dist), n_dist + 1
        if ht[4 * s] == h and ht[4 * s + 2] == key and ht[4 * s + 3] == key2:
            d = np.int64(v)
            if key2 != _LONG or _same_token(buf, d_start[d], d_stop[d], start, stop):
                return d, n_dist
        s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def _distinct_run(buf, text_ends, table, max_chars, t, i, tok_ids, tok_text, n_tok,
                  ht, d_start, d_stop, n_dist):
    """Go on from text ``t``, byte ``i`` until done or an array is full (then the caller
    grows it and calls again). Arrays are never reassigned here: that keeps the loop fast.
    Hash-table slots are [hash, distinct id, key, key2] (see :func:`_scan_token`): tokens of up
    to 15 bytes are settled in the slot, without reading the first occurrence's bytes."""
    n_slots = ht.size // 4
    max_dist = min(d_start.size, n_slots // 2)   # load factor <= 1/2
    mask = np.uint64(n_slots - 1)
    while t < text_ends.size:
        end = text_ends[t]
        while i < end:
            if n_tok == tok_ids.size or n_dist == max_dist:
                return t, i, n_tok, n_dist
            start, i, n_chars, h, key, key2 = _scan_token(buf, i, end, table)
            if start < 0 or n_chars > max_chars:
                continue
            d, n_dist = _intern(ht, mask, h, key, key2, buf, start, i, d_start, d_stop, n_dist)
            tok_ids[n_tok] = d
            tok_text[n_tok] = t
            n_tok += 1
        t += 1
    return t, i, n_tok, n_dist


@njit(cache=True, nogil=True)
def tokenize_distinct(buf, text_ends, table, max_chars):
    """Tokenize texts ``buf[text_ends[t-1]:text_ends[t]]`` and number their distinct tokens.

    Tokens compare equal when their bytes are equal with ASCII lowercased. Returns
    ``(token_ids, token_text, distinct_start, distinct_stop)``: per token (in order) the
    distinct id (ids in order of first occurrence) and the text index; per distinct token the
    byte span of its first occurrence. Tokens of more than ``max_chars`` code points are dropped.
    """
    tok_ids = np.empty(max(64, buf.size // 6), np.int32)
    tok_text = np.empty(tok_ids.size, np.int32)
    d_start = np.empty(4096, np.int64)
    d_stop = np.empty(4096, np.int64)
    n_slots = 64                               # open addressing, linear probing; sized to the
    while n_slots < 8192 and n_slots < buf.size:   # input (a query's few words fill no 256 KB),
        n_slots *= 2                           # grown by _rehash as distinct tokens come
    ht = np.full(4 * n_slots, _EMPTY, np.uint64)
    t, i, n_tok, n_dist = 0, 0, 0, 0
    while True:
        t, i, n_tok, n_dist = _distinct_run(buf, text_ends, table, max_chars, t, i, tok_ids,
                                            tok_text, n_tok, ht, d_start, d_stop, n_dist)
        if t == text_ends.size:
            break
        if n_tok == tok_ids.size:
            tok_ids = _grow(tok_ids, 0)
            tok_text = _grow(tok_text, 0)
        if n_dist == d_start.size:
            d_start = _grow(d_start, 0)
            d_stop = _grow(d_stop, 0)
        if n_dist == ht.size // 8:
            ht = _rehash(ht)
    return tok_ids[:n_tok], tok_text[:n_tok], d_start[:n_dist], d_stop[:n_dist]


@njit(cache=True, nogil=True)
def _spans_run(buf, text_ends, table, max_chars, t, i, starts, stops, texts, n):
    while t < text_ends.size:
        end = text_ends[t]
        while i < end:
            if n == starts.size:
                return t, i, n
            start, i, n_chars = next_token(buf, i, end, table)
            if start < 0 or n_chars > max_chars:
                continue
            starts[n] = start
            stops[n] = i
            texts[n] = t
            n += 1
        t += 1
    return t, i, n


@njit(cache=True, nogil=True)
def token_spans(buf, text_ends, table, max_chars):
    """Byte spans of every token (``max_chars`` filter applied): ``(start, stop, text)``."""
    starts = np.empty(max(64, buf.size // 6), np.int64)
    stops = np.empty(starts.size, np.int64)
    texts = np.empty(starts.size, np.int32)
    t, i, n = 0, 0, 0
    while True:
        t, i, n = _spans_run(buf, text_ends, table, max_chars, t, i, starts, stops, texts, n)
        if t == text_ends.size:
            break
        starts = _grow(starts, 0)
        stops = _grow(stops, 0)
        texts = _grow(texts, 0)
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


@njit(cache=True, nogil=True)
def remap(tok_ids, tok_text, mapping):
    """``mapping[tok_ids]`` and ``tok_text`` without the tokens mapped to -1 (dropped)."""
    term_ids = np.empty(tok_ids.size, np.int32)
    texts = np.empty(tok_ids.size, np.int32)
    n = 0
    for k in range(tok_ids.size):
        m = mapping[tok_ids[k]]
        if m >= 0:
            term_ids[n] = m
            texts[n] = tok_text[k]
            n += 1
    return term_ids[:n], texts[:n]


@njit(cache=True, nogil=True)
def memo_get(memo, h, key, key2):
    """What the token memo ``memo`` (slots [hash, value + 1, key, key2], as the distinct-token
    table's) holds for the token of ``h``/``key``/``key2`` (:func:`_scan_token`): its value
    (>= -1), or -2 when absent. Tokens longer than 15 bytes are never in it."""
    if key2 == _LONG or memo.size == 0:
        return np.int64(-2)
    mask = np.uint64(memo.size // 4 - 1)
    s = h & mask
    while True:
        v = memo[4 * s + 1]
        if v == _EMPTY:
            return np.int64(-2)
        if memo[4 * s] == h and memo[4 * s + 2] == key and memo[4 * s + 3] == key2:
            return np.int64(v) - 1
        s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def memo_add(memo, hashes, keys, key2s, values):
    """Enter tokens (their :func:`_scan_token` hash and keys) with ``values`` (>= -1) in the
    token memo, which has room for them (load factor <= 1/2: the caller grows it with
    :func:`_rehash`); tokens longer than 15 bytes are left out. Returns how many were entered."""
    mask = np.uint64(memo.size // 4 - 1)
    n = 0
    for k in range(hashes.size):
        if key2s[k] == _LONG:
            continue
        h = hashes[k]
        s = h & mask
        while True:
            v = memo[4 * s + 1]
            if v == _EMPTY:
                memo[4 * s] = h
                memo[4 * s + 1] = np.uint64(values[k] + 1)
                memo[4 * s + 2] = keys[k]
                memo[4 * s + 3] = key2s[k]
                n += 1
                break
            if memo[4 * s] == h and memo[4 * s + 2] == keys[k] and memo[4 * s + 3] == key2s[k]:
                break
            s = (s + np.uint64(1)) & mask
    return n


@njit(cache=True, nogil=True)
def _spans_distinct_run(buf, text_ends, table, max_chars, wanted, t, i, cont, n_all, tok_ids,
                        tok_start, tok_stop, tok_index, n_tok, ht, d_start, d_stop, d_hash,
                        d_key, d_key2, n_dist):
    """:func:`_distinct_run` that keeps each token's span and ordinal (``n_all`` counts every
    token), for the tokens whose first byte is ``wanted`` only: the others are skipped without
    hashing. A token's id is its distinct id. Spans are characters (``cont``: the UTF-8 continuation bytes
    before byte ``i``)."""
    n_slots = ht.size // 4
    max_dist = min(d_start.size, n_slots // 2)   # load factor <= 1/2
    mask = np.uint64(n_slots - 1)
    while t < text_ends.size:
        end = text_ends[t]
        while i < end:
            if n_tok == tok_ids.size or n_dist == max_dist:
                return t, i, cont, n_all, n_tok, n_dist
            kind, n = _class_at(buf, i, table)
            if kind != WORD and kind != CJK:
                i += n
                cont += n - 1
                continue
            if not wanted[buf[i]]:              # skip the token: classes only
                i += n
                cont += n - 1
                n_chars = 1
                while i < end:
                    c, n = _class_at(buf, i, table)
                    if c == EXTEND or (c == WORD and kind == WORD):
                        i += n
                        cont += n - 1
                        n_chars += 1
                    else:
                        break
                if n_chars <= max_chars:
                    n_all += 1
                continue
            start, i, n_chars, h, key, key2 = _scan_token(buf, i, end, table)
            c0 = cont
            cont += i - start - n_chars
            if n_chars > max_chars:
                continue
            d, n_dist = _intern(ht, mask, h, key, key2, buf, start, i, d_start, d_stop, n_dist)
            if d == n_dist - 1:
                d_hash[d] = h
                d_key[d] = key
                d_key2[d] = key2
            tok_ids[n_tok] = d
            tok_start[n_tok] = start - c0
            tok_stop[n_tok] = i - cont
            tok_index[n_tok] = n_all
            n_tok += 1
            n_all += 1
        t += 1
    return t, i, cont, n_all, n_tok, n_dist


@njit(cache=True, nogil=True)
def tokenize_distinct_spans(buf, text_ends, table, max_chars, wanted):
    """One pass of :func:`tokenize_distinct` and :func:`token_spans` together, over the tokens
    whose first byte is ``wanted`` (``bool[256]``; all true: every token): per such token its
    distinct id (as :func:`select_matches` reads it), character start and stop
    (counted from its text's start) and ordinal among all the tokens; per text the number of
    such tokens up to its end, the ordinal of its first token and its length in characters; per
    distinct token the byte span of its first occurrence and its hash and
    keys (:func:`_scan_token`): ``(token_ids, starts, stops, ordinals, text_token_ends,
    text_first_ordinal, text_chars, distinct_start, distinct_stop, distinct_hash,
    distinct_key, distinct_key2)``. The tables start small (a search's snippets tokenize a few
    texts) and grow as needed."""
    tok_ids = np.empty(max(64, buf.size // 6), np.int64)
    tok_start = np.empty(tok_ids.size, np.int64)
    tok_stop = np.empty(tok_ids.size, np.int64)
    tok_index = np.empty(tok_ids.size, np.int64)
    n_slots = 1024
    while n_slots < 4096 and n_slots * 16 < buf.size:
        n_slots *= 2
    d_start = np.empty(n_slots // 2, np.int64)
    d_stop = np.empty(n_slots // 2, np.int64)
    d_hash = np.empty(n_slots // 2, np.uint64)
    d_key = np.empty(n_slots // 2, np.uint64)
    d_key2 = np.empty(n_slots // 2, np.uint64)
    ht = np.full(4 * n_slots, _EMPTY, np.uint64)   # open addressing, linear probing
    text_tok_ends = np.zeros(text_ends.size, np.int64)
    text_first = np.zeros(text_ends.size, np.int64)
    text_chars = np.zeros(text_ends.size, np.int64)
    t, i, cont, n_all, n_tok, n_dist = 0, 0, 0, 0, 0, 0
    text_cont = 0                           # continuation bytes before text t
    while t < text_ends.size:
        t2, i, cont, n_all, n_tok, n_dist = _spans_distinct_run(
            buf, text_ends[:t + 1], table, max_chars, wanted, t, i, cont, n_all, tok_ids,
            tok_start, tok_stop, tok_index, n_tok, ht, d_start, d_stop, d_hash, d_key, d_key2,
            n_dist)
        if t2 > t:                          # text t is done
            begin = text_ends[t - 1] if t > 0 else 0
            text_chars[t] = text_ends[t] - begin - (cont - text_cont)
            first = text_tok_ends[t - 1] if t > 0 else 0
            for k in range(first, n_tok):   # spans counted from the text's start
                tok_start[k] -= begin - text_cont
                tok_stop[k] -= begin - text_cont
            text_cont = cont
            text_tok_ends[t] = n_tok
            if t + 1 < text_ends.size:
                text_first[t + 1] = n_all
            t += 1
            continue
        if n_tok == tok_ids.size:
            tok_ids = _grow(tok_ids, 0)
            tok_start = _grow(tok_start, 0)
            tok_stop = _grow(tok_stop, 0)
            tok_index = _grow(tok_index, 0)
        if n_dist == d_start.size:
            d_start = _grow(d_start, 0)
            d_stop = _grow(d_stop, 0)
            d_hash = _grow(d_hash, 0)
            d_key = _grow(d_key, 0)
            d_key2 = _grow(d_key2, 0)
        if n_dist == ht.size // 8:
            ht = _rehash(ht)
    return (tok_ids[:n_tok], tok_start[:n_tok], tok_stop[:n_tok], tok_index[:n_tok], text_tok_ends,
            text_first, text_chars, d_start[:n_dist], d_stop[:n_dist], d_hash[:n_dist],
            d_key[:n_dist], d_key2[:n_dist])


@njit(cache=True, nogil=True)
def select_matches(codes, dist_codes, starts, stops, ordinals, text_tok_ends, text_first, term_codes,
                   positions):
    """The matches among the tokens :func:`tokenize_distinct_spans` found (``codes``: their
    distinct ids; distinct token ``d``'s term id is ``dist_codes[d]``, -1: dropped by
    analysis): the tokens whose term id is ``term_codes[k]`` (the last such ``k``) are
    matches of term ``k``. Per match its start, stop, term and position; the
    position is, with ``positions``, the number of kept tokens (code != -1) before it in its
    text, else its ordinal less ``text_first`` of its text; ``cuts[t]``: the matches up to the
    end of text ``t``. ``(starts, stops, which, position, cuts)``."""
    n = codes.size
    out_s = np.empty(n, np.int64)
    out_e = np.empty(n, np.int64)
    out_w = np.empty(n, np.int64)
    out_p = np.empty(n, np.int64)
    n_texts = text_tok_ends.size
    cuts = np.zeros(n_texts, np.int64)
    m = 0
    kept = 0                                # kept tokens before token k
    base = 0                                # kept tokens before the current text
    t = 0
    for k in range(n):
        while t < n_texts and k >= text_tok_ends[t]:
            cuts[t] = m
            t += 1
            base = kept
        c = dist_codes[codes[k]]
        w = -1
        for j in range(term_codes.size):
            if term_codes[j] == c:
                w = j
        if w >= 0 and c >= 0:
            out_s[m] = starts[k]
            out_e[m] = stops[k]
            out_w[m] = w
            out_p[m] = kept - base if positions else ordinals[k] - text_first[t]
            m += 1
        if c != -1:
            kept += 1
    while t < n_texts:
        cuts[t] = m
        t += 1
    return out_s[:m], out_e[:m], out_w[:m], out_p[:m], cuts


@njit(cache=True, nogil=True)
def memo_get_many(memo, hashes, keys, key2s):
    """:func:`memo_get` of each token (its :func:`_scan_token` hash and keys): values, -2 absent."""
    out = np.empty(hashes.size, np.int64)
    for k in range(hashes.size):
        out[k] = memo_get(memo, hashes[k], keys[k], key2s[k])
    return out


@njit(cache=True, nogil=True)
def _ascii_simple(table):
    """Are ASCII characters all SEP or WORD in ``table``? (then an ASCII SEP byte is never
    inside a token, and an ASCII WORD byte after one starts a token)"""
    for b in range(128):
        if table[b] != SEP and table[b] != WORD:
            return False
    return True


@njit(cache=True, nogil=True)
def _wanted_starts(table, wanted):
    """bool[128 * 128], index ``128 * previous byte + byte``: where :func:`_wanted_run`'s fast
    search stops in ASCII text (a ``wanted`` word byte after a separator)."""
    out = np.zeros(128 * 128, np.bool_)
    for b in range(128):
        if wanted[b] and table[b] == WORD:
            for prev in range(128):
                if table[prev] == SEP:
                    out[128 * prev + b] = True
    return out


@njit(cache=True, nogil=True)
def _wanted_run(buf, text_ends, table, max_chars, wanted, pairs, starts, fast, t, i, cont, tok_ids, tok_start,
                tok_stop, n_tok, ht, d_start, d_stop, d_hash, d_key, d_key2, n_dist):
    """:func:`_spans_distinct_run` without ordinals: the same tokens, ids,
    and spans. With ``fast`` (:func:`_ascii_simple`), ASCII text is passed by a search for the
    next byte that may start a wanted token (a wanted byte at a point between tokens or after
    an ASCII separator, unless the token's second byte is an ASCII word byte and ``pairs`` of
    the two bytes, ASCII-lowercased, ``128 * first + second``, is false) or is not ASCII, which
    needs no classes and no counts (ASCII bytes are no continuation bytes and no token is
    counted); a non-ASCII byte is taken from the start of the ASCII word run before it (a point
    between tokens) by the exact steps (which look at ``wanted`` only), until the walk is
    between tokens at an ASCII byte again."""
    n_slots = ht.size // 4
    max_dist = min(d_start.size, n_slots // 2)   # load factor <= 1/2
    mask = np.uint64(n_slots - 1)
    while t < text_ends.size:
        end = text_ends[t]
        while i < end:
            if n_tok == tok_ids.size or n_dist == max_dist:
                return t, i, cont, n_tok, n_dist
            if fast and buf[i] < 0x80:          # between tokens, at an ASCII byte
                k = i
                prev = 32                       # (i is between tokens: as after a space)
                while k < end:
                    b = buf[k]
                    if b >= 0x80:
                        break
                    # one rarely taken branch per byte more: a wanted byte after a separator
                    # (:func:`_wanted_starts`)
                    if starts[(prev << 7) | np.int64(b)]:
                        if k + 1 < end:
                            b1 = buf[k + 1]
                            if b1 < 0x80 and table[b1] == WORD and \
                                    not pairs[128 * _lower(np.int64(b)) + _lower(np.int64(b1))]:
                                k += 2              # not wanted: its next bytes start nothing
                                prev = np.int64(b1)
                                continue
                        break
                    prev = np.int64(b)
                    k += 1
                if k < end and buf[k] >= 0x80:  # back to where its word run starts
                    while k > i and table[buf[k - 1]] == WORD:
                        k -= 1
                i = k
                if i >= end:
                    break
            kind, n = _class_at(buf, i, table)
            if kind != WORD and kind != CJK:
                i += n
                cont += n - 1
                continue
            if not wanted[buf[i]]:              # skip the token: classes only
                i += n
                cont += n - 1
                while i < end:
                    c, n = _class_at(buf, i, table)
                    if c == EXTEND or (c == WORD and kind == WORD):
                        i += n
                        cont += n - 1
                    else:
                        break
                continue
            start, i, n_chars, h, key, key2 = _scan_token(buf, i, end, table)
            c0 = cont
            cont += i - start - n_chars
            if n_chars > max_chars:
                continue
            d, n_dist = _intern(ht, mask, h, key, key2, buf, start, i, d_start, d_stop, n_dist)
            if d == n_dist - 1:
                d_hash[d] = h
                d_key[d] = key
                d_key2[d] = key2
            tok_ids[n_tok] = d
            tok_start[n_tok] = start - c0
            tok_stop[n_tok] = i - cont
            n_tok += 1
        t += 1
    return t, i, cont, n_tok, n_dist


@njit(cache=True, nogil=True)
def tokenize_wanted_spans(buf, text_ends, table, max_chars, wanted, pairs):
    """:func:`tokenize_distinct_spans` without ordinals (every token's id is
    its distinct id), the ASCII text between the wanted tokens passed fast
    (:func:`_wanted_run`; ``pairs``: bool[128 * 128], the wanted first two bytes of ASCII
    tokens, all true for none left out): ``(token_ids, starts, stops, text_token_ends,
    text_chars, distinct_start, distinct_stop, distinct_hash, distinct_key, distinct_key2)``."""
    tok_ids = np.empty(max(64, buf.size // 64), np.int64)
    tok_start = np.empty(tok_ids.size, np.int64)
    tok_stop = np.empty(tok_ids.size, np.int64)
    n_slots = 1024
    d_start = np.empty(n_slots // 2, np.int64)
    d_stop = np.empty(n_slots // 2, np.int64)
    d_hash = np.empty(n_slots // 2, np.uint64)
    d_key = np.empty(n_slots // 2, np.uint64)
    d_key2 = np.empty(n_slots // 2, np.uint64)
    ht = np.full(4 * n_slots, _EMPTY, np.uint64)   # open addressing, linear probing
    text_tok_ends = np.zeros(text_ends.size, np.int64)
    text_chars = np.zeros(text_ends.size, np.int64)
    fast = _ascii_simple(table)
    starts = _wanted_starts(table, wanted)
    t, i, cont, n_tok, n_dist = 0, 0, 0, 0, 0
    text_cont = 0                           # continuation bytes before text t
    while t < text_ends.size:
        t2, i, cont, n_tok, n_dist = _wanted_run(
            buf, text_ends[:t + 1], table, max_chars, wanted, pairs, starts, fast, t, i, cont, tok_ids,
            tok_start, tok_stop, n_tok, ht, d_start, d_stop, d_hash, d_key, d_key2, n_dist)
        if t2 > t:                          # text t is done
            begin = text_ends[t - 1] if t > 0 else 0
            text_chars[t] = text_ends[t] - begin - (cont - text_cont)
            first = text_tok_ends[t - 1] if t > 0 else 0
            for k in range(first, n_tok):   # spans counted from the text's start
                tok_start[k] -= begin - text_cont
                tok_stop[k] -= begin - text_cont
            text_cont = cont
            text_tok_ends[t] = n_tok
            t += 1
            continue
        if n_tok == tok_ids.size:
            tok_ids = _grow(tok_ids, 0)
            tok_start = _grow(tok_start, 0)
            tok_stop = _grow(tok_stop, 0)
        if n_dist == d_start.size:
            d_start = _grow(d_start, 0)
            d_stop = _grow(d_stop, 0)
            d_hash = _grow(d_hash, 0)
            d_key = _grow(d_key, 0)
            d_key2 = _grow(d_key2, 0)
        if n_dist == ht.size // 8:
            ht = _rehash(ht)
    return (tok_ids[:n_tok], tok_start[:n_tok], tok_stop[:n_tok], text_tok_ends, text_chars,
            d_start[:n_dist], d_stop[:n_dist], d_hash[:n_dist], d_key[:n_dist], d_key2[:n_dist])
