"""blockmax: first-sight plain-OR queries answered from the bit-packed lists themselves, a block
of 128 postings decoded only when a document that might enter the top k falls in it
(``_blockmax_kernels``), and the per-block data of ``blocks.bin`` that makes it possible.

The bounds in ``blocks.bin`` hold for the index's own ranking settings (and any field selection,
weights being non-negative); a query with other settings takes the exact path of the searcher.
"""
from __future__ import annotations

import numpy as np

from wikisearch.config import RankConfig
from wikisearch.errors import CorruptIndexError
from wikisearch.index.blockmax import BlockMaxima
from wikisearch.index.termdict import TERM_BLOCK
from wikisearch.search import _blockmax_kernels as BK
from wikisearch.jit import readonly
from wikisearch.search.rank import field_mask, idf as idf_of, kernel_lengths, kernel_params

ALL_FIELDS = np.int64(field_mask(None))
_BATCH_BLOCKS = 512                    # dictionary blocks read at a time when building (the
#: decoder's outputs for a batch take ~15 KB a block at their peak: 4096 took 61 MB, session 12)
#: Block entries whose data (24 bytes each) a searcher keeps between queries, for the lists that
#: recur in queries (their place in postings.bin, idf and blocks: no per-query lookups).
_BLOCKS_KEPT = 1 << 20


def block_maxima_of(segment, field_lengths: np.ndarray, avg_field_lengths, rank: RankConfig,
                    chunk_bytes: int = 32 << 20) -> dict:
    """The arrays of ``blocks.bin`` for a merged segment (a SegmentReader) whose documents have
    ``field_lengths``: every list longer than one block, bounds under ``rank``. Empty for a
    codec other than bit-packed.

    The lists are read from ``postings.bin`` with pread in runs of about ``chunk_bytes`` (a
    longer list alone), never mapped: a build's main process would otherwise keep every page of
    the postings it walked resident (2.4 GB at 1.5 billion postings)."""
    empty = {"terms": np.zeros(0, np.int64), "block_offsets": np.zeros(1, np.int64),
             "pos": np.zeros(0, np.int64), "last": np.zeros(0, np.int32), "bound": np.zeros(0, np.float32),
             "rank": rank.to_json()}
    if segment.codec_name != "bitpacked":
        return empty
    terms, starts, lens, dfs = [], [], [], []
    d = segment.terms
    for b0 in range(0, d.n_blocks, _BATCH_BLOCKS):
        _tb, _to, df, st, ln = d.read_blocks(b0, min(d.n_blocks, b0 + _BATCH_BLOCKS))
        long = np.flatnonzero(df > BK.ONE_BLOCK)
        terms.append(long + b0 * TERM_BLOCK)
        starts.append(st[long])
        lens.append(ln[long])
        dfs.append(df[long])
    if not terms:
        return empty
    terms, starts, lens, dfs = (np.concatenate(x).astype(np.int64) for x in (terms, starts, lens, dfs))
    w, a, c, k1, model = kernel_params(rank, avg_field_lengths)
    lengths = readonly(kernel_lengths(field_lengths))
    boffs = [np.zeros(1, np.int64)]
    pos, last, bound = [np.zeros(0, np.int64)], [np.zeros(0, np.int32)], [np.zeros(0, np.float32)]
    ends = starts + lens
    if np.any(starts[1:] < ends[:-1]):
        raise CorruptIndexError(segment.terms_c.path, "postings lists out of order in the dictionary")
    i, n = 0, len(terms)
    while i < n:        # lists i..j-1: one pread of their bytes (ascending and back to back)
        j = max(i + 1, int(np.searchsorted(ends, starts[i] + chunk_bytes, "right")))
        lo, hi = int(starts[i]), int(ends[j - 1])
        data = segment.post_c.read("data", lo, hi)
        boff, p, la, bo, ok = BK.list_block_meta(data, starts[i:j] - lo, lens[i:j], dfs[i:j], ALL_FIELDS,
                                                 lengths, w, a, c, k1, model)
        if not ok:
            raise CorruptIndexError(segment.post_c.path, "undecodable postings while computing block maxima")
        boffs.append(boff[1:] + boffs[-1][-1])
        pos.append(p)
        last.append(la)
        bound.append(bo)
        del data
        i = j
    return {"terms": terms, "block_offsets": np.concatenate(boffs), "pos": np.concatenate(pos),
            "last": np.concatenate(last), "bound": np.concatenate(bound), "rank": rank.to_json()}


class BlockMaxSearch:
    """The block-max path of one searcher: eligible when the query ranks with the index's own
    settings over a bit-packed index that has ``blocks.bin``."""

    def __init__(self, reader, maxima: BlockMaxima, field_lengths: np.ndarray):
        self.reader = reader
        self.maxima = maxima
        self.rank = RankConfig.from_json(maxima.rank)
        self.field_lengths = readonly(field_lengths)
        self._lists: dict = {}                 # ordinal -> (start, length, df, idf, pos, last, bound)
        self._kept = 0                         # block entries in it
        self._same = self.rank                 # the last settings found equal to ours

    def eligible(self, rank: RankConfig) -> bool:
        if rank is self._same:                 # (the reader's own settings, asked every query:
            return True                        # comparing the dataclasses field by field costs)
        if rank == self.rank:
            self._same = rank
            return True
        return False

    def topk(self, keys, ords, params, rank: RankConfig, k: int, excluded, prior, prior_max):
        """``(docids, scores, fields)`` of the top k, as the exact paths give them."""
        w, a, c, k1, model = params
        lstart, llen, ldf, idf, bfirst, pos, last, bound = self._gather(ords, params, rank)
        sel = np.array([field_mask(fields) for _term, fields in keys], np.int64)
        docs, scores, fields, _n_scored, _n_dec, status = BK.blockmax_topk(
            k, self.reader.postings_data, lstart, llen, ldf, bfirst, pos, last, bound, idf, sel,
            self.field_lengths, w, a, c, k1, model, excluded, prior, prior_max)
        if status < 0:
            for o in ords:
                self._corrupt(o)
        return docs, scores, fields

    def candidate_postings(self, ords, cands: np.ndarray, params):
        """The postings of the sorted, distinct documents ``cands`` (int32) in the lists of terms
        ``ords``, as ``(offsets, docids, masks, tfs)`` in CSR (list t at ``offsets[t]:offsets[t+1]``):
        a whole decode of each list filtered to those documents, but only the blocks that can hold
        one are decoded (``BK.candidate_postings``), so the re-ranker's features cost what its
        candidates need, not what its terms' lists weigh. ``params``: the kernel parameters of this
        object's own settings (one-block lists' bounds are made with them and kept for search)."""
        lstart, llen, ldf, _idf, bfirst, pos, last, _bound = self._gather(ords, params, self.rank)
        offsets, docids, masks, tfs, _n_dec, status = BK.candidate_postings(
            self.reader.postings_data, lstart, llen, ldf, bfirst, pos, last,
            np.ascontiguousarray(cands, np.int32), np.int64(self.reader.n_docs))
        if status < 0:
            for o in ords:
                self._corrupt(o)
        return offsets, docids, masks, tfs

    def _gather(self, ords, params, rank: RankConfig):
        """The lists of terms ``ords`` as the kernels take them: ``(lstart, llen, ldf, idf, bfirst,
        pos, last, bound)``, list t's blocks at ``bfirst[t]:bfirst[t+1]`` of the last three."""
        T = len(ords)
        lstart = np.empty(T, np.int64)
        llen = np.empty(T, np.int64)
        ldf = np.empty(T, np.int64)
        idf = np.empty(T, np.float64)
        pos, last, bound, bfirst = [np.zeros(0, np.int64)], [np.zeros(0, np.int32)], [np.zeros(0, np.float32)], [0]
        for t, o in enumerate(ords):
            got = self._lists.get(o)
            if got is None:
                got = self._list(o, params, rank)
            lstart[t], llen[t], ldf[t], idf[t], p, la, bo = got
            pos.append(p)
            last.append(la)
            bound.append(bo)
            bfirst.append(bfirst[-1] + len(p))
        return (lstart, llen, ldf, idf, np.asarray(bfirst, np.int64), np.concatenate(pos), np.concatenate(last),
                np.concatenate(bound))

    def _list(self, o: int, params, rank: RankConfig):
        """A list's place and block data (kept for the next queries that use it: a few arrays of
        one entry per 128 postings)."""
        r, m = self.reader, self.maxima
        r.raw_postings(o)                              # verifies the block's checksum once
        e = r.terms.entry(o)
        i = m.list_of(o)
        if i < 0:                              # one block: its data made now
            w, a, c, k1, model = params
            one = np.array([e.start]), np.array([e.length]), np.array([e.df])
            _boff, p, la, bo, ok = BK.list_block_meta(r.postings_data, *one, ALL_FIELDS, self.field_lengths,
                                                      w, a, c, k1, model)
            if not ok:
                self._corrupt(o)
        else:
            p, la, bo = m.list_blocks(int(m.offsets[i]), int(m.offsets[i + 1]), i)
        got = (e.start, e.length, e.df, idf_of(r.n_docs, e.df, rank.model), np.asarray(p, np.int64), np.asarray(la, np.int32),
               np.asarray(bo, np.float32))
        if self._kept + len(p) > _BLOCKS_KEPT:    # bounded: start over
            self._lists, self._kept = {}, 0
        self._lists[o] = got
        self._kept += len(p)
        return got

    def _corrupt(self, o: int):
        """Raise the reader's own error for a list (the codec's decoder says why), or ours."""
        self.reader.postings(o)
        raise CorruptIndexError(self.reader.path, f"undecodable postings of term #{o} "
                                "(a docid past the last document, or block data that disagree)")
