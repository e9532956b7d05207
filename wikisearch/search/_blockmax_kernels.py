"""Numba kernels of block-max search: top-k of a disjunction straight from bit-packed lists,
decoding a block of 128 postings only when a document that might enter the top k falls in it;
and the same MaxScore window routine (:func:`_disjunction_topk`) over the lists the scored-lists
cache holds pre-scored (:func:`maxscore_topk`), so that one compiled kernel serves both.

A list longer than one block carries, per block (``blocks.bin``, docs/FORMAT.md): the byte where
the block starts, its last docid and an upper bound of its postings' scores before idf under the
index's ranking settings (:func:`list_block_meta` computes them). :func:`blockmax_topk` is
MaxScore (Turtle & Flood 1995) document at a time over cursors that skip blocks by their last
docid without decoding them, with the block-max refinement of Ding & Suel (2011) for the lists it
only probes: a candidate is dropped when its essential sum plus the bounds of the blocks that could
still hold it cannot reach the k-th score. A block is decoded only when a cursor must look inside
it (:func:`_decode_block`), and scored lazily: whole when the window walks it
(:func:`_score_run`), one posting at a time when a probe lands in it (:func:`_posting_score`);
both posting by posting over the terms of its mask code (``_prescore_kernels._term_tables``),
the arithmetic of ``_prescore_kernels.bitpacked_score_into`` operation by operation, so
scores stay bit-identical to every other path: a term's score is ``idf * pre``, summed over terms
in query order, then the prior.

Pure functions over arrays, no I/O, no validation of arguments; all run under NUMBA_DISABLE_JIT=1.
Their oracle is exhaustive scoring (tests/test_blockmax.py).
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit

from wikisearch._topk_kernels import heap_sorted, offer
from wikisearch.index._codec_kernels import BLOCK, CORRUPT, _read_mask_table
from wikisearch.search._maxscore_kernels import BLOCK as SCORE_BLOCK
from wikisearch.search._maxscore_kernels import _insertion_sort
from wikisearch.search._prescore_kernels import (
    _block_tfs, _code_tables, _read_block, _read_tail, _term_tables, prefetch_at)
from wikisearch.search._search_kernels import _NO_DOC, _SLACK, _gallop
from wikisearch.jit import readonly as _ro   # (one compiled kernel: mmapped arrays are read-only)

#: Lists of at most this many postings have no stored block data (one block: read whole).
ONE_BLOCK = BLOCK
#: Documents whose essential postings are added up at a time.
WINDOW = 2048
#: A pre-scored disjunction (kind 0) of two or more lists, SEED_MIN_POSTINGS postings or more, with
#: k <= SEED_MAX_K starts from a threshold: the k-th best exact score of the documents of the
#: SEED_PER_K * k best postings of each of its SEED_LISTS strongest lists (:func:`_seed_threshold`;
#: below that size it costs more than it saves).
SEED_LISTS = 2
SEED_PER_K = 2
SEED_MAX_K = 32
SEED_MIN_POSTINGS = 4096


@njit(cache=True, nogil=True)
def n_blocks_of(n):
    """Blocks of a list of ``n`` postings: 128 each, a last partial one, or a one-posting tail."""
    return (n + BLOCK - 1) // BLOCK


@njit(cache=True, nogil=True, inline="always")
def _decode_block(buf, at, end, count, tail, last, n_masks, counts, kept, gaps, codes, tfs,
                  n_docs, out_docids, out_codes, out_starts, out_fields):
    """Decode one block at ``buf[at:end]`` (``count`` postings; ``tail``: the list's one-posting
    varbyte tail) after docid ``last``, without scoring it: its postings matching the selection
    (``kept`` per mask code) go to ``out_*[:m]`` (docid, mask code, first tf in ``tfs``, field
    mask within the selection). Returns ``(at, last, m)``; at is CORRUPT when damaged. Inlined
    where used (numba's IR inlining), as :func:`_seek`."""
    if n_masks <= 1:                           # no Codes stream: every posting has code 0
        for k in range(count):                 # (the scratch may hold another list's codes)
            codes[k] = 0
    if not tail:
        at = _read_block(buf, at, end, n_masks, count, gaps, codes)
        if at < 0:
            return CORRUPT, last, 0
        at, _n_tf = _block_tfs(buf, at, end, codes, count, n_masks, counts, tfs, tfs.size)
        if at < 0:
            return CORRUPT, last, 0
    else:
        at, d, code, _n_tf = _read_tail(buf, at, end, n_masks, counts, last, tfs, np.int64(0))
        if at < 0:
            return CORRUPT, last, 0
        gaps[0] = np.uint32(d - last - 1)
        codes[0] = np.uint32(code)
    j = 0
    m0 = 0
    for k in range(count):
        last += np.int64(gaps[k]) + 1
        c = codes[k]
        fm = kept[c]
        out_docids[m0] = last
        out_codes[m0] = c
        out_starts[m0] = j
        out_fields[m0] = np.uint16(fm)
        j += counts[c]
        m0 += fm != 0
    if last >= n_docs:
        return CORRUPT, last, 0
    return at, last, m0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _posting_score(d, c, s, tfs, n_terms, t_field, t_off, t_w, t_a, t_c, field_lengths, k1, model):
    """The score before idf of one decoded posting (document ``d``, mask code ``c`` of the
    concatenated term tables, its tfs from ``tfs[s]``): the arithmetic of
    ``_prescore_kernels._score_kept``, operation by operation (a sum from +0.0 of
    ``w * tf / (a + c * length)`` over :func:`~wikisearch.search._prescore_kernels._term_tables`'
    terms of its code, fields ascending, BM25's first two slots branch-free, an empty one adding
    +0.0; then ``1.0 * (s / (k1 + s))``), so the bits equal every other path's. Inlined where
    used (numba's IR inlining: a call would reference-count each array argument in and out); the
    caller keeps numpy's error model (a norm may be 0)."""
    u = np.uint64(c) * np.uint64(16)
    s = np.uint64(s)
    d = np.uint64(d)
    if model != 0:
        v = 0.0
        for q in range(n_terms[np.uint64(c)]):
            uq = u + np.uint64(q)
            tf = np.float64(tfs[s + np.uint64(t_off[uq])])
            norm = t_a[uq] + t_c[uq] * np.float64(field_lengths[d, np.uint64(t_field[uq])])
            v += t_w[uq] * (1.0 + np.log(tf)) / norm
        return v
    u1 = u + np.uint64(1)
    tf0 = np.float64(tfs[s + np.uint64(t_off[u])])
    tf1 = np.float64(tfs[s + np.uint64(t_off[u1])])
    n0 = t_a[u] + t_c[u] * np.float64(field_lengths[d, np.uint64(t_field[u])])
    n1 = t_a[u1] + t_c[u1] * np.float64(field_lengths[d, np.uint64(t_field[u1])])
    v = 0.0 + t_w[u] * tf0 / n0
    v += t_w[u1] * tf1 / n1
    nt = n_terms[np.uint64(c)]
    if nt > 2:
        for q in range(2, nt):
            uq = u + np.uint64(q)
            tf = np.float64(tfs[s + np.uint64(t_off[uq])])
            norm = t_a[uq] + t_c[uq] * np.float64(field_lengths[d, np.uint64(t_field[uq])])
            v += t_w[uq] * tf / norm
    return 1.0 * (v / (k1 + v))


@njit(cache=True, nogil=True, error_model="numpy")
def _score_run(a, m, docids, codes, starts, tfs, o, n_terms, t_field, t_off, t_w, t_a, t_c,
               field_lengths, k1, model, out_scores):
    """Score postings ``a:a+m`` that :func:`_decode_block` gave (docids, mask codes relative to
    the list's term tables at code ``o``, tf starts in ``tfs``) into ``out_scores[a:a+m]``:
    :func:`_posting_score`'s arithmetic written out (called in the loop, its inlined body took
    a reference to each array argument per posting: 2x slower). Each posting's field length is
    prefetched first
    (``prefetch_at``, the field of its first term: the documents come in no order a hardware
    prefetcher follows, and at 4x the table is 4.4 MB)."""
    for i in range(a, a + m):
        prefetch_at(field_lengths, docids[i], t_field[(o + np.int64(codes[i])) * 16])
    if model != 0:
        for i in range(a, a + m):
            c = np.uint64(o + np.int64(codes[i]))
            u = c * np.uint64(16)
            s = np.uint64(starts[i])
            d = np.uint64(docids[i])
            v = 0.0
            for q in range(n_terms[c]):
                uq = u + np.uint64(q)
                tf = np.float64(tfs[s + np.uint64(t_off[uq])])
                norm = t_a[uq] + t_c[uq] * np.float64(field_lengths[d, np.uint64(t_field[uq])])
                v += t_w[uq] * (1.0 + np.log(tf)) / norm
            out_scores[i] = v
        return
    for i in range(a, a + m):
        c = np.uint64(o + np.int64(codes[i]))
        u = c * np.uint64(16)
        s = np.uint64(starts[i])
        d = np.uint64(docids[i])
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
        out_scores[i] = 1.0 * (v / (k1 + v))


@njit(cache=True, nogil=True, error_model="numpy")
def _score_block(buf, at, end, count, tail, last, n_masks, counts, kept, gaps, codes, tfs,
                 kd, kcode, kstart, n_terms, t_field, t_off, t_w, t_a, t_c, field_lengths, k1, model,
                 out_docids, out_scores, out_fields):
    """Decode and score one block (:func:`_decode_block`, then :func:`_score_run` with the list's
    term tables): its postings matching the selection go to ``out_*[:m]``. Returns
    ``(at, last, m)``."""
    at, last, m = _decode_block(buf, at, end, count, tail, last, n_masks, counts, kept, gaps,
                                codes, tfs, field_lengths.shape[0], kd, kcode, kstart, out_fields)
    if at < 0:
        return at, last, 0
    _score_run(0, m, kd, kcode, kstart, tfs, np.int64(0), n_terms, t_field, t_off, t_w, t_a, t_c,
               field_lengths, k1, model, out_scores)
    for i in range(m):
        out_docids[i] = kd[i]
    return at, last, m


@njit(cache=True, nogil=True)
def _scratch():
    return (np.empty(BLOCK, np.uint32), np.zeros(BLOCK, np.uint32), np.empty(BLOCK * 16, np.uint32),
            np.empty(BLOCK, np.float64), np.empty(BLOCK, np.int32), np.empty(BLOCK, np.int64),
            np.empty(BLOCK, np.int64))


@njit(cache=True, nogil=True)
def list_block_meta(data, starts, lens, dfs, sel, field_lengths, weights, norm_a, norm_c, k1, model):
    """Block data of the lists ``data[starts[i]:starts[i]+lens[i]]`` (``dfs[i]`` postings):
    ``(block_offsets int64[L+1], pos int64[B], last int32[B], bound float32[B], ok)``: per block,
    its first byte relative to the list, its last docid and its largest score before idf
    (postings of fields ``sel``), rounded up to float32."""
    L = starts.shape[0]
    boff = np.zeros(L + 1, np.int64)
    for i in range(L):
        boff[i + 1] = boff[i] + n_blocks_of(dfs[i])
    B = boff[L]
    pos = np.empty(B, np.int64)
    lastd = np.empty(B, np.int32)
    bound = np.empty(B, np.float32)
    gaps, codes, tfs, _vals, kd, kcode, kstart = _scratch()
    od = np.empty(BLOCK, np.int32)
    osc = np.empty(BLOCK, np.float64)
    of = np.empty(BLOCK, np.uint16)
    for i in range(L):
        a = starts[i]
        end = a + lens[i]
        n = dfs[i]
        table, at = _read_mask_table(data, a, end)
        if at < 0:
            return boff, pos, lastd, bound, False
        n_masks = table.size
        counts, kept = _code_tables(table, sel)
        n_terms, t_field, t_off, t_w, t_a, t_c = _term_tables(table, kept, weights, norm_a, norm_c)
        last = np.int64(-1)
        tail = n % BLOCK == 1
        nb = n_blocks_of(n)
        for b in range(nb):
            g = boff[i] + b
            pos[g] = at - a
            count = min(BLOCK, n - b * BLOCK)
            at, last, m = _score_block(data, at, end, count, tail and b == nb - 1, last, n_masks, counts,
                                       kept, gaps, codes, tfs, kd, kcode, kstart, n_terms, t_field, t_off,
                                       t_w, t_a, t_c, field_lengths, k1, model, od, osc, of)
            if at < 0:
                return boff, pos, lastd, bound, False
            best = 0.0
            for r in range(m):
                best = max(best, osc[r])
            f = np.float32(best)
            if np.float64(f) < best:           # an upper bound stays one after rounding
                f = np.nextafter(f, np.float32(np.inf))
            bound[g] = f
            lastd[g] = np.int32(last)
        if at != end:
            return boff, pos, lastd, bound, False
    return boff, pos, lastd, bound, True


@njit(cache=True, nogil=True)
def candidate_postings(data, lstart, llen, ldf, bfirst, bpos, blast, cands, n_docs):
    """The postings of the sorted, distinct documents ``cands`` in T bit-packed lists, decoding only
    the 128-posting blocks whose docid range holds one of them (list t is
    ``data[lstart[t]:lstart[t]+llen[t]]`` with ``ldf[t]`` postings; its blocks are
    ``bfirst[t]:bfirst[t+1]`` of ``bpos``, first byte relative to the list, and ``blast``, last
    docid: ``blocks.bin``'s data, as block-max search reads it). Returns ``(offsets int64[T+1],
    docids int32, masks uint16, tfs uint32, n_decoded, status)``: list t's postings of candidates at
    ``offsets[t]:offsets[t+1]``, in CSR as :func:`candidate_features` reads them, the same postings
    a whole decode of each list gives for those documents; status 0, or CORRUPT (damaged bytes, or
    a block whose last docid disagrees with ``blast``)."""
    T = lstart.shape[0]
    C = cands.shape[0]
    offsets = np.zeros(T + 1, np.int64)
    out_d = np.empty(T * C, np.int32)
    out_m = np.empty(T * C, np.uint16)
    out_tf = np.empty(T * C * 16, np.uint32)
    gaps, codes, tfs, _vals, kd, kcode, kstart = _scratch()
    kd32 = np.empty(BLOCK, np.int32)
    kf = np.empty(BLOCK, np.uint16)
    n_out = 0
    n_tf = 0
    n_dec = 0
    for t in range(T):
        a = lstart[t]
        end = a + llen[t]
        n = ldf[t]
        table, at = _read_mask_table(data, a, end)
        if at < 0:
            return offsets, out_d[:0], out_m[:0], out_tf[:0], n_dec, CORRUPT
        counts, kept = _code_tables(table, np.int64(0xFFFF))
        b0 = bfirst[t]
        nb = bfirst[t + 1] - b0
        ci = 0
        b = 0
        while ci < C and b < nb:
            g = b0 + b
            if blast[g] < cands[ci]:            # no candidate in this block
                b += 1
                continue
            count = min(BLOCK, n - b * BLOCK)
            tail = (n % BLOCK == 1) and b == nb - 1
            before = np.int64(-1) if b == 0 else np.int64(blast[g - 1])
            at, last, m = _decode_block(data, a + bpos[g], end, count, tail, before, table.size, counts, kept,
                                        gaps, codes, tfs, n_docs, kd32, kcode, kstart, kf)
            if at < 0 or last != blast[g]:
                return offsets, out_d[:0], out_m[:0], out_tf[:0], n_dec, CORRUPT
            n_dec += 1
            i = 0
            while i < m and ci < C:
                d = kd32[i]
                if d < cands[ci]:
                    i += 1
                elif d > cands[ci]:
                    ci += 1
                else:
                    c = kcode[i]
                    out_d[n_out] = d
                    out_m[n_out] = table[c]
                    s = kstart[i]
                    for j in range(counts[c]):
                        out_tf[n_tf + j] = tfs[s + j]
                    n_tf += counts[c]
                    n_out += 1
                    i += 1
                    ci += 1
            while ci < C and cands[ci] <= blast[g]:
                ci += 1
            b += 1
        offsets[t + 1] = n_out
    return offsets, out_d[:n_out], out_m[:n_out], out_tf[:n_tf], n_dec, 0


_NONE_I64 = np.zeros(0, np.int64)
_NONE_I32 = np.zeros(0, np.int32)
_NONE_F64 = np.zeros(0, np.float64)
_NO_BYTES = _ro(np.zeros(0, np.uint8))
_NO_LENGTHS = _ro(np.zeros((2, 2), np.uint32, order="F"))   # (Fortran order, as a format 8 index's:
#                                                         one routine compiled for both kinds)


def blockmax_topk(k, data, lstart, llen, ldf, bfirst, bpos, blast, bbound, idf, sel,
                  field_lengths, weights, norm_a, norm_c, k1, model, excluded, prior, prior_max):
    """Exact top-k of the disjunction of T bit-packed lists by block-max MaxScore.

    List t is ``data[lstart[t]:lstart[t]+llen[t]]`` with ``ldf[t]`` postings; its blocks are
    ``bfirst[t]:bfirst[t+1]`` of ``bpos`` (first byte, relative to the list), ``blast`` (last
    docid, int32) and ``bbound`` (score bound before idf, float32, for field selection ``sel[t]``
    or a wider one). :func:`_disjunction_topk` over cursors that decode a block only when they
    must look inside it. ``excluded`` (sorted) never match; ``prior[d]`` (empty: none; <=
    prior_max) is added to every matching document. Returns ``(docids, scores, field masks,
    n_scored, n_decoded, status)`` best first, ties by docid; status 0, or CORRUPT (damaged bytes,
    docid past the last document). (A Python function: the one compiled kernel is the routine.)
    """
    T = len(lstart)
    data = _ro(data)
    upper = np.empty(T, np.float64)
    counts, kept, tab_off, n_terms, t_field, t_off, t_w, t_a, t_c, ubound, ok = _list_tables(
        data, lstart, llen, sel, idf, bfirst, bbound, upper, weights, norm_a, norm_c)
    if not ok:
        return _NONE_I64, _NONE_F64, _NONE_I64, 0, 0, CORRUPT
    starts = np.arange(0, T * BLOCK, BLOCK, dtype=np.int64)   # list t's decoded block: t*BLOCK..
    return _disjunction_topk(int(k), 1, idf, upper, starts, starts.copy(), np.empty(T * BLOCK, np.int32),
                             np.empty(T * BLOCK, np.float64), np.empty(T * BLOCK, np.uint16), _NONE_I64,
                             _NONE_F64, data, lstart, llen, ldf, bfirst, bpos, blast, ubound, counts, kept,
                             tab_off, n_terms, t_field, t_off, t_w, t_a, t_c, _ro(field_lengths), float(k1),
                             int(model), excluded, _ro(prior), float(prior_max))


def maxscore_topk(k, starts, ends, docids, scores, fields, bstarts, bmax, idf, upper, excluded, prior,
                  prior_max):
    """Exact top-k of a disjunction of pre-scored lists (``_maxscore_kernels``'s arenas: term t
    owns postings ``starts[t]:ends[t]`` of ``docids``, ``scores`` (before idf) and ``fields``; its
    block maxima start at ``bmax[bstarts[t]]``, one per ``_maxscore_kernels.BLOCK`` postings;
    ``upper[t]`` bounds ``idf[t] * scores[p]`` over its list): :func:`_disjunction_topk` over
    cursors that are positions in the arenas. Returns ``(docids, scores, field masks, n_scored)``
    best first, ties by docid ascending."""
    docs, top_scores, masks, n_scored, _n_dec, _st = _disjunction_topk(
        int(k), 0, idf, upper, starts, ends, docids, scores, fields, bstarts, bmax, _NO_BYTES, _NONE_I64,
        _NONE_I64, _NONE_I64, _NONE_I64, _NONE_I64, _NONE_I32, _NONE_F64, _NONE_I64, _NONE_I64, _NONE_I64,
        _NONE_I64, _NONE_I64, _NONE_I64, _NONE_F64, _NONE_F64, _NONE_F64, _NO_LENGTHS, 0.0, 0, excluded,
        _ro(prior), float(prior_max))
    return docs, top_scores, masks, n_scored


@njit(cache=True, nogil=True)
def _list_tables(data, lstart, llen, sel, idf, bfirst, bbound, upper, weights, norm_a, norm_c):
    """Per bit-packed list, for each code of its mask table the tfs it carries, its fields kept by
    the selection and the terms a posting with it adds (``_prescore_kernels._term_tables``),
    concatenated: list t's codes at ``tab_off[t]:tab_off[t+1]``, a code's terms at ``code * 16``;
    and the bounds after idf of its blocks (``ubound``) and of the whole list (into ``upper``):
    ``(counts, kept, tab_off, n_terms, t_field, t_off, t_w, t_a, t_c, ubound, ok)``."""
    T = lstart.shape[0]
    tab_off = np.zeros(T + 1, np.int64)
    for t in range(T):
        table, at = _read_mask_table(data, lstart[t], lstart[t] + llen[t])
        if at < 0:
            none = np.empty(0, np.float64)
            return tab_off, tab_off, tab_off, tab_off, tab_off, tab_off, none, none, none, none, False
        tab_off[t + 1] = tab_off[t] + table.size
    n = tab_off[T]
    counts = np.empty(n, np.int64)
    kept = np.empty(n, np.int64)
    n_terms = np.empty(n, np.int64)
    t_field = np.empty(n * 16, np.int64)
    t_off = np.empty(n * 16, np.int64)
    t_w = np.empty(n * 16, np.float64)
    t_a = np.empty(n * 16, np.float64)
    t_c = np.empty(n * 16, np.float64)
    ubound = np.empty(bbound.shape[0], np.float64)   # idf * block bound, inflated
    for t in range(T):
        table, at = _read_mask_table(data, lstart[t], lstart[t] + llen[t])
        c, kk = _code_tables(table, sel[t])
        nt, tf_, to_, tw_, ta_, tc_ = _term_tables(table, kk, weights, norm_a, norm_c)
        o = tab_off[t]
        for i in range(table.size):
            counts[o + i] = c[i]
            kept[o + i] = kk[i]
            n_terms[o + i] = nt[i]
        for i in range(table.size * 16):
            t_field[o * 16 + i] = tf_[i]
            t_off[o * 16 + i] = to_[i]
            t_w[o * 16 + i] = tw_[i]
            t_a[o * 16 + i] = ta_[i]
            t_c[o * 16 + i] = tc_[i]
        upper[t] = 0.0
        for g in range(bfirst[t], bfirst[t + 1]):
            ubound[g] = idf[t] * np.float64(bbound[g]) * (1.0 + 1e-5) + 1e-12
            upper[t] = max(upper[t], ubound[g])
    return counts, kept, tab_off, n_terms, t_field, t_off, t_w, t_a, t_c, ubound, True


@njit(cache=True, nogil=True, error_model="numpy")
def _disjunction_topk(k, kind, idf, upper, starts, ends, cd, cs, cf, bstarts, bmax, data, lstart, llen,
                      ldf, bfirst, bpos, blast, ubound, counts, kept, tab_off, n_terms, t_field, t_off, t_w,
                      t_a, t_c, field_lengths, k1, model, excluded, prior, prior_max):
    """Exact top-k of a disjunction of T lists by MaxScore (Turtle & Flood 1995), the essential
    lists added up a window of WINDOW docids at a time (as Lucene's MaxScoreBulkScorer), with the
    block-max refinement of Ding & Suel (2011) for the lists it only probes.

    Two kinds of cursor, one algorithm. ``kind`` 0: pre-scored lists, list t is positions
    ``starts[t]:ends[t]`` of ``cd`` (docids), ``cs`` (scores before idf) and ``cf`` (field masks),
    its blocks of ``_maxscore_kernels.BLOCK`` postings bounded by ``bmax[bstarts[t] + b]``.
    ``kind`` 1: bit-packed lists (see :func:`blockmax_topk`; their mask tables from
    :func:`_list_tables`), list t's decoded block held at ``starts[t]:`` of the same arrays
    (:func:`_seek`), its blocks' last docids ``blast`` and bounds after idf ``ubound`` at
    ``bfirst[t]:bfirst[t+1]``, scored lazily (a whole block when the
    window walks it, one posting when a probe lands on it). ``upper[t]`` bounds list t.

    Lists sorted by bound; once the k-th best score exceeds the summed bounds of the weakest,
    those become non-essential (kind 0 starts from a threshold, :func:`_seed_threshold`). A document the window finds is dropped if its essential sum plus
    the bounds of the blocks of the non-essential lists that could hold it cannot reach the k-th
    score, else those lists are probed, strongest first, stopping as soon as it cannot; a document
    that gets through is scored exactly: terms in index order (kind 0 finds the essential terms'
    scores again in the arenas, kind 1 keeps them from the window: its blocks are gone). Returns
    ``(docids, scores, field masks, n_scored, n_decoded, status)`` best first, ties by docid;
    status 0 or CORRUPT.
    """
    fail = (np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64), 0, 0, CORRUPT)
    T = idf.shape[0]
    n_docs = field_lengths.shape[0]
    has_prior = prior.shape[0] > 0
    pmax = prior_max if has_prior else 0.0
    order = np.arange(T)                       # by bound, ascending (stable)
    _insertion_sort_by(order, upper)
    cum = np.empty(T, np.float64)
    s = 0.0
    for i in range(T):
        s += upper[order[i]]
        cum[i] = s * (1.0 + _SLACK)
    # --- cursors: a position ci[t] in cd/cs/cf, the end of what is there hi[t], its docid ------
    ci = starts.copy()
    hi = ends.copy()
    cur = np.full(T, _NO_DOC, np.int64)        # each cursor's docid (_NO_DOC: exhausted)
    sb = np.zeros(T, np.int64)                 # shallow cursor: the block a document may be in
    full = np.ones(T, np.bool_)                # every posting of the cursor's block scored?
    cb = np.full(T, -1, np.int64)              # kind 1: the block decoded (relative), -1: none
    n1 = T if kind == 1 else 0                 # kind 1: each decoded block's mask codes,
    bmk = np.empty(n1 * BLOCK, np.int64)
    bst = np.empty(n1 * BLOCK, np.int64)       # where each posting's tfs start,
    btf = np.empty((n1, BLOCK * 16), np.uint32)  # and the tfs
    gaps, codes, _tfs, _vals, _kd, _kmask, _kstart = _scratch()
    n_decoded = 0
    hs = np.empty(max(k, 1), np.float64)
    hd = np.empty(max(k, 1), np.int64)
    hf = np.zeros(max(k, 1), np.int64)
    size = np.int64(0)
    threshold = -np.inf
    floor = -np.inf                            # kind 0: real documents' k-th best score
    if kind == 0 and 0 < k <= SEED_MAX_K and T > 1 and np.sum(ends - starts) >= SEED_MIN_POSTINGS:
        floor = threshold = _seed_threshold(k, order, starts, ends, cd, cs, bstarts, bmax, idf, excluded,
                                            prior)
    first = 0 if k > 0 else T                  # lists order[first:] are essential
    while first < T and (cum[first] + pmax) * (1.0 + _SLACK) < threshold:
        first += 1
    essential = np.zeros(T, np.bool_)
    wval = np.empty((n1, WINDOW), np.float64)  # kind 1: a window's essential contributions, per
    wfld = np.zeros((n1, WINDOW), np.uint16)   # term, and their fields (0: the term is not there)
    ecur = starts.copy()                       # kind 0: where they are found again (exact scores)
    acc = np.zeros(WINDOW, np.float64)         # their sums, by docid - base
    seen = np.zeros(WINDOW, np.int64)
    touched = np.empty(WINDOW + 1, np.int64)   # the window's documents (docid - base) ...
    cand = np.empty(WINDOW, np.int64)          # ... those that might make the top k
    contrib = np.zeros(T, np.float64)
    cfield = np.zeros(T, np.int64)
    hit = np.zeros(T, np.bool_)
    rest = np.zeros(T + 1, np.float64)         # rest[i]: block bounds of lists order[:i] ...
    nend = np.int64(-1)                        # ... valid for documents up to nend
    ex = 0
    n_ex = excluded.shape[0]
    n_scored = 0
    for t in range(T):                         # every cursor to its first posting
        if kind == 0:
            if ci[t] < hi[t]:
                cur[t] = cd[ci[t]]
        else:
            cur[t], st = _seek(t, np.int64(-1), data, lstart, llen, ldf, bfirst, bpos, blast,
                               counts, kept, tab_off, starts, cb, ci, hi, full, cd, cs, cf, bmk, bst, btf,
                               gaps, codes, n_docs)
            if st < 0:
                return fail
            n_decoded += st
    while first < T:
        base = _NO_DOC
        for i in range(first, T):
            base = min(base, cur[order[i]])
        if base == _NO_DOC:
            break
        top = base + WINDOW
        n = 0
        for i in range(T):
            essential[order[i]] = i >= first
        for i in range(first, T):              # the essential lists' postings in the window
            t = order[i]                       # (branch-free: these branches are coin flips)
            w = idf[t]
            while cur[t] < top:
                if not full[t]:                # the window reads every score of the block
                    a = starts[t]
                    _score_run(a, hi[t] - a, cd, bmk, bst, btf[t], tab_off[t], n_terms, t_field, t_off,
                               t_w, t_a, t_c, field_lengths, k1, model, cs)
                    full[t] = True
                q = ci[t]
                e = hi[t]
                if kind == 0:                  # (kept in the arenas: found again when scored)
                    while q < e and cd[q] < top:
                        j = cd[q] - base
                        acc[j] += w * cs[q]
                        touched[n] = j
                        n += 1 - seen[j]
                        seen[j] = 1
                        q += 1
                else:                          # (the block will be gone: kept by the window)
                    while q < e and cd[q] < top:
                        j = cd[q] - base
                        c = w * cs[q]
                        acc[j] += c
                        wval[t, j] = c
                        wfld[t, j] = cf[q]
                        touched[n] = j
                        n += 1 - seen[j]
                        seen[j] = 1
                        q += 1
                ci[t] = q
                if q < e:
                    cur[t] = cd[q]
                    break
                if kind == 0:                  # the list is used up
                    cur[t] = _NO_DOC
                    break
                last = np.int64(blast[bfirst[t] + cb[t]])   # the block is used up: the next one
                cur[t], st = _seek(t, last, data, lstart, llen, ldf, bfirst, bpos, blast, counts,
                                   kept, tab_off, starts, cb, ci, hi, full, cd, cs, cf, bmk, bst, btf, gaps,
                                   codes, n_docs)
                if st < 0:
                    return fail
                n_decoded += st
        fw = first                             # the window's non-essential lists: order[:fw]
        others = cum[fw - 1] + pmax if fw > 0 else pmax
        m = np.int64(0)
        for c_ in range(n):                    # not even with every other list at its bound?
            j = touched[c_]
            keep = np.int64((acc[j] + others) * (1.0 + _SLACK) >= threshold)
            cand[m] = j
            m += keep
            seen[j] = keep                     # (seen now marks the candidates)
        if m <= 32:                            # in docid order: a few sorted runs ...
            _insertion_sort(cand, m)
            for c_ in range(m):
                seen[cand[c_]] = 0
        else:                                  # ... or read off the window
            m = np.int64(0)
            for j in range(WINDOW):
                cand[m] = j
                m += seen[j]
                seen[j] = 0
        for c_ in range(m):
            j = cand[c_]
            partial = acc[j]
            d = base + j
            while ex < n_ex and excluded[ex] < d:
                ex += 1
            if ex < n_ex and excluded[ex] == d:
                continue
            if (partial + others) * (1.0 + _SLACK) < threshold:
                continue                       # not even with every other list at its bound
            pd = prior[d] if has_prior else 0.0
            if fw > 0 and d > nend:            # block bounds of the non-essential lists at d
                nend = _block_bounds(d, fw, order, kind, sb, starts, ends, cd, bstarts, bmax, idf, upper,
                                     bfirst, blast, ubound, rest)
            pruned = False
            for i in range(fw - 1, -1, -1):
                if (partial + rest[i + 1] + pd) * (1.0 + _SLACK) < threshold:
                    pruned = True
                    break
                t = order[i]
                if cur[t] < d:
                    if kind == 0:              # galloping within the block that holds d
                        lo = min(max(ci[t], starts[t] + sb[t] * SCORE_BLOCK), ends[t])
                        p = lo
                        if lo < ends[t] and cd[lo] < d:
                            p = _gallop(cd, lo, min(starts[t] + (sb[t] + 1) * SCORE_BLOCK, ends[t]), d)
                        ci[t] = p
                        cur[t] = cd[p] if p < ends[t] else _NO_DOC
                    else:
                        q = ci[t]              # within the decoded block: no call
                        while q < hi[t] and cd[q] < d:
                            q += 1
                        if q < hi[t]:
                            ci[t] = q
                            cur[t] = cd[q]
                        else:
                            cur[t], st = _seek(t, d - 1, data, lstart, llen, ldf, bfirst, bpos, blast,
                                               counts, kept, tab_off, starts, cb, ci, hi, full,
                                               cd, cs, cf, bmk, bst, btf, gaps, codes, n_docs)
                            if st < 0:
                                return fail
                            n_decoded += st
                if cur[t] == d:                # a probe scores just the posting it lands on
                    q = ci[t]
                    sc = cs[q]
                    if sc < 0.0:
                        sc = _posting_score(cd[q], tab_off[t] + bmk[q], bst[q], btf[t], n_terms, t_field,
                                            t_off, t_w, t_a, t_c, field_lengths, k1, model)
                        cs[q] = sc
                    cc = idf[t] * sc
                    contrib[t] = cc
                    cfield[t] = np.int64(cf[q])
                    hit[t] = True
                    partial += cc
            if not pruned and fw == 0 and (partial + pd) * (1.0 + _SLACK) < threshold:
                pruned = True
            if not pruned:
                total = 0.0                    # exact: terms in index order
                fm = np.int64(0)
                for t in range(T):
                    if essential[t] and kind == 0:
                        p = ecur[t]
                        if p < ends[t] and cd[p] < d:
                            p = _gallop(cd, p, ends[t], d)
                            ecur[t] = p
                        if p < ends[t] and cd[p] == d:
                            total += idf[t] * cs[p]
                            fm |= np.int64(cf[p])
                    elif essential[t]:
                        f_ = np.int64(wfld[t, j])
                        if f_ != 0:
                            total += wval[t, j]
                            fm |= f_
                    elif hit[t]:
                        total += contrib[t]
                        fm |= cfield[t]
                if has_prior:
                    total += pd
                n_scored += 1
                # documents come in docid order: a tie never displaces the root (offer's rule)
                size = offer(hs, hd, hf, size, k, total, d, fm)
                if size == k:
                    threshold = max(hs[0], floor)
            for i in range(fw):
                hit[order[i]] = False
        for c_ in range(n):                    # the window's state back to zero
            j = touched[c_]
            acc[j] = 0.0
            for i in range(fw, n1):
                wfld[order[i], j] = 0
        while first < T and (cum[first] + pmax) * (1.0 + _SLACK) < threshold:
            first += 1
            nend = -1
    docs, top_scores, masks = heap_sorted(hs, hd, hf, size)
    return docs, top_scores, masks, n_scored, n_decoded, 0


@njit(cache=True, nogil=True)
def _seed_threshold(k, order, starts, ends, cd, cs, bstarts, bmax, idf, excluded, prior):
    """A first threshold for a pre-scored disjunction: the k-th best exact score (terms in index
    order, then the prior: the kernel's own sum) of the distinct documents, not excluded, among
    the ``SEED_PER_K * k`` best postings of each of the ``SEED_LISTS`` strongest lists (``order``:
    lists by bound, ascending); -inf if fewer than k. At least k real documents score that much,
    so the top k's k-th score is no lower and pruning below it loses none of them (ties survive:
    the kernel prunes only what is strictly below). Without it the threshold climbs from -inf as
    the window walks the lists from docid 0, and every list stays essential meanwhile."""
    T = starts.shape[0]
    m = SEED_PER_K * k
    n_lists = min(SEED_LISTS, T)
    cand = np.empty(n_lists * m, np.int64)
    bs = np.empty(m, np.float64)
    bp = np.empty(m, np.int64)
    nc = 0
    for i in range(T - 1, T - 1 - n_lists, -1):
        t = order[i]
        _best_postings(starts[t], ends[t], cs, bstarts[t], bmax, bs, bp)
        for j in range(m):
            if bp[j] >= 0:
                cand[nc] = cd[bp[j]]
                nc += 1
    if nc < k:
        return -np.inf
    _insertion_sort(cand, nc)
    at = starts.copy()                         # each list's cursor (candidates ascend)
    totals = np.empty(nc, np.float64)
    n = np.int64(0)
    prev = np.int64(-1)
    ex = 0
    for i in range(nc):
        d = cand[i]
        if d == prev:
            continue
        prev = d
        while ex < excluded.shape[0] and excluded[ex] < d:
            ex += 1
        if ex < excluded.shape[0] and excluded[ex] == d:
            continue
        total = 0.0
        for t in range(T):
            p = _gallop(cd, at[t], ends[t], d)
            at[t] = p
            if p < ends[t] and cd[p] == d:
                total += idf[t] * cs[p]
        if prior.shape[0] > 0:
            total += prior[d]
        totals[n] = total
        n += 1
    if n < k:
        return -np.inf
    _insertion_sort(totals, n)
    return totals[n - k]


@njit(cache=True, nogil=True)
def _best_postings(lo, hi, cs, b0, bmax, bs, bp):
    """The ``len(bs)`` best scores of ``cs[lo:hi]``, best first, into ``bs`` and their positions
    into ``bp`` (-1 where the list has fewer), reading only the blocks (of SCORE_BLOCK postings,
    maxima ``bmax[b0:]``) that could add one."""
    m = bs.shape[0]
    nb = (hi - lo + SCORE_BLOCK - 1) // SCORE_BLOCK
    for j in range(m):
        bs[j] = -1.0
    for g in range(nb):                        # the m-th best block maximum: m postings (one a
        v = bmax[b0 + g]                       # block) score that much, so a block below it
        if v > bs[m - 1]:                      # cannot add one
            j = m - 1
            while j > 0 and bs[j - 1] < v:
                bs[j] = bs[j - 1]
                j -= 1
            bs[j] = v
    below = bs[m - 1] if nb > m else -1.0
    for j in range(m):
        bs[j] = -1.0
        bp[j] = -1
    for g in range(nb):
        if bmax[b0 + g] < below or bmax[b0 + g] <= bs[m - 1]:
            continue
        for p in range(lo + g * SCORE_BLOCK, min(lo + (g + 1) * SCORE_BLOCK, hi)):
            v = cs[p]
            if v > bs[m - 1]:
                j = m - 1
                while j > 0 and bs[j - 1] < v:
                    bs[j] = bs[j - 1]
                    bp[j] = bp[j - 1]
                    j -= 1
                bs[j] = v
                bp[j] = p


@njit(cache=True, nogil=True)
def _insertion_sort_by(order, keys):
    """Sort the indices ``order`` by ``keys[order]`` ascending, stably (T is small: no numpy
    argsort, whose compile costs seconds)."""
    for i in range(1, order.shape[0]):
        v = order[i]
        j = i - 1
        while j >= 0 and keys[order[j]] > keys[v]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = v


@njit(cache=True, nogil=True)
def _block_bounds(d, fw, order, kind, sb, starts, ends, cd, bstarts, bmax, idf, upper, bfirst, blast,
                  ubound, rest):
    """Bounds of the non-essential lists ``order[:fw]`` at document ``d`` from the blocks that
    could hold it, found without decoding (0 for a list that has passed d: for good): ``rest[i]``
    sums those of ``order[:i]``. Returns the last document they hold for (where the first of
    those blocks ends)."""
    until = _NO_DOC
    for i in range(fw):
        t = order[i]
        b = sb[t]
        bound = 0.0
        if kind == 0:                          # blocks of SCORE_BLOCK postings in the arenas
            nb = (ends[t] - starts[t] + SCORE_BLOCK - 1) // SCORE_BLOCK
            while b < nb and cd[min(starts[t] + (b + 1) * SCORE_BLOCK, ends[t]) - 1] < d:
                b += 1
            if b < nb:
                bound = min(idf[t] * bmax[bstarts[t] + b] * (1.0 + _SLACK), upper[t])
                until = min(until, np.int64(cd[min(starts[t] + (b + 1) * SCORE_BLOCK, ends[t]) - 1]))
        else:                                  # blocks.bin's blocks
            g0 = bfirst[t]
            nb = bfirst[t + 1] - g0
            while b < nb and blast[g0 + b] < d:
                b += 1
            if b < nb:
                bound = ubound[g0 + b]
                until = min(until, np.int64(blast[g0 + b]))
        sb[t] = b
        rest[i + 1] = rest[i] + bound
    return until


@njit(cache=True, nogil=True, inline="always")
def _seek(t, d, data, lstart, llen, ldf, bfirst, bpos, blast, counts, kept, tab_off, starts, cb,
          ci, hi, full, cd, cs, cf, bmk, bst, btf, gaps, codes, n_docs):
    """Move bit-packed list t's cursor to its first kept posting with docid > ``d``, skipping
    whole blocks by their last docid and decoding only the block it lands in, into
    ``starts[t]:hi[t]`` of cd/cf/bmk/bst (its scores are left for the caller to compute: ``cs``
    -1.0, ``full[t]`` False). Returns ``(docid, n)``: the docid (_NO_DOC when the list is done)
    and the blocks decoded (CORRUPT if damaged). Inlined where used (numba's IR inlining), and
    :func:`_decode_block` into it: a call took a reference to each of its two dozen arrays (and
    the views made for the decoder), NRT_incref/decref ~12 % of the block-max kernel's samples."""
    nb = bfirst[t + 1] - bfirst[t]
    b = cb[t]
    a = starts[t]
    if b >= 0:                                 # within the decoded block?
        i = ci[t]
        while i < hi[t] and cd[i] <= d:
            i += 1
        ci[t] = i
        if i < hi[t]:
            return np.int64(cd[i]), 0
        b += 1
    else:
        b = 0
    n_dec = 0
    while True:
        while b < nb and blast[bfirst[t] + b] <= d:
            b += 1
        if b >= nb:
            cb[t] = nb
            ci[t] = a
            hi[t] = a
            return _NO_DOC, n_dec
        g = bfirst[t] + b
        n = ldf[t]
        count = min(BLOCK, n - b * BLOCK)
        tail = (n % BLOCK == 1) and b == nb - 1
        before = np.int64(-1) if b == 0 else np.int64(blast[g - 1])
        o = tab_off[t]
        o1 = tab_off[t + 1]
        at, _last, m = _decode_block(data, lstart[t] + bpos[g], lstart[t] + llen[t], count, tail, before,
                                     o1 - o, counts[o:o1], kept[o:o1], gaps, codes, btf[t],
                                     n_docs, cd[a:a + BLOCK], bmk[a:a + BLOCK], bst[a:a + BLOCK],
                                     cf[a:a + BLOCK])
        if at < 0 or _last != blast[g]:
            return _NO_DOC, CORRUPT
        n_dec += 1
        cb[t] = b
        hi[t] = a + m
        full[t] = False
        for i in range(a, a + m):
            cs[i] = -1.0
        i = a
        while i < a + m and cd[i] <= d:
            i += 1
        ci[t] = i
        if i < a + m:
            return np.int64(cd[i]), n_dec
        b += 1
