"""Numba kernels of the postings codecs (format: docs/FORMAT.md, "Postings codecs").

Pure functions over contiguous arrays, no I/O, no validation of inputs (``codec.py`` validates
what it encodes). Decoders never read or write out of bounds, whatever the bytes: they return
``-1`` for damaged data and ``-2`` when the ``tfs`` output is too small. Arithmetic on values is
done in ``np.uint64``/``np.int64`` explicitly, so that ``NUMBA_DISABLE_JIT=1`` (numpy scalars)
computes what numba computes.
"""
from __future__ import annotations

import sys

import numpy as np
from wikisearch.jit import interpreted, intrinsic, njit, overload

BLOCK = 128                 # postings per bit-packed block
TAIL_PACK_MIN = 2          # a last partial block this long or longer is bit-packed too
CORRUPT = -1
TFS_FULL = -2
_U7 = np.uint64(7)
_LOW7 = np.uint64(0x7F)
_HIGH = np.uint64(0x80)
_BYTE = np.uint64(0xFF)
_EXCEPTIONS = 64            # stream header bit: VInt exceptions follow the packed bits (format <= 10)
_PACKED_EXCEPTIONS = 128    # stream header bit: bit-packed exceptions follow them (format 11)
_LITTLE = sys.byteorder == "little"


def _into_stream_readers(_call, caller_ir, _callee_ir) -> bool:
    """numba's inline cost model for :func:`read_exception_head` and :func:`patch_exceptions`:
    inlined into the Stream readers (:func:`read_stream`; the search's ``_read_stream`` and the
    fused kernel it is inlined into, ``_prescore_kernels.bitpacked_score_into``), called from
    anywhere else. As calls they took a reference to each array passed, on the way in and out
    (atomic operations), for each stream with exceptions: at full scale first-sight queries took
    1.08x the CPU of format 10's inlined VInt loop (session 19). Inlining is not enough inside a
    loop: an inlined call still takes and drops a reference to the arrays it is passed, at every
    call, so the per-exception bit reads of :func:`patch_exceptions` are written out in its loop
    (session 25: a first-sight list decoded and scored in 0.75x the CPU)."""
    return caller_ir.func_id.func_qualname in ("read_stream", "_read_stream", "bitpacked_score_into")


def load_u64(buf, p):
    """The 8 bytes at ``buf[p:p+8]`` as a little-endian uint64 (the caller checks the bounds).
    Plain Python here (``NUMBA_DISABLE_JIT=1``), where a read out of bounds raises, so that tests
    can show there is none; in numba one unaligned load (the overload)."""
    if not 0 <= p <= buf.size - 8:
        raise IndexError(f"load_u64 at {p} of {buf.size} bytes")
    return np.uint64(int.from_bytes(bytes(buf[p:p + 8]), "little"))


@intrinsic
def _unaligned_u64(typingctx, arr, idx):
    from llvmlite import ir
    from numba.core import types              # (numba only where the kernels compile)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = builder.bitcast(builder.gep(ary.data, [i]), ir.IntType(64).as_pointer())
        return builder.load(ptr, align=1)
    return types.uint64(arr, idx), codegen


@overload(load_u64, jit_options={"nogil": True})
def _load_u64_jit(buf, p):
    if _LITTLE:
        def impl(buf, p):
            return _unaligned_u64(buf, p)
    else:                                      # big-endian hosts: assemble the bytes
        def impl(buf, p):
            v = np.uint64(0)
            for i in range(8):
                v |= np.uint64(buf[p + i]) << np.uint64(8 * i)
            return v
    return impl


# --- LEB128 ---------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def vb_write(out, pos, v):
    """Write ``v`` as LEB128 (low 7 bits first, high bit = more bytes follow) at ``out[pos]``."""
    v = np.uint64(v)
    while v >= _HIGH:
        out[pos] = np.uint8((v & _LOW7) | _HIGH)
        v >>= _U7
        pos += 1
    out[pos] = np.uint8(v)
    return pos + 1


@njit(cache=True, nogil=True)
def vb_read(buf, pos, end):
    """``(value, next_pos)`` of the LEB128 number at ``buf[pos]``; next_pos -1 if cut or > 64 bits."""
    v = np.uint64(0)
    shift = np.uint64(0)
    while pos < end and shift < np.uint64(64):
        b = np.uint64(buf[pos])
        pos += 1
        v |= (b & _LOW7) << shift
        if b < _HIGH:
            return v, pos
        shift += _U7
    return v, CORRUPT


@njit(cache=True, nogil=True)
def vb_len(v):
    v = np.uint64(v)
    n = 1
    while v >= _HIGH:
        v >>= _U7
        n += 1
    return n


@njit(cache=True, nogil=True)
def vb_encode_u64(values):
    out = np.empty(10 * values.size, np.uint8)
    pos = 0
    for k in range(values.size):
        pos = vb_write(out, pos, values[k])
    return out[:pos]


@njit(cache=True, nogil=True)
def vb_decode_u64(buf, pos, n):
    """``(values uint64[n], next_pos)``; next_pos -1 if the bytes run out."""
    out = np.empty(n, np.uint64)
    for k in range(n):
        out[k], pos = vb_read(buf, pos, buf.size)
        if pos < 0:
            break
    return out, pos


# --- bits -----------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def popcount16(m):
    m = np.int64(m)
    m = m - ((m >> 1) & 0x5555)
    m = (m & 0x3333) + ((m >> 2) & 0x3333)
    m = (m + (m >> 4)) & 0x0F0F
    return (m + (m >> 8)) & 0x1F


def bit_length(v):
    """Bits needed for ``v >= 0`` (0 for 0). Plain Python here (``NUMBA_DISABLE_JIT=1``); in
    numba one count-leading-zeros instruction (the overload below)."""
    return int(v).bit_length()


@overload(bit_length, jit_options={"nogil": True})
def _bit_length_jit(v):
    from numba.cpython.unsafe.numbers import leading_zeros   # (numba only where kernels compile)

    def impl(v):
        x = np.uint64(v)
        return 64 - leading_zeros(x) if x else 0
    return impl


@njit(cache=True, nogil=True)
def pack(vals, width, out, pos):
    """Low ``width`` bits of each value, LSB first, into ``ceil(len*width/8)`` bytes."""
    if width == 0:
        return pos
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    acc = np.uint64(0)
    nbits = 0
    for k in range(vals.size):
        acc |= (np.uint64(vals[k]) & mask) << np.uint64(nbits)
        nbits += width
        while nbits >= 8:
            out[pos] = np.uint8(acc & _BYTE)
            acc >>= np.uint64(8)
            nbits -= 8
            pos += 1
    if nbits > 0:
        out[pos] = np.uint8(acc)
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def unpack(buf, pos, end, width, out):
    """Inverse of :func:`pack` into ``out`` (its size is the count); -1 if the bytes run out."""
    count = out.size
    if width == 0:
        out[:] = 0
        return pos
    stop = pos + (count * width + 7) // 8
    if stop > end:
        return CORRUPT
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    acc = np.uint64(0)
    nbits = 0
    for k in range(count):
        while nbits < width:
            acc |= np.uint64(buf[pos]) << np.uint64(nbits)
            pos += 1
            nbits += 8
        out[k] = np.uint32(acc & mask)
        acc >>= np.uint64(width)
        nbits -= width
    return stop


@njit(cache=True, nogil=True)
def choose_width(vals):
    """``(width, n_exceptions, high_width)`` giving the fewest bytes of a Stream of ``vals``
    (exact: every part of the packed-exception layout is a whole number of bytes known here).
    Ties go to the widest Width (fewest exceptions)."""
    hist = np.zeros(34, np.int64)
    for k in range(vals.size):
        hist[bit_length(vals[k])] += 1
    top = 33
    while top > 0 and hist[top] == 0:
        top -= 1
    index_width = bit_length(vals.size - 1) if vals.size > 1 else 0
    best, best_cost, best_exc = top, (vals.size * top + 7) // 8, 0
    n_exc = 0
    for w in range(top - 1, -1, -1):
        n_exc += hist[w + 1]
        cost = ((vals.size * w + 7) // 8 + vb_len(n_exc) + 1 + (n_exc * index_width + 7) // 8
                + (n_exc * (top - w) + 7) // 8)
        if cost < best_cost:
            best, best_cost, best_exc = w, cost, n_exc
    return best, best_exc, top - best


@njit(cache=True, nogil=True)
def pack_exceptions(vals, width, n_exc, high_width, out, pos):
    """ExceptionIndexes then HighBits of the values of ``vals`` wider than ``width`` bits."""
    index_width = bit_length(vals.size - 1) if vals.size > 1 else 0
    idx = np.empty(n_exc, np.uint32)
    high = np.empty(n_exc, np.uint32)
    j = 0
    for k in range(vals.size):
        if bit_length(vals[k]) > width:
            idx[j] = k
            high[j] = np.uint32(np.uint64(vals[k]) >> np.uint64(width))
            j += 1
    pos = pack(idx, index_width, out, pos)
    return pack(high, high_width, out, pos)


@njit(cache=True, nogil=True)
def write_stream(vals, out, pos):
    """Stream --> Header, [NumExceptions, HighWidth], PackedBits, [ExceptionIndexes, HighBits]."""
    width, n_exc, high_width = choose_width(vals)
    out[pos] = np.uint8(width | (_PACKED_EXCEPTIONS if n_exc > 0 else 0))
    pos += 1
    if n_exc > 0:
        pos = vb_write(out, pos, n_exc)
        out[pos] = np.uint8(high_width)
        pos += 1
    pos = pack(vals, width, out, pos)
    if n_exc > 0:
        pos = pack_exceptions(vals, width, n_exc, high_width, out, pos)
    return pos


@njit(cache=True, nogil=True, inline=_into_stream_readers)
def read_exception_head(buf, pos, end, header, width, count):
    """``(n_exceptions, high_width, pos)`` of a Stream whose Header is ``header``: (0, 0, pos)
    without exceptions; pos -1 if damaged (both exception bits, counts or widths out of range)."""
    if header & _EXCEPTIONS:
        if header & _PACKED_EXCEPTIONS:
            return 0, 0, CORRUPT
        n_exc, pos = vb_read(buf, pos, end)
        if pos < 0 or n_exc > np.uint64(count):
            return 0, 0, CORRUPT
        return np.int64(n_exc), 0, pos
    if header & _PACKED_EXCEPTIONS:
        n_exc, pos = vb_read(buf, pos, end)
        if pos < 0 or pos >= end or n_exc == np.uint64(0) or n_exc > np.uint64(count):
            return 0, 0, CORRUPT
        high_width = np.int64(buf[pos])
        if high_width == 0 or width + high_width > 32:
            return 0, 0, CORRUPT
        return np.int64(n_exc), high_width, pos + 1
    return 0, 0, pos


@njit(cache=True, nogil=True, inline=_into_stream_readers)
def patch_exceptions(buf, pos, end, width, n_exc, high_width, out, count):
    """OR the exceptions' high bits into ``out[:count]`` (unpacked at ``width``), reading either
    layout: packed (``high_width`` > 0: ExceptionIndexes at ceil(log2(count)) bits, strictly
    increasing, then HighBits) or format 10's VInt pairs (``high_width`` 0). The end, or -1."""
    if high_width > 0:
        index_width = bit_length(count - 1) if count > 1 else 0
        highs = pos + (n_exc * index_width + 7) // 8
        stop = highs + (n_exc * high_width + 7) // 8
        if stop > end:
            return CORRUPT
        prev = -1
        imask = (np.uint64(1) << np.uint64(index_width)) - np.uint64(1)
        hmask = (np.uint64(1) << np.uint64(high_width)) - np.uint64(1)
        for j in range(n_exc):
            # the index_width bits at bit j * index_width from pos, then the high_width bits at
            # bit j * high_width from highs, LSB first: one unaligned 8-byte load where eight bytes
            # remain before end, else the bytes one by one. Written out, not called: a call per
            # exception (inlined or not) took and dropped a reference to ``buf`` (two atomic
            # operations), ~30 % of a first-sight list's decoding and scoring (session 25, perf)
            bit = j * index_width
            b = pos + (bit >> 3)
            if b + 8 <= end:
                v = load_u64(buf, b)
            else:
                v = np.uint64(0)
                for i in range((bit & 7) + index_width + 7 >> 3):
                    v |= np.uint64(buf[b + i]) << np.uint64(8 * i)
            k = np.int64((v >> np.uint64(bit & 7)) & imask)
            if k <= prev or k >= count:
                return CORRUPT
            prev = k
            bit = j * high_width
            b = highs + (bit >> 3)
            if b + 8 <= end:
                v = load_u64(buf, b)
            else:
                v = np.uint64(0)
                for i in range((bit & 7) + high_width + 7 >> 3):
                    v |= np.uint64(buf[b + i]) << np.uint64(8 * i)
            out[k] |= np.uint32(((v >> np.uint64(bit & 7)) & hmask) << np.uint64(width))
        return stop
    k = -1
    for _ in range(n_exc):
        gap, pos = vb_read(buf, pos, end)
        k += np.int64(min(gap, np.uint64(count))) + 1
        if pos < 0 or k >= count:
            return CORRUPT
        high, pos = vb_read(buf, pos, end)
        if pos < 0:
            return CORRUPT
        out[k] |= np.uint32((high << np.uint64(width)) & np.uint64(0xFFFFFFFF))
    return pos


@njit(cache=True, nogil=True)
def read_stream(buf, pos, end, out):
    """Inverse of :func:`write_stream` into ``out`` (its size is the count), and of format 10's
    Stream (exceptions as VInt pairs); -1 if damaged."""
    if pos >= end:
        return CORRUPT
    header = np.int64(buf[pos])
    pos += 1
    width = header & 63
    if width > 32:
        return CORRUPT
    n_exc, high_width, pos = read_exception_head(buf, pos, end, header, width, out.size)
    if pos < 0:
        return CORRUPT
    pos = unpack(buf, pos, end, width, out)
    if n_exc == 0 or pos < 0:
        return pos
    return patch_exceptions(buf, pos, end, width, n_exc, high_width, out, out.size)


# --- varbyte postings (and the varbyte tail of bit-packed lists) -----------------------------

@njit(cache=True, nogil=True)
def _bound(offsets, tfs):
    """Bytes that any codec here needs at most for these lists."""
    return 16 * (offsets.size + 1) + 12 * offsets[-1] + 10 * tfs.size


@njit(cache=True, nogil=True)
def write_posting(out, pos, gap, middle, with_middle, mask, tfs, t):
    """VInt DocGap, [VInt middle (mask or mask code)], VInt TfMinus1 per set bit: ``(pos, t)``."""
    pos = vb_write(out, pos, gap)
    if with_middle:
        pos = vb_write(out, pos, middle)
    for _ in range(popcount16(mask)):
        pos = vb_write(out, pos, np.uint64(tfs[t]) - np.uint64(1))
        t += 1
    return pos, t


@njit(cache=True, nogil=True)
def read_posting(buf, pos, end, table, i, last, docids, masks, tfs, t):
    """Inverse of :func:`write_posting` (the bit-packed tail) into row ``i``: ``(pos, last, t)``,
    pos < 0 on error. With one mask in the table no code is read."""
    gap, pos = vb_read(buf, pos, end)
    if pos < 0 or gap > np.uint64(0x7FFFFFFF):
        return CORRUPT, last, t
    last += np.int64(gap) + 1
    docids[i] = last
    if table.size == 1:
        m = np.int64(table[0])
    else:
        v, pos = vb_read(buf, pos, end)
        if pos < 0 or v >= np.uint64(table.size):
            return CORRUPT, last, t
        m = np.int64(table[np.int64(v)])
    masks[i] = m
    bits = popcount16(m)
    if t + bits > tfs.size:
        return TFS_FULL, last, t
    for _ in range(bits):
        v, pos = vb_read(buf, pos, end)
        if pos < 0:
            return CORRUPT, last, t
        tfs[t] = np.uint32((v + np.uint64(1)) & np.uint64(0xFFFFFFFF))
        t += 1
    return pos, last, t


@njit(cache=True, nogil=True)
def varbyte_encode_lists(offsets, docids, masks, tfs):
    """VarbytePostings of lists ``[offsets[i], offsets[i+1])``: ``(bytes, byte_offsets)``."""
    out = np.empty(_bound(offsets, tfs), np.uint8)
    byte_offsets = np.zeros(offsets.size, np.int64)
    pos = 0
    t = 0
    for li in range(offsets.size - 1):
        last = np.int64(-1)
        for i in range(offsets[li], offsets[li + 1]):
            d = np.int64(docids[i])
            pos, t = write_posting(out, pos, d - last - 1, masks[i], True, masks[i], tfs, t)
            last = d
        byte_offsets[li + 1] = pos
    return out[:pos], byte_offsets


@njit(cache=True, nogil=True)
def varbyte_decode_into(buf, pos, n, docids, masks, tfs):
    """Decode ``n`` postings from ``buf[pos:]``: ``(next_pos, n_tfs)``; next_pos < 0 on error.
    (:func:`read_posting` inlined by hand: this loop is the varbyte codec's query-time cost.)"""
    end = buf.size
    last = np.int64(-1)
    t = 0
    for i in range(n):
        gap, pos = vb_read(buf, pos, end)
        if pos < 0 or gap > np.uint64(0x7FFFFFFF):
            return CORRUPT, t
        last += np.int64(gap) + 1
        docids[i] = last
        m, pos = vb_read(buf, pos, end)
        if pos < 0 or m > np.uint64(0xFFFF):
            return CORRUPT, t
        masks[i] = m
        bits = popcount16(m)
        if t + bits > tfs.size:
            return TFS_FULL, t
        for _ in range(bits):
            v, pos = vb_read(buf, pos, end)
            if pos < 0:
                return CORRUPT, t
            tfs[t] = np.uint32((v + np.uint64(1)) & np.uint64(0xFFFFFFFF))
            t += 1
    return pos, t


# --- bit-packed postings --------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _order_table(seen, counts, n):
    """Masks ``seen`` sorted most frequent first, ties by mask value."""
    keys = np.empty(seen.size, np.int64)
    for k in range(seen.size):
        keys[k] = ((n - counts[k]) << 16) | seen[k]
    return seen[np.argsort(keys)]


@njit(cache=True, nogil=True)
def mask_table(masks):
    """``(table, codes)``: the distinct masks, most frequent first (ties: smaller mask first),
    and each posting's index into it."""
    table = np.empty(96, np.int64)
    codes = np.empty(masks.size, np.uint32)
    n = mask_table_into(masks, table, codes)
    if n < 0:
        return _mask_table_many(masks)
    return table[:n], codes


@njit(cache=True, nogil=True)
def mask_table_into(masks, table, codes):
    """:func:`mask_table` into scratch arrays, allocating nothing (``table``: 96 int64, the
    masks in its first 32, counts and sort keys after): the table's size, or -1 past 32
    distinct masks. Lists have few distinct masks: a linear search and an insertion sort serve."""
    few = 32
    counts = table[few:2 * few]
    counts[:] = 0
    n_seen = 0
    for i in range(masks.size):
        m = np.int64(masks[i])
        k = 0
        while k < n_seen and table[k] != m:
            k += 1
        if k == n_seen:
            if n_seen == few:
                return -1
            table[k] = m
            n_seen += 1
        counts[k] += 1
    if n_seen > 1:   # insertion sort: most frequent first, ties by smaller mask
        n = masks.size
        keys = table[2 * few:2 * few + n_seen]
        for k in range(n_seen):
            keys[k] = ((n - counts[k]) << 16) | table[k]
        for k in range(1, n_seen):
            key = keys[k]
            j = k - 1
            while j >= 0 and keys[j] > key:
                keys[j + 1] = keys[j]
                j -= 1
            keys[j + 1] = key
        for k in range(n_seen):
            table[k] = keys[k] & 0xFFFF
        k = 0
        for i in range(masks.size):
            if table[k] != masks[i]:
                k = 0
                while table[k] != masks[i]:
                    k += 1
            codes[i] = k
    else:
        for i in range(masks.size):
            codes[i] = 0
    return n_seen


@njit(cache=True, nogil=True)
def _mask_table_many(masks):
    counts = np.zeros(65536, np.int64)
    for i in range(masks.size):
        counts[masks[i]] += 1
    seen = np.flatnonzero(counts).astype(np.int64)
    table = _order_table(seen, counts[seen], masks.size)
    index = np.empty(65536, np.uint32)
    for k in range(table.size):
        index[table[k]] = k
    codes = np.empty(masks.size, np.uint32)
    for i in range(masks.size):
        codes[i] = index[masks[i]]
    return table, codes


@njit(cache=True, nogil=True)
def _write_block(docids, masks, codes, tfs, t, last, with_codes, out, pos, gaps, tf_vals):
    """PackedBlock of ``docids.size`` postings; returns ``(pos, t)``."""
    n_tf = 0
    for k in range(docids.size):
        d = np.int64(docids[k])
        gaps[k] = d - last - 1
        last = d
        for _ in range(popcount16(masks[k])):
            tf_vals[n_tf] = tfs[t] - np.uint32(1)
            n_tf += 1
            t += 1
    pos = write_stream(gaps[:docids.size], out, pos)
    if with_codes:
        pos = write_stream(codes, out, pos)
    pos = write_stream(tf_vals[:n_tf], out, pos)
    return pos, t


@njit(cache=True, nogil=True)
def _bitpacked_encode_one(docids, masks, tfs, out, pos, gaps, tf_vals, scratch_table, scratch_codes):
    if docids.size == 0:
        return pos
    n_t = mask_table_into(masks, scratch_table, scratch_codes[:masks.size])
    if n_t < 0:
        table, codes = _mask_table_many(masks)
    else:
        table, codes = scratch_table[:n_t], scratch_codes[:masks.size]
    if table.size == 1:
        pos = vb_write(out, pos, 2 * table[0] + 1)
    else:
        pos = vb_write(out, pos, 2 * table.size)
        for k in range(table.size):
            pos = vb_write(out, pos, table[k])
    with_codes = table.size != 1
    n = docids.size
    rest = n % BLOCK if n % BLOCK < TAIL_PACK_MIN else 0
    t = 0
    for b0 in range(0, n - rest, BLOCK):
        b1 = min(b0 + BLOCK, n)
        last = np.int64(docids[b0 - 1]) if b0 > 0 else np.int64(-1)
        pos, t = _write_block(docids[b0:b1], masks[b0:b1], codes[b0:b1], tfs, t, last,
                              with_codes, out, pos, gaps, tf_vals)
    last = np.int64(docids[n - rest - 1]) if n - rest > 0 else np.int64(-1)
    for i in range(n - rest, n):
        d = np.int64(docids[i])
        pos, t = write_posting(out, pos, d - last - 1, codes[i], with_codes, masks[i], tfs, t)
        last = d
    return pos


@njit(cache=True, nogil=True)
def bitpacked_encode_lists(offsets, docids, masks, tfs):
    """BitpackedPostings of lists ``[offsets[i], offsets[i+1])``: ``(bytes, byte_offsets)``."""
    out = np.empty(_bound(offsets, tfs), np.uint8)
    byte_offsets = np.zeros(offsets.size, np.int64)
    gaps = np.empty(BLOCK, np.uint32)
    tf_vals = np.empty(BLOCK * 16, np.uint32)
    longest = 0
    for li in range(offsets.size - 1):
        longest = max(longest, offsets[li + 1] - offsets[li])
    scratch_table = np.empty(96, np.int64)
    scratch_codes = np.empty(longest, np.uint32)
    pos = 0
    t = 0
    for li in range(offsets.size - 1):
        lo, hi = offsets[li], offsets[li + 1]
        if hi - lo == 1:   # most lists: what _bitpacked_encode_one writes, without its set-up
            mk = np.int64(masks[lo])
            pos = vb_write(out, pos, 2 * mk + 1)
            pos, t = write_posting(out, pos, np.int64(docids[lo]), 0, False, mk, tfs, t)
            byte_offsets[li + 1] = pos
            continue
        n_tf = 0
        for i in range(lo, hi):
            n_tf += popcount16(masks[i])
        pos = _bitpacked_encode_one(docids[lo:hi], masks[lo:hi], tfs[t:t + n_tf], out, pos,
                                    gaps, tf_vals, scratch_table, scratch_codes)
        t += n_tf
        byte_offsets[li + 1] = pos
    return out[:pos], byte_offsets


@njit(cache=True, nogil=True)
def _read_mask_table(buf, pos, end):
    """``(table, pos)`` of MaskTable --> 2*Mask+1 | 2*NumMasks, Mask^NumMasks (NumMasks >= 2)."""
    header, pos = vb_read(buf, pos, end)
    if pos < 0 or header > np.uint64(2 * 0xFFFF + 1) or header < np.uint64(4) \
            and not header & np.uint64(1):
        return np.empty(0, np.uint16), CORRUPT
    if header & np.uint64(1):
        table = np.empty(1, np.uint16)
        table[0] = header >> np.uint64(1)
        return table, pos
    table = np.empty(np.int64(header >> np.uint64(1)), np.uint16)
    for k in range(table.size):
        m, pos = vb_read(buf, pos, end)
        if pos < 0 or m > np.uint64(0xFFFF):
            return table, CORRUPT
        table[k] = m
    return table, pos


@njit(cache=True, nogil=True)
def _mask_of(code, table):
    """The mask of a code (an index into the table); -1 if out of range."""
    return np.int64(table[np.int64(code)]) if code < np.uint64(table.size) else -1


@njit(cache=True, nogil=True)
def _read_block(buf, pos, end, table, last, docids, masks, tfs, t, codes):
    """Inverse of :func:`_write_block` for ``docids.size`` postings: ``(pos, t)``."""
    count = docids.size
    gaps = codes[:count]
    pos = read_stream(buf, pos, end, gaps)
    if pos < 0:
        return CORRUPT, t
    for k in range(count):
        last += np.int64(gaps[k]) + 1
        docids[k] = last
    n_tf = 0
    if table.size == 1:
        masks[:] = table[0]
        n_tf = count * popcount16(table[0])
    else:
        pos = read_stream(buf, pos, end, codes[:count])
        if pos < 0:
            return CORRUPT, t
        for k in range(count):
            m = _mask_of(np.uint64(codes[k]), table)
            if m < 0:
                return CORRUPT, t
            masks[k] = m
            n_tf += popcount16(m)
    if t + n_tf > tfs.size:
        return TFS_FULL, t
    block_tfs = tfs[t:t + n_tf]
    pos = read_stream(buf, pos, end, block_tfs)
    if pos < 0:
        return CORRUPT, t
    for k in range(n_tf):
        block_tfs[k] += np.uint32(1)
    return pos, t + n_tf


@njit(cache=True, nogil=True)
def bitpacked_decode_into(buf, pos, n, docids, masks, tfs):
    """Decode ``n`` postings from ``buf[pos:]``: ``(next_pos, n_tfs)``; next_pos < 0 on error."""
    end = buf.size
    if n == 0:
        return pos, 0
    table, pos = _read_mask_table(buf, pos, end)
    if pos < 0:
        return CORRUPT, 0
    codes = np.empty(BLOCK, np.uint32)
    rest = n % BLOCK if n % BLOCK < TAIL_PACK_MIN else 0
    last = np.int64(-1)
    t = 0
    for b0 in range(0, n - rest, BLOCK):
        b1 = min(b0 + BLOCK, n)
        pos, t = _read_block(buf, pos, end, table, last, docids[b0:b1], masks[b0:b1], tfs, t, codes)
        if pos < 0:
            return pos, t
        last = np.int64(docids[b1 - 1])
    for i in range(n - rest, n):
        pos, last, t = read_posting(buf, pos, end, table, i, last, docids, masks, tfs, t)
    return pos, t


# --- validation -----------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def check_lists(offsets, docids, masks, tfs, max_docid):
    """0 if the CSR posting lists are well formed, else an error code (see codec.py)."""
    if offsets.size < 1 or offsets[0] != 0 or offsets[-1] != docids.size:
        return 1
    if masks.size != docids.size:
        return 2
    n_tf = 0
    for li in range(offsets.size - 1):
        lo, hi = offsets[li], offsets[li + 1]
        if hi < lo:
            return 1
        last = np.int64(-1)
        for i in range(lo, hi):
            d = np.int64(docids[i])
            if d < 0 or d > max_docid:
                return 3
            if d <= last:
                return 4
            last = d
            if masks[i] == 0:
                return 5
            n_tf += popcount16(masks[i])
    for k in range(tfs.size):
        if tfs[k] == 0:
            return 6
    return 7 if n_tf != tfs.size else 0
