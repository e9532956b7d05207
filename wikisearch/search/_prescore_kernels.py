"""Numba kernels that decode a bit-packed posting list and pre-score it in one pass.

A first-sight plain-OR query (search.py, a list not yet in the scored-lists cache) used to decode
each list into docids, masks and tfs arrays (``_codec_kernels.bitpacked_decode_into``) and then
read them back to score them (``_maxscore_kernels.prescore_into``). Here each block of 128
postings is unpacked into small scratch arrays that stay in L1 and scored straight into the
arenas. Bits are unpacked eight bytes at a time (one unaligned load per value instead of a byte
loop), and a list's mask table is turned once into each code's field mask within the selection
and its number of tfs, and into the terms a posting with that code adds (:func:`_term_tables`:
field, tf offset, weight and norm constants). A block is scored posting by posting
(:func:`_score_kept`), BM25 without a branch on the posting's fields for the one- and two-field
postings (nearly all); ``_blockmax_kernels`` scores its blocks with the same tables and
arithmetic. :func:`_score_kept` is inlined into :func:`bitpacked_score_into`
(``inline="always"``, numba's IR inlining): a call per block passed it eleven arrays, each
reference-counted on the way in and out (atomic operations), ~11 % of the kernel's time; the
caller has its ``error_model="numpy"`` so that the inlined divisions keep their meaning (its own
arithmetic is on integers, by constants). The block readers (``_read_block``, ``_block_tfs``,
``_read_tail`` and the stream readers under them) are inlined into it too, and only there
(:func:`_into_prescore`, numba's inline cost model): 0.93x the kernel's CPU for 2-3 s more
compile (session 16; their one integer division, by a stream's bit width, is reached only with a
width above 0, so the caller's error model changes nothing). Its arena writes take unsigned
indices: with a signed one numba tests each for wraparound, which made LLVM write a block's
scores with AVX-512 scatters (0.91x without, session 16).

The format is docs/FORMAT.md "Postings codecs"; :func:`bitpacked_decode_into` re-implements
``_codec_kernels.bitpacked_decode_into`` on the same block reader (tests compare the two on every
list of a real index and on damaged bytes: same results, same errors, no read out of bounds).
The scoring is ``prescore_into``'s, operation by operation, so scores stay bit-identical.
Pure functions over arrays, no I/O, no validation of arguments; all run under NUMBA_DISABLE_JIT=1.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import interpreted, intrinsic, njit, overload

from wikisearch.index._codec_kernels import (BLOCK, CORRUPT, TAIL_PACK_MIN, TFS_FULL, _read_mask_table,
                                             load_u64, patch_exceptions, read_exception_head, vb_read)
from wikisearch.search._maxscore_kernels import BLOCK as SCORE_BLOCK
from wikisearch.search._search_kernels import _POPCOUNT

#: :func:`bitpacked_score_into` prefetches each kept posting's field length only in an index of
#: at least this many documents. Below it one field's lengths (4 bytes a document, a column since
#: index format 8) take at most 256 KB and stay in the L2 cache between queries, so the prefetch
#: (its address worked out per posting: the term table's field, the clamp, the strides) is pure
#: cost: without it the kernel took 0.92-0.94x the CPU over the run_all protocol's first-sight
#: queries at 30k documents (session 15, benchmarks/results/firstsight-30k-x1.md). Larger, the
#: lengths are read from memory in no order a hardware prefetcher follows (session 12).
PREFETCH_MIN_DOCS = 1 << 16


def _into_prescore(_call, caller_ir, _callee_ir) -> bool:
    """numba's inline cost model for the block readers (``_unpack``, ``_read_stream``,
    ``_read_block``, ``_block_tfs``, ``_read_tail``): inlined into :func:`bitpacked_score_into`,
    called everywhere else. Called per block, each took a reference to every array it was passed
    on the way in and out (atomic operations) and kept the caller's scratch arrays opaque: inlined,
    the kernel took 0.93x the CPU over the run_all protocol's lists (session 16,
    benchmarks/results/firstsight-30k-x1.md) for 2-3 s more compile. The block-max kernel inlines
    its block decoder at several places: the readers inlined there too took its compile from 13 to
    51 s of CPU, so it calls them as before."""
    return caller_ir.func_id.func_qualname == "bitpacked_score_into"


def prefetch_at(table, row, col):
    """A hint that ``table[row, col]`` (a 2-d array, any layout) will be read soon (nothing in
    plain Python; in numba LLVM's ``prefetch`` of that element, for reading: the scoring reads
    each kept posting's field lengths, from a table of every document's, in an order no hardware
    prefetcher guesses)."""
    return None


@intrinsic
def _prefetch_at(typingctx, table, row, col):
    from llvmlite import ir
    from numba.core import cgutils, types

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        r = context.cast(builder, args[1], signature.args[1], types.intp)
        c = context.cast(builder, args[2], signature.args[2], types.intp)
        at = builder.add(builder.mul(r, builder.extract_value(ary.strides, 0)),
                         builder.mul(c, builder.extract_value(ary.strides, 1)))
        ptr = builder.gep(builder.bitcast(ary.data, ir.IntType(8).as_pointer()), [at])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), ir.IntType(32),
                                                              ir.IntType(32), ir.IntType(32)]),
            "llvm.prefetch.p0i8")
        builder.call(fn, [ptr, ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), 3),
                          ir.Constant(ir.IntType(32), 1)])
        return context.get_dummy_value()
    return types.none(table, row, col), codegen


@overload(prefetch_at, jit_options={"nogil": True})
def _prefetch_at_jit(table, row, col):
    def impl(table, row, col):
        _prefetch_at(table, row, col)
    return impl


@njit(cache=True, nogil=True, inline=_into_prescore)
def _unpack(buf, pos, end, width, out, count):
    """``_codec_kernels.unpack`` of ``count`` values into ``out[:count]``: same result, same
    bytes consumed, -1 if the bytes run out; whole words read while eight bytes remain."""
    if width == 0:
        for k in range(count):
            out[k] = 0
        return pos
    stop = pos + (count * width + 7) // 8
    if stop > end:
        return CORRUPT
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    fast = count
    if stop + 8 > end:                         # near the end of the bytes: no word past them
        fast = max(0, min(count, ((end - 8 - pos) * 8) // width + 1)) if end - 8 >= pos else 0
    start = 0
    if width <= 8:                             # eight values in ``width`` bytes: one load
        start = fast - fast % 8
        for g in range(start // 8):
            v = load_u64(buf, pos + g * width)
            for i in range(8):
                out[8 * g + i] = np.uint32((v >> np.uint64(i * width)) & mask)
    for k in range(start, fast):               # (branch-free)
        bit = k * width
        v = load_u64(buf, pos + (bit >> 3))
        out[k] = np.uint32((v >> np.uint64(bit & 7)) & mask)
    for k in range(fast, count):               # the last few values of the list
        bit = k * width
        b = pos + (bit >> 3)
        v = np.uint64(0)
        for i in range(min(8, end - b)):
            v |= np.uint64(buf[b + i]) << np.uint64(8 * i)
        out[k] = np.uint32((v >> np.uint64(bit & 7)) & mask)
    return stop


@njit(cache=True, nogil=True, inline=_into_prescore)
def _read_stream(buf, pos, end, out, count):
    """``_codec_kernels.read_stream`` into ``out[:count]``, with this module's word-at-a-time
    ``_unpack``; the exceptions are read and patched by the codec's own ``read_exception_head`` and
    ``patch_exceptions`` (inlined here: most streams of a format-11 index have some)."""
    if pos >= end:
        return CORRUPT
    header = np.int64(buf[pos])
    pos += 1
    width = header & 63
    if width > 32:
        return CORRUPT
    n_exc = 0
    high_width = 0
    if header > 63:
        n_exc, high_width, pos = read_exception_head(buf, pos, end, header, width, count)
        if pos < 0:
            return CORRUPT
    pos = _unpack(buf, pos, end, width, out, count)
    if n_exc == 0 or pos < 0:
        return pos
    return patch_exceptions(buf, pos, end, width, n_exc, high_width, out, count)


@njit(cache=True, nogil=True, inline=_into_prescore)
def _read_block(buf, pos, end, n_masks, count, gaps, codes):
    """The DocGaps and (when the table has two or more masks) Codes streams of a PackedBlock of
    ``count`` postings into the scratch arrays, codes unchecked; CORRUPT if damaged."""
    pos = _read_stream(buf, pos, end, gaps, count)
    if pos >= 0 and n_masks > 1:
        pos = _read_stream(buf, pos, end, codes, count)
    return pos


@njit(cache=True, nogil=True)
def _code_tables(table, sel):
    """Per mask code: the popcount of its mask (tfs it carries) and the mask within ``sel``."""
    counts = np.empty(table.size, np.int64)
    kept = np.empty(table.size, np.int64)
    for i in range(table.size):
        m = np.int64(table[i])
        counts[i] = np.int64(_POPCOUNT[m])
        kept[i] = m & sel
    return counts, kept


@njit(cache=True, nogil=True, inline=_into_prescore)
def _block_tfs(buf, pos, end, codes, count, n_masks, counts, tfs, tf_room):
    """Checks the block's codes, then reads its TfMinus1 stream: ``(pos, n_tfs)``."""
    if n_masks > 1:
        n_tf = 0
        for k in range(count):
            if codes[k] >= n_masks:
                return CORRUPT, 0
            n_tf += counts[codes[k]]
    else:
        n_tf = count * counts[0]
    if n_tf > tf_room:
        return TFS_FULL, 0
    pos = _read_stream(buf, pos, end, tfs, n_tf)
    if pos >= 0:
        for k in range(n_tf):
            tfs[k] += np.uint32(1)
    return pos, n_tf


@njit(cache=True, nogil=True)
def bitpacked_decode_into(buf, pos, n, docids, masks, tfs):
    """``_codec_kernels.bitpacked_decode_into`` on this module's block reader: decode ``n``
    postings from ``buf[pos:]``; ``(next_pos, n_tfs)``, next_pos < 0 on error."""
    end = buf.size
    if n == 0:
        return pos, 0
    table, pos = _read_mask_table(buf, pos, end)
    if pos < 0:
        return CORRUPT, 0
    n_masks = table.size
    counts, _kept = _code_tables(table, np.int64(0))
    gaps = np.empty(BLOCK, np.uint32)
    codes = np.zeros(BLOCK, np.uint32)
    rest = n % BLOCK if n % BLOCK < TAIL_PACK_MIN else 0
    last = np.int64(-1)
    t = 0
    for b0 in range(0, n - rest, BLOCK):
        count = min(BLOCK, n - b0)
        pos = _read_block(buf, pos, end, n_masks, count, gaps, codes)
        if pos < 0:
            return pos, t
        for k in range(count):
            last += np.int64(gaps[k]) + 1
            docids[b0 + k] = last
        pos, n_tf = _block_tfs(buf, pos, end, codes, count, n_masks, counts, tfs[t:], tfs.size - t)
        if pos < 0:
            return pos, t
        for k in range(count):
            masks[b0 + k] = table[codes[k]]
        t += n_tf
    if rest:                                   # (one posting: TAIL_PACK_MIN is 2)
        pos, last, code, t = _read_tail(buf, pos, end, n_masks, counts, last, tfs, t)
        if pos >= 0:
            docids[n - 1] = last
            masks[n - 1] = table[code]
    return pos, t


@njit(cache=True, nogil=True, inline=_into_prescore)
def _read_tail(buf, pos, end, n_masks, counts, last, tfs, t):
    """``_codec_kernels.read_posting``, the one varbyte posting of a list's tail: ``(pos, docid,
    code, t)`` with its tfs at ``tfs[t:]``; pos CORRUPT if damaged, TFS_FULL if they do not fit."""
    gap, pos = vb_read(buf, pos, end)
    if pos < 0 or gap > np.uint64(0x7FFFFFFF):
        return CORRUPT, last, 0, t
    last += np.int64(gap) + 1
    code = 0
    if n_masks > 1:
        v, pos = vb_read(buf, pos, end)
        if pos < 0 or v >= np.uint64(n_masks):
            return CORRUPT, last, 0, t
        code = np.int64(v)
    bits = counts[code]
    if t + bits > tfs.size:
        return TFS_FULL, last, code, t
    for _ in range(bits):
        v, pos = vb_read(buf, pos, end)
        if pos < 0:
            return CORRUPT, last, code, t
        tfs[t] = np.uint32((v + np.uint64(1)) & np.uint64(0xFFFFFFFF))
        t += 1
    return pos, last, code, t


@njit(cache=True, nogil=True, error_model="numpy")
def bitpacked_score_into(buf, n, sel, field_lengths, weights, norm_a, norm_c, k1, model,
                         out_docids, out_scores, out_fields, pos, out_bmax, bpos):
    """Decode the bit-packed list of ``n`` postings that is exactly ``buf`` and score it into the
    arenas as ``_maxscore_kernels.prescore_into`` does: returns (end, postings written, block
    maxima written, largest score). ``end`` is CORRUPT for damaged bytes or a docid past
    ``field_lengths`` (a list that is not exactly ``buf`` has ``end != buf.size``)."""
    end = buf.size
    n_docs = field_lengths.shape[0]
    if n == 0:
        return np.int64(0), 0, 0, 0.0
    table, at = _read_mask_table(buf, 0, end)
    if at < 0:
        return CORRUPT, 0, 0, 0.0
    n_masks = table.size
    counts, kept = _code_tables(table, sel)
    n_terms, t_field, t_off, t_w, t_a, t_c = _term_tables(table, kept, weights, norm_a, norm_c)
    gaps = np.empty(BLOCK, np.uint32)
    codes = np.zeros(BLOCK, np.uint32)
    tfs = np.empty(BLOCK * 16, np.uint32)
    vals = np.empty(BLOCK, np.float64)
    kd = np.empty(BLOCK, np.int32)             # a block's kept postings: docid, mask, tfs start
    kcode = np.empty(BLOCK, np.uint32)
    kstart = np.empty(BLOCK, np.int64)
    tail = n % BLOCK if n % BLOCK < TAIL_PACK_MIN else 0
    last = np.int64(-1)
    far = n_docs >= PREFETCH_MIN_DOCS          # (field lengths beyond the L2 cache)
    w = 0                                      # postings written
    best = 0.0
    bm = 0.0
    nb = 0
    for b0 in range(0, n - tail + BLOCK * tail, BLOCK):
        if b0 < n - tail:                      # a PackedBlock
            count = min(BLOCK, n - b0)
            at = _read_block(buf, at, end, n_masks, count, gaps, codes)
            if at < 0:
                return CORRUPT, w, nb, best
            at, _n_tf = _block_tfs(buf, at, end, codes, count, n_masks, counts, tfs, tfs.size)
            if at < 0:
                return CORRUPT, w, nb, best
        else:                                  # the one-posting varbyte tail, as a block of 1
            count = 1
            at, d, code, _n_tf = _read_tail(buf, at, end, n_masks, counts, last, tfs, np.int64(0))
            if at < 0:
                return CORRUPT, w, nb, best
            gaps[0] = np.uint32(d - last - 1)
            codes[0] = np.uint32(code)
        if far:                                # (two copies of the loop, the test out of it)
            last, m0 = _keep_block(count, last, gaps, codes, kept, counts, kd, kcode, kstart, out_docids,
                                   out_fields, pos + w, field_lengths, t_field, n_docs, True)
        else:
            last, m0 = _keep_block(count, last, gaps, codes, kept, counts, kd, kcode, kstart, out_docids,
                                   out_fields, pos + w, field_lengths, t_field, n_docs, False)
        if last >= n_docs:                     # (docids only grow: the block's last says it)
            return CORRUPT, w, nb, best
        _score_kept(m0, kd, kcode, kstart, tfs, n_terms, t_field, t_off, t_w, t_a, t_c,
                    field_lengths, k1, model, vals)
        o = np.uint64(pos + w)                 # (unsigned: with a signed index numba tests each
        for i in range(m0):                    # for wraparound, and LLVM made the copy a scatter)
            out_scores[o + np.uint64(i)] = vals[i]
        i = 0
        while i < m0:                          # block maxima, as prescore_into keeps them,
            if w % SCORE_BLOCK == 0:           # a run up to the next block's start at a time
                bm = vals[i]
            stop = min(m0, i + SCORE_BLOCK - w % SCORE_BLOCK)
            for r in range(i, stop):
                v = vals[r]
                bm = v if v > bm else bm
                best = v if v > best else best
            w += stop - i
            i = stop
            if w % SCORE_BLOCK == 0:
                out_bmax[bpos + nb] = bm
                nb += 1
    if w % SCORE_BLOCK != 0:
        out_bmax[bpos + nb] = bm
        nb += 1
    return at, w, nb, best


@njit(cache=True, nogil=True, inline="always")
def _keep_block(count, last, gaps, codes, kept, counts, kd, kcode, kstart, out_docids, out_fields, at,
                field_lengths, t_field, n_docs, prefetch):
    """The docids of a decoded block (``count`` gaps after ``last``) and its postings kept by the
    selection: docid, mask code and first tf to ``kd``, ``kcode``, ``kstart``, docid and field
    mask to ``out_docids`` / ``out_fields`` at ``at`` (a posting not kept is overwritten by the
    next). With ``prefetch``, each kept posting's first field length is prefetched for
    :func:`_score_kept`. Returns ``(last docid, postings kept)``. Inlined into
    :func:`bitpacked_score_into`, once with each constant ``prefetch``."""
    j = 0                                      # where posting k's tfs start
    m0 = np.int64(0)                           # (np.int64: callees get one signature)
    for k in range(count):
        last += np.int64(gaps[k]) + 1
        c = codes[k]
        fm = kept[c]
        kd[m0] = last
        if prefetch:
            prefetch_at(field_lengths, min(last, n_docs - 1), t_field[c * 16])
        kcode[m0] = c
        kstart[m0] = j
        j += counts[c]
        out_docids[np.uint64(at + m0)] = last  # (unsigned: no wraparound test)
        out_fields[np.uint64(at + m0)] = np.uint16(fm)
        m0 += fm != 0
    return last, m0


@njit(cache=True, nogil=True)
def _term_tables(table, kept, weights, norm_a, norm_c):
    """Per mask code, the terms a posting with it adds, fields ascending: ``n_terms[code]`` of
    them, term ``q`` at ``code * 16 + q``: its field, the offset of its tf among the posting's
    tfs (the rank of the field among the mask's bits), and the field's weight, norm_a, norm_c.
    Only the fields kept by the selection whose term can add something: one of weight 0 whose
    norm is >= norm_a > 0 adds exactly +0.0 (0 * tf / norm, tf finite) to sums that are never
    -0.0, so the same bits come without it."""
    n_codes = table.size
    n_terms = np.zeros(n_codes, np.int64)
    t_field = np.zeros(n_codes * 16, np.int64)
    t_off = np.zeros(n_codes * 16, np.int64)
    t_w = np.zeros(n_codes * 16, np.float64)       # an empty slot adds 0.0 * tf / 1.0: +0.0
    t_a = np.ones(n_codes * 16, np.float64)
    t_c = np.zeros(n_codes * 16, np.float64)
    for code in range(n_codes):
        mask = np.int64(table[code])
        q = 0
        for f in range(min(16, weights.shape[0])):
            if (kept[code] >> f) & 1 and not (weights[f] == 0.0 and norm_a[f] > 0.0):
                at = code * 16 + q
                t_field[at] = f
                t_off[at] = np.int64(_POPCOUNT[mask & ((np.int64(1) << f) - 1)])
                t_w[at] = weights[f]
                t_a[at] = norm_a[f]
                t_c[at] = norm_c[f]
                q += 1
        n_terms[code] = q
    return n_terms, t_field, t_off, t_w, t_a, t_c


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _score_kept(m, docids, codes, starts, tfs, n_terms, t_field, t_off, t_w, t_a, t_c,
                field_lengths, k1, model, vals):
    """``vals[i]`` = the score of kept posting ``i < m`` (document ``docids[i]``, mask code
    ``codes[i]``, tfs from ``starts[i]``), each as _field_sum then _combine compute it: a sum from
    +0.0 of ``w * tf / (a + c * length)`` over :func:`_term_tables`' terms of its code, fields
    ascending, then (BM25) ``1.0 * (s / (k1 + s))``.

    BM25 (model 0) branch-free for the postings of one or two terms (nearly all): both slots are
    computed, an empty one being weight 0.0 * tf (finite) / norm 1.0 = +0.0, which leaves the
    sum's bits as they are (a sum from +0.0 is never -0.0); a third term and more in a loop.
    (numpy's error model: a norm may be 0, as in _field_sum.)"""
    if model != 0:                             # (log: a slot is not computed unless taken)
        for i in range(m):
            d = np.uint64(docids[i])
            c = np.uint64(codes[i])
            s = np.uint64(starts[i])
            u = c * np.uint64(16)
            v = 0.0
            for q in range(n_terms[c]):
                uq = u + np.uint64(q)
                tf = np.float64(tfs[s + np.uint64(t_off[uq])])
                norm = t_a[uq] + t_c[uq] * np.float64(field_lengths[d, np.uint64(t_field[uq])])
                v += t_w[uq] * (1.0 + np.log(tf)) / norm
            vals[i] = v
        return
    for i in range(m):
        d = np.uint64(docids[i])
        c = np.uint64(codes[i])
        s = np.uint64(starts[i])
        u = c * np.uint64(16)
        u1 = u + np.uint64(1)
        tf0 = np.float64(tfs[s + np.uint64(t_off[u])])
        tf1 = np.float64(tfs[s + np.uint64(t_off[u1])])
        n0 = t_a[u] + t_c[u] * np.float64(field_lengths[d, np.uint64(t_field[u])])
        n1 = t_a[u1] + t_c[u1] * np.float64(field_lengths[d, np.uint64(t_field[u1])])
        v = 0.0 + t_w[u] * tf0 / n0
        v += t_w[u1] * tf1 / n1
        nt = n_terms[c]
        if nt > 2:
            for q in range(2, nt):
                uq = u + np.uint64(q)
                tf = np.float64(tfs[s + np.uint64(t_off[uq])])
                norm = t_a[uq] + t_c[uq] * np.float64(field_lengths[d, np.uint64(t_field[uq])])
                v += t_w[uq] * tf / norm
        vals[i] = v
    if model == 0:
        for i in range(m):
            v = vals[i]
            vals[i] = 1.0 * (v / (k1 + v))
