"""Numba kernels of the term dictionary: front-coded blocks of terms, looked up without loading.

    DictBlock  --> <TermRecord>^(<= TERM_BLOCK)
    TermRecord --> PrefixLen (varbyte), SuffixLen (varbyte), Suffix (bytes), DocFreq (varbyte),
                   PostingsLen (varbyte)

PrefixLen counts bytes shared with the previous term of the same block (0 for a block's first
term, so each block can be searched on its own). Pure functions; run with NUMBA_DISABLE_JIT=1 too.
"""
import numpy as np
from wikisearch.jit import njit

TERM_BLOCK = 32


def _crc_table():
    t = np.zeros(256, np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        t[i] = c
    return t


#: CRC-32 (zlib's: reflected polynomial 0xEDB88320) of each byte value.
_CRC_TABLE = _crc_table()


@njit(cache=True, nogil=True)
def crc32(buf, start, end):
    """``zlib.crc32(buf[start:end])``, a byte at a time (a dictionary block: a few hundred bytes)."""
    c = np.uint32(0xFFFFFFFF)
    for i in range(start, end):
        c = _CRC_TABLE[(c ^ np.uint32(buf[i])) & np.uint32(0xFF)] ^ (c >> np.uint32(8))
    return c ^ np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def _vb_write(out, pos, v):
    while v >= 0x80:
        out[pos] = (v & 0x7F) | 0x80
        v >>= 7
        pos += 1
    out[pos] = v
    return pos + 1


@njit(cache=True, nogil=True)
def _vb_read(buf, pos, end):
    v = 0
    shift = 0
    while pos < end:
        b = np.int64(buf[pos])
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, pos
        shift += 7
        if shift > 56:
            return -1, -1
    return -1, -1


@njit(cache=True, nogil=True)
def encode_dictionary(term_bytes, term_offsets, dfs, post_lens):
    """Front-code sorted terms into blocks: ``(blob uint8, block_offsets int64[B+1],
    block_post_offsets int64[B+1])``."""
    n = dfs.shape[0]
    n_blocks = (n + TERM_BLOCK - 1) // TERM_BLOCK
    out = np.empty(term_bytes.shape[0] + 20 * n + 1, np.uint8)
    block_offsets = np.zeros(n_blocks + 1, np.int64)
    block_post = np.zeros(n_blocks + 1, np.int64)
    pos = 0
    post = 0
    for i in range(n):
        a = term_offsets[i]
        b = term_offsets[i + 1]
        shared = 0
        if i % TERM_BLOCK == 0:
            block_offsets[i // TERM_BLOCK] = pos
            block_post[i // TERM_BLOCK] = post
        else:
            pa = term_offsets[i - 1]
            pb = term_offsets[i]
            while shared < b - a and shared < pb - pa and term_bytes[a + shared] == term_bytes[pa + shared]:
                shared += 1
        pos = _vb_write(out, pos, shared)
        pos = _vb_write(out, pos, b - a - shared)
        for k in range(a + shared, b):
            out[pos] = term_bytes[k]
            pos += 1
        pos = _vb_write(out, pos, dfs[i])
        pos = _vb_write(out, pos, post_lens[i])
        post += post_lens[i]
    block_offsets[n_blocks] = pos
    block_post[n_blocks] = post
    return out[:pos].copy(), block_offsets, block_post


@njit(cache=True, nogil=True)
def _compare(scratch, length, key):
    """-1, 0, 1 as scratch[:length] is below, equal to, above key (byte order)."""
    n = min(length, key.shape[0])
    for i in range(n):
        if scratch[i] != key[i]:
            return -1 if scratch[i] < key[i] else 1
    if length == key.shape[0]:
        return 0
    return -1 if length < key.shape[0] else 1


@njit(cache=True, nogil=True)
def _first_term_cmp(blob, start, end, key):
    shared, pos = _vb_read(blob, start, end)
    length, pos = _vb_read(blob, pos, end)
    if pos < 0 or shared != 0 or pos + length > end:
        return -2
    return _compare(blob[pos:pos + length], length, key)


@njit(cache=True, nogil=True)
def _read_record(blob, pos, end, scratch, length):
    """Decode the TermRecord at ``blob[pos:end]`` into ``scratch`` (holding the previous term of
    ``length`` bytes): ``(pos, length, df, postings_len)``; pos is -1 if damaged."""
    shared, pos = _vb_read(blob, pos, end)
    suffix, pos = _vb_read(blob, pos, end)
    if pos < 0 or shared > length or shared + suffix > scratch.shape[0] or pos + suffix > end:
        return -1, 0, 0, 0
    for k in range(suffix):
        scratch[shared + k] = blob[pos + k]
    pos += suffix
    df, pos = _vb_read(blob, pos, end)
    plen, pos = _vb_read(blob, pos, end)
    if pos < 0:
        return -1, 0, 0, 0
    return pos, shared + suffix, df, plen


@njit(cache=True, nogil=True)
def _find(blob, block_offsets, block_post, n_terms, key, scratch):
    """The one search of ``key`` that :func:`seek` and :func:`seek_many` share: a binary search
    for the last block whose first term <= key, then a scan of that block. Returns ``(i, c, df,
    post_start, post_len)``: i is the ordinal of the first term >= key (n_terms if none), c 0 when
    that term is the key (its df and postings), 1 when it is above it, -1 when no term of the block
    is >= key (df and post_len 0, post_start where the next list starts); c is -2 if the bytes are
    damaged. Scalars only: no array is made or returned (``scratch`` holds the terms read)."""
    lo = 0
    hi = block_offsets.shape[0] - 1
    while lo < hi:  # last block whose first term <= key
        mid = (lo + hi) // 2
        c = _first_term_cmp(blob, block_offsets[mid], block_offsets[mid + 1], key)
        if c == -2:
            return -1, -2, 0, 0, 0
        if c <= 0:
            lo = mid + 1
        else:
            hi = mid
    b = lo - 1 if lo > 0 else 0
    pos = block_offsets[b]
    end = block_offsets[b + 1]
    post = block_post[b]
    length = 0
    i = b * TERM_BLOCK
    while pos < end and i < n_terms:
        pos, length, df, plen = _read_record(blob, pos, end, scratch, length)
        if pos < 0:
            return -1, -2, 0, 0, 0
        c = _compare(scratch, length, key)
        if c >= 0:
            return i, c, df, post, plen
        post += plen
        i += 1
    return min(i, n_terms), -1, 0, post, 0


@njit(cache=True, nogil=True)
def seek(blob, block_offsets, block_post, n_terms, key, exact):
    """Find ``key`` (bytes) in the dictionary.

    Returns ``(ordinal, df, post_start, post_len, status)``: with ``exact`` the term's
    entry (ordinal -1 if absent); without, the first term >= key (ordinal n_terms if none).
    status is 0, or -2 if the bytes are damaged.
    """
    i, c, df, post, plen = _find(blob, block_offsets, block_post, n_terms, key, np.empty(1024, np.uint8))
    if c == -2:
        return -1, 0, 0, 0, -2
    if exact and c != 0:
        return -1, 0, 0, 0, 0
    return i, df, post, plen, 0


@njit(cache=True, nogil=True)
def _check(blob, block_offsets, block_crc, block_ok, b0, b1):
    """Check the CRC-32 of dictionary blocks ``[b0, b1)`` (clipped) not yet marked in
    ``block_ok``, marking each that has it: ``(first block without it or -1, blocks marked)``."""
    n = 0
    for b in range(max(b0, 0), min(b1, block_ok.shape[0])):
        if block_ok[b] == 0:
            if crc32(blob, block_offsets[b], block_offsets[b + 1]) != block_crc[b]:
                return b, n
            block_ok[b] = 1
            n += 1
    return -1, n


@njit(cache=True, nogil=True)
def seek_many(blob, block_offsets, block_post, n_terms, keys, key_ends, out, block_crc, block_ok):
    """:func:`seek` of many keys (key i is ``keys[key_ends[i-1]:key_ends[i]]``), exact and lower
    bound at once, into ``out`` (int64[5, n]): per key its ordinal (-1 if absent), the ordinal of
    the first term >= it (n_terms if none: what ``seek`` without ``exact`` gives, from the same
    search), its df, postings start and postings length (0 when absent).

    Each answer is proven by the checksums (``block_crc``) of the blocks its search read, checked
    here unless ``block_ok`` (uint8 per block, the caller's, set here) says so already: a key
    found, its block (its record is there); a key absent, the blocks before, at and after where it
    would be (the search compared it with their first terms and scanned the middle one). Returns
    ``(bad, marked)``: bad is -1, or the first key whose search met damaged bytes (the columns
    from it on are not filled), or -2 - b for dictionary block b without its checksum; marked, the
    blocks newly checked. (The caller's array: a kernel returning arrays pays for boxing each,
    more than the search of a key.)"""
    scratch = np.empty(1024, np.uint8)
    marked = 0
    for q in range(key_ends.shape[0]):
        key = keys[key_ends[q - 1] if q > 0 else 0:key_ends[q]]
        i, c, df, post, plen = _find(blob, block_offsets, block_post, n_terms, key, scratch)
        if c == -2:
            return q, marked
        found = c == 0
        out[0, q] = i if found else -1
        out[1, q] = i
        out[2, q] = df if found else 0
        out[3, q] = post if found else 0
        out[4, q] = plen if found else 0
        if found:
            b0 = i // TERM_BLOCK
            b1 = b0 + 1
        else:
            b0 = (min(i, n_terms - 1) // TERM_BLOCK if n_terms > 0 else 0) - 1
            b1 = b0 + 3
        bad, n = _check(blob, block_offsets, block_crc, block_ok, b0, b1)
        marked += n
        if bad >= 0:
            return -2 - bad, marked
    return -1, marked


@njit(cache=True, nogil=True)
def decode_blocks(blob, block_offsets, block_post, b0, b1, n_terms):
    """Every record of blocks [b0, b1): ``(term_bytes, term_offsets, dfs, post_starts, post_lens,
    ok)``."""
    start = block_offsets[b0]
    end = block_offsets[b1]
    count = min(b1 * TERM_BLOCK, n_terms) - b0 * TERM_BLOCK
    count = max(count, 0)
    term_bytes = np.empty(max(1, 64 * (end - start)), np.uint8)
    term_offsets = np.zeros(count + 1, np.int64)
    dfs = np.empty(count, np.int64)
    post_starts = np.empty(count, np.int64)
    post_lens = np.empty(count, np.int64)
    scratch = np.empty(1024, np.uint8)
    tb = 0
    j = 0
    for b in range(b0, b1):
        pos = block_offsets[b]
        bend = block_offsets[b + 1]
        post = block_post[b]
        length = 0
        while pos < bend and j < count:
            pos, length, df, plen = _read_record(blob, pos, bend, scratch, length)
            if pos < 0:
                return term_bytes, term_offsets, dfs, post_starts, post_lens, False
            if tb + length > term_bytes.shape[0]:
                grown = np.empty(2 * term_bytes.shape[0] + length, np.uint8)
                grown[:tb] = term_bytes[:tb]
                term_bytes = grown
            term_bytes[tb:tb + length] = scratch[:length]
            tb += length
            term_offsets[j + 1] = tb
            dfs[j] = df
            post_starts[j] = post
            post_lens[j] = plen
            post += plen
            j += 1
    ok = j == count
    return term_bytes[:tb].copy(), term_offsets, dfs, post_starts, post_lens, ok


@njit(cache=True, nogil=True)
def block_first_terms(blob, block_offsets):
    """The first term of every dictionary block: ``(term_bytes, term_offsets, ok)``."""
    n_blocks = block_offsets.shape[0] - 1
    offs = np.zeros(n_blocks + 1, np.int64)
    out = np.empty(max(1, blob.shape[0]), np.uint8)
    tb = 0
    for b in range(n_blocks):
        start = block_offsets[b]
        end = block_offsets[b + 1]
        shared, pos = _vb_read(blob, start, end)
        length, pos = _vb_read(blob, pos, end)
        if pos < 0 or shared != 0 or pos + length > end:
            return out[:0].copy(), offs, False
        out[tb:tb + length] = blob[pos:pos + length]
        tb += length
        offs[b + 1] = tb
    return out[:tb].copy(), offs, True
