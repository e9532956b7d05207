"""pycodec: the bit-packed postings encoder (``_codec_kernels.bitpacked_encode_lists``) in plain
Python, for where the kernels run as Python (a small job on a cold numba cache, or
``WIKISEARCH_JIT=off``: ``jit.interpreted``).

The kernel as Python handles every value as a numpy scalar (a few hundred nanoseconds an
operation) and took most of the bundled sample's first build; here values are Python integers
and each block's bits are packed as one integer. Same bytes as the kernel (format:
docs/FORMAT.md, "Postings codecs"); tests/test_codec.py compares the two on generated lists.

>>> data, offsets = bitpacked_encode_lists(np.array([0, 2]), np.array([3, 7]), np.array([1, 1]),
...                                        np.array([2, 1]))
>>> data.tobytes().hex(), offsets.tolist()
('03020f0101', [0, 5])
"""
from __future__ import annotations

import numpy as np

BLOCK = 128                 # as _codec_kernels: postings per bit-packed block
TAIL_PACK_MIN = 2           # a last partial block this long or longer is bit-packed too
_EXCEPTIONS = 64            # stream header bit: VInt exceptions follow the packed bits (format <= 10)
_PACKED_EXCEPTIONS = 128    # stream header bit: bit-packed exceptions follow them (format 11)


def _vb(out: bytearray, v: int) -> None:
    """LEB128: low 7 bits first, high bit = more bytes follow."""
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _vb_len(v: int) -> int:
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def _bit_lengths(vals: list[int]) -> tuple[list[int], int]:
    """``(histogram of the values' bit lengths, the largest)``."""
    hist = [0] * 34
    for v in vals:
        hist[v.bit_length()] += 1
    top = 33
    while top > 0 and hist[top] == 0:
        top -= 1
    return hist, top


def _choose_width(vals: list[int]) -> tuple[int, int, int]:
    """``(width, n_exceptions, high_width)``: ``_codec_kernels.choose_width``."""
    hist, top = _bit_lengths(vals)
    n = len(vals)
    index_width = (n - 1).bit_length() if n > 1 else 0
    best, best_cost, best_exc = top, (n * top + 7) // 8, 0
    for w in range(top - 1, -1, -1):
        n_exc = sum(hist[w + 1:top + 1])
        cost = ((n * w + 7) // 8 + _vb_len(n_exc) + 1 + (n_exc * index_width + 7) // 8
                + (n_exc * (top - w) + 7) // 8)
        if cost < best_cost:
            best, best_cost, best_exc = w, cost, n_exc
    return best, best_exc, top - best


def _pack(out: bytearray, vals: list[int], width: int) -> None:
    """The low ``width`` bits of each value, LSB first: value k at bit k * width."""
    if width:
        mask = (1 << width) - 1
        acc = 0
        for k, v in enumerate(vals):
            acc |= (v & mask) << (k * width)
        out += acc.to_bytes((len(vals) * width + 7) // 8, "little")


def _write_stream(out: bytearray, vals: list[int], layout: str = "packed") -> None:
    """Stream --> Header, [NumExceptions, HighWidth], PackedBits, [ExceptionIndexes, HighBits].

    ``layout="vint"`` writes format 10's Stream instead (Header, [NumExceptions], PackedBits,
    <IndexGap, HighBits>^NumExceptions, its Width chosen by format 10's estimate): what indexes
    built before format 11 hold, for the tests that read them."""
    if layout == "vint":
        width, n_exc = _choose_width_vint(vals)
        out.append(width | (_EXCEPTIONS if n_exc > 0 else 0))
        if n_exc > 0:
            _vb(out, n_exc)
        _pack(out, vals, width)
        last = -1
        for k, v in enumerate(vals):
            if v >> width:
                _vb(out, k - last - 1)
                _vb(out, v >> width)
                last = k
        return
    width, n_exc, high_width = _choose_width(vals)
    out.append(width | (_PACKED_EXCEPTIONS if n_exc > 0 else 0))
    if n_exc > 0:
        _vb(out, n_exc)
        out.append(high_width)
    _pack(out, vals, width)
    if n_exc > 0:
        exc = [k for k, v in enumerate(vals) if v >> width]
        _pack(out, exc, (len(vals) - 1).bit_length() if len(vals) > 1 else 0)
        _pack(out, [vals[k] >> width for k in exc], high_width)


def _choose_width_vint(vals: list[int]) -> tuple[int, int]:
    """Format 10's ``choose_width``: ``(width, n_exceptions)`` by its estimate of VInt exceptions."""
    hist, top = _bit_lengths(vals)
    n = len(vals)
    best, best_cost, best_exc = top, (n * top + 7) // 8, 0
    for w in range(top - 1, -1, -1):
        n_exc = 0
        cost = (n * w + 7) // 8
        for bits in range(w + 1, top + 1):
            n_exc += hist[bits]
            cost += hist[bits] * (1 + (bits - w + 6) // 7)
        cost += _vb_len(n_exc)
        if cost < best_cost:
            best, best_cost, best_exc = w, cost, n_exc
    return best, best_exc


def _encode_one(out: bytearray, docids: list[int], masks: list[int], tfs: list[int],
                layout: str = "packed") -> None:
    """One list of two or more postings (``_codec_kernels._bitpacked_encode_one``)."""
    counts: dict[int, int] = {}
    for m in masks:
        counts[m] = counts.get(m, 0) + 1
    table = sorted(counts, key=lambda m: (-counts[m], m))    # most frequent first, ties: smaller
    if len(table) == 1:
        _vb(out, 2 * table[0] + 1)
    else:
        _vb(out, 2 * len(table))
        for m in table:
            _vb(out, m)
    with_codes = len(table) != 1
    code = {m: k for k, m in enumerate(table)}
    n = len(docids)
    rest = n % BLOCK if n % BLOCK < TAIL_PACK_MIN else 0
    t = 0
    last = -1
    for b0 in range(0, n - rest, BLOCK):
        b1 = min(b0 + BLOCK, n)
        gaps = []
        tf_vals = []
        for k in range(b0, b1):
            d = docids[k]
            gaps.append(d - last - 1)
            last = d
            bits = masks[k].bit_count()
            tf_vals += tfs[t:t + bits]
            t += bits
        _write_stream(out, gaps, layout)
        if with_codes:
            _write_stream(out, [code[m] for m in masks[b0:b1]], layout)
        _write_stream(out, [v - 1 for v in tf_vals], layout)
    for i in range(n - rest, n):        # the varbyte tail
        d = docids[i]
        _vb(out, d - last - 1)
        last = d
        if with_codes:
            _vb(out, code[masks[i]])
        for _ in range(masks[i].bit_count()):
            _vb(out, tfs[t] - 1)
            t += 1


def bitpacked_encode_lists(offsets, docids, masks, tfs, layout: str = "packed") -> tuple[np.ndarray, np.ndarray]:
    """BitpackedPostings of lists ``[offsets[i], offsets[i+1])`` (checked by
    ``codec.check_postings``): ``(bytes uint8, byte_offsets int64)``, as the kernel gives them.
    ``layout="vint"``: as format 10 wrote them (exceptions as VInt pairs)."""
    offsets_l = np.asarray(offsets).tolist()
    docids_l = np.asarray(docids).tolist()
    masks_l = np.asarray(masks).tolist()
    tfs_l = np.asarray(tfs).tolist()
    out = bytearray()
    byte_offsets = np.zeros(len(offsets_l), np.int64)
    t = 0
    for li in range(len(offsets_l) - 1):
        lo, hi = offsets_l[li], offsets_l[li + 1]
        if hi - lo == 1:                # most lists: mask, docid, tfs
            m = masks_l[lo]
            _vb(out, 2 * m + 1)
            _vb(out, docids_l[lo])
            for _ in range(m.bit_count()):
                _vb(out, tfs_l[t] - 1)
                t += 1
        elif hi > lo:
            n_tf = sum(m.bit_count() for m in masks_l[lo:hi])
            _encode_one(out, docids_l[lo:hi], masks_l[lo:hi], tfs_l[t:t + n_tf], layout)
            t += n_tf
        byte_offsets[li + 1] = len(out)
    return np.frombuffer(out, np.uint8), byte_offsets


def lists_well_formed(offsets, docids, masks, tfs, max_docid: int, popcount16: np.ndarray) -> bool:
    """True when ``_codec_kernels.check_lists`` finds nothing wrong (it returns 0), in numpy
    over whole arrays (``popcount16``: the popcount of every uint16); a False leaves the error
    code to the kernel."""
    if offsets.size < 1 or offsets[0] != 0 or offsets[-1] != docids.size or masks.size != docids.size:
        return False
    if docids.size == 0:
        return tfs.size == 0
    if np.any(np.diff(offsets) < 0) or docids.min() < 0 or docids.max() > max_docid:
        return False
    rising = np.diff(docids) > 0
    rising[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < docids.size)] - 1] = True   # a list starts
    return bool(rising.all()) and bool(masks.all()) and bool(tfs.all()) and \
        int(popcount16[masks].sum(dtype=np.int64)) == tfs.size


# --- decoding -------------------------------------------------------------------------------
# As the kernel decodes, check for check: -1 for damaged bytes, -2 when ``tfs`` is too small,
# never a read past ``end`` (an IndexError here would be a bug, not damage).

CORRUPT = -1
TFS_FULL = -2


def _vb_read(buf, pos: int, end: int) -> tuple[int, int]:
    v = shift = 0
    while pos < end and shift < 64:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    return v & 0xFFFFFFFFFFFFFFFF, CORRUPT


def _read_stream(buf, pos: int, end: int, count: int) -> tuple[list[int], int]:
    """``_codec_kernels.read_stream`` of ``count`` values, either exception layout:
    ``(values, pos)``, pos -1 if damaged."""
    if pos >= end:
        return [], CORRUPT
    header = buf[pos]
    pos += 1
    width = header & 63
    if width > 32 or header & _EXCEPTIONS and header & _PACKED_EXCEPTIONS:
        return [], CORRUPT
    n_exc = high_width = 0
    if header & (_EXCEPTIONS | _PACKED_EXCEPTIONS):
        n_exc, pos = _vb_read(buf, pos, end)
        if pos < 0 or n_exc > count:
            return [], CORRUPT
    if header & _PACKED_EXCEPTIONS:
        if n_exc == 0 or pos >= end:
            return [], CORRUPT
        high_width = buf[pos]
        pos += 1
        if high_width == 0 or width + high_width > 32:
            return [], CORRUPT
    vals, pos = _unpack(buf, pos, end, count, width)
    if pos < 0:
        return vals, CORRUPT
    if high_width:                      # packed: indexes at ceil(log2(count)) bits, then high bits
        index_width = (count - 1).bit_length() if count > 1 else 0
        idx, pos = _unpack(buf, pos, end, n_exc, index_width)
        highs, pos = _unpack(buf, pos, end, n_exc, high_width) if pos >= 0 else ([], CORRUPT)
        if pos < 0 or any(b <= a for a, b in zip(idx, idx[1:])) or idx[-1] >= count:
            return vals, CORRUPT
        for k, h in zip(idx, highs):
            vals[k] |= h << width
        return vals, pos
    k = -1
    for _ in range(n_exc):
        gap, pos = _vb_read(buf, pos, end)
        k += min(gap, count) + 1
        if pos < 0 or k >= count:
            return vals, CORRUPT
        high, pos = _vb_read(buf, pos, end)
        if pos < 0:
            return vals, CORRUPT
        vals[k] |= (high << width) & 0xFFFFFFFF
    return vals, pos


def _unpack(buf, pos: int, end: int, count: int, width: int) -> tuple[list[int], int]:
    """``count`` values of ``width`` bits from ``buf[pos:]``: ``(values, pos)``, pos -1 if cut."""
    if width == 0:
        return [0] * count, pos
    stop = pos + (count * width + 7) // 8
    if stop > end:
        return [], CORRUPT
    bits = int.from_bytes(buf[pos:stop], "little")
    mask = (1 << width) - 1
    return [(bits >> (k * width)) & mask for k in range(count)], stop


def _int32(v: int) -> int:
    """``v`` as an int32 array element holds it (the kernels' docids are int32)."""
    return ((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def bitpacked_decode(buf, pos: int, n: int, tf_capacity: int):
    """``_codec_kernels.bitpacked_decode_into`` of ``n`` postings at ``buf[pos:]`` (bytes, or a
    memoryview of uint8: items are Python integers) into lists:
    ``(end, docids, masks, tfs)``; ``end`` -1 for damaged bytes, -2 when more than
    ``tf_capacity`` tfs would be needed (the lists then hold what was decoded)."""
    end = len(buf)
    docids: list[int] = []
    masks: list[int] = []
    tfs: list[int] = []
    if n == 0:
        return pos, docids, masks, tfs
    header, pos = _vb_read(buf, pos, end)                 # the mask table
    if pos < 0 or header > 2 * 0xFFFF + 1 or header < 4 and not header & 1:
        return CORRUPT, docids, masks, tfs
    if header & 1:
        table = [header >> 1]
    else:
        table = []
        for _ in range(header >> 1):
            m, pos = _vb_read(buf, pos, end)
            if pos < 0 or m > 0xFFFF:
                return CORRUPT, docids, masks, tfs
            table.append(m)
    rest = n % BLOCK if n % BLOCK < TAIL_PACK_MIN else 0
    last = -1
    for b0 in range(0, n - rest, BLOCK):
        count = min(b0 + BLOCK, n) - b0
        gaps, pos = _read_stream(buf, pos, end, count)
        if pos < 0:
            return pos, docids, masks, tfs
        for g in gaps:
            last += g + 1
            docids.append(_int32(last))
        if len(table) == 1:
            block_masks = [table[0]] * count
            n_tf = count * table[0].bit_count()
        else:
            codes, pos = _read_stream(buf, pos, end, count)
            if pos < 0:
                return pos, docids, masks, tfs
            if max(codes) >= len(table):
                return CORRUPT, docids, masks, tfs
            block_masks = [table[c] for c in codes]
            n_tf = sum(m.bit_count() for m in block_masks)
        masks += block_masks
        if len(tfs) + n_tf > tf_capacity:
            return TFS_FULL, docids, masks, tfs
        vals, pos = _read_stream(buf, pos, end, n_tf)
        if pos < 0:
            return pos, docids, masks, tfs
        tfs += [(v + 1) & 0xFFFFFFFF for v in vals]
        last = docids[-1]
    for _ in range(n - rest, n):                          # the varbyte tail (one posting)
        gap, pos = _vb_read(buf, pos, end)
        if pos < 0 or gap > 0x7FFFFFFF:
            return CORRUPT, docids, masks, tfs
        last += gap + 1
        docids.append(_int32(last))
        if len(table) == 1:
            m = table[0]
        else:
            v, pos = _vb_read(buf, pos, end)
            if pos < 0 or v >= len(table):
                return CORRUPT, docids, masks, tfs
            m = table[v]
        masks.append(m)
        if len(tfs) + m.bit_count() > tf_capacity:
            return TFS_FULL, docids, masks, tfs
        for _ in range(m.bit_count()):
            v, pos = _vb_read(buf, pos, end)
            if pos < 0:
                return CORRUPT, docids, masks, tfs
            tfs.append((v + 1) & 0xFFFFFFFF)
    return pos, docids, masks, tfs


def bitpacked_decode_into(buf, pos, n, docids, masks, tfs) -> tuple[int, int]:
    """``_codec_kernels.bitpacked_decode_into`` (same arguments, same outputs)."""
    end, d, m, t = bitpacked_decode(memoryview(buf), int(pos), int(n), tfs.size)
    docids[:len(d)] = d
    masks[:len(m)] = m
    tfs[:len(t)] = t
    return end, len(t)


def gather_bitpacked(buf, e_start, e_df, e_base, e_term, n_terms, n_postings, tf_capacity):
    """``_merge_kernels.gather_chunk`` for the bit-packed codec: the block lists of a chunk of
    terms decoded and concatenated per term (docids shifted by their block's first docid), CSR
    ``(post_offsets, docids, masks, tf_offsets, tfs)``; an empty ``post_offsets`` if damaged."""
    data = memoryview(buf)
    post_offsets = np.zeros(n_terms + 1, np.int64)
    tf_offsets = np.zeros(n_terms + 1, np.int64)
    docids: list[int] = []
    masks: list[int] = []
    tfs: list[int] = []
    for start, n, base, term in zip(e_start.tolist(), e_df.tolist(), e_base.tolist(), e_term.tolist()):
        end, d, m, t = bitpacked_decode(data, start, n, tf_capacity - len(tfs))
        if end < 0:
            return (np.zeros(0, np.int64), np.zeros(n_postings, np.int32), np.zeros(n_postings, np.uint16),
                    tf_offsets, np.zeros(tf_capacity, np.uint32))
        docids += [_int32(x + base) for x in d] if base else d
        masks += m
        tfs += t
        post_offsets[term + 1] = len(docids)
        tf_offsets[term + 1] = len(tfs)
    np.maximum.accumulate(post_offsets, out=post_offsets)   # terms with no block entry (alias-only)
    np.maximum.accumulate(tf_offsets, out=tf_offsets)
    return (post_offsets, np.array(docids, np.int32).reshape(-1), np.array(masks, np.uint16).reshape(-1),
            tf_offsets, np.array(tfs, np.uint32).reshape(-1))
