"""merge: defragment block segments into one index by a k-way heap merge of their dictionaries.

Blocks cover consecutive docid ranges in dump order, so a term's merged postings are its block
lists shifted by each block's first docid and concatenated; the redirect-alias postings (a segment
of their own, global docids) are merged in by docid.

The term space is cut into ranges of about equal postings bytes (:func:`plan_ranges`); each range
is merged by :func:`merge_range`, a pure function of (segment files, range, settings) -> a *part*
(postings bytes + dictionary arrays), so ranges run in parallel on any executor;
:func:`~wikisearch.index.segment.assemble_parts` joins the parts. Within a range the dictionaries are
read in windows and merged by a numba heap (``_merge_kernels.merge_runs``); postings move in
chunks (decode, shift, concatenate, fold in aliases, encode), so memory holds a window of
each dictionary and one chunk of postings, never the whole index.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from wikisearch.config import N_FIELDS
from wikisearch.errors import CorruptIndexError
from wikisearch.jit import interpreted, readonly
from wikisearch.index import _merge_kernels as MK
from wikisearch.index import _termdict_kernels as TK
from wikisearch.index import pycodec
from wikisearch.index.codec import get_codec
from wikisearch.index.segment import SegmentReader, TermWriter
from wikisearch.index.termdict import TERM_BLOCK

#: The merge kernels run as Python here (``jit.interpreted``): the bit-packed lists are gathered
#: by ``pycodec.gather_bitpacked`` and the windows merged by :func:`merge_runs_python`, the same
#: arrays many times faster than the kernels as Python.
_PYTHON_GATHER = interpreted(MK.__name__)


def count_field_postings_numpy(masks, field_postings) -> None:
    """``_merge_kernels.count_field_postings`` in numpy (the kernel as Python: a loop per posting)."""
    bits = np.arange(field_postings.shape[0])
    field_postings += (np.asarray(masks, np.int64)[:, None] >> bits & 1).sum(axis=0, dtype=np.int64)


def merge_runs_python(blob, offs, run_lo, run_hi, run_final):
    """``_merge_kernels.merge_runs`` by sorting: every entry whose term is at most the smallest
    last term of a non-final window (the heap emits exactly those), in (term, run) order.
    ``(order, new_term, taken)`` as the kernel gives them (tests/test_merge.py compares)."""
    raw, o = memoryview(np.ascontiguousarray(blob, np.uint8)).cast("B"), np.asarray(offs).tolist()
    lo, hi = np.asarray(run_lo).tolist(), np.asarray(run_hi).tolist()
    terms = [bytes(raw[o[i]:o[i + 1]]) for i in range(len(o) - 1)]
    lasts = [terms[b - 1] for a, b, final in zip(lo, hi, np.asarray(run_final).tolist()) if not final and b > a]
    cut = min(lasts) if lasts else None
    entries = sorted((terms[i], r, i) for r in range(len(lo)) for i in range(lo[r], hi[r])
                     if cut is None or terms[i] <= cut)
    order = np.fromiter((e[2] for e in entries), np.int64, len(entries))
    new_term = np.ones(len(entries), np.bool_)
    new_term[1:] = [entries[k][0] != entries[k - 1][0] for k in range(1, len(entries))]
    taken = np.bincount(np.fromiter((e[1] for e in entries), np.int64, len(entries)),
                        minlength=len(lo)).astype(np.int64)
    return order, new_term, taken


CHUNK_ENTRIES = 1 << 16      # (term, source) entries gathered per kernel call
CHUNK_BYTES = 32 << 20       # encoded input bytes per kernel call (bounds merge memory)
WINDOW_BLOCKS = 64           # dictionary blocks (of 32 terms) decoded at a time per source, at most
WINDOW_TERMS = 1 << 18       # dictionary entries in flight over all sources (bounds merge memory)
# (1 << 16 left three 32-term blocks per source at ~550 blocks, the full-scale build's count,
# and each merge step walks every source in Python: 582 blocks of 1x merged 125 -> 62 CPU-s at
# 1 << 18, +25 MB; 1 << 20: 42 CPU-s, +103 MB; the same bytes. 73 blocks: 4.9 CPU-s)


def plan_ranges(readers: list[SegmentReader], n_parts: int) -> list[tuple[bytes | None, bytes | None]]:
    """Cut the term space into ``<= n_parts`` ranges ``[lo, hi)`` (UTF-8 bytes; None: open end)
    holding about equal postings bytes, judged from each dictionary block's first term and size."""
    if n_parts <= 1:
        return [(None, None)]
    terms: list[bytes] = []
    weights: list[int] = []
    for r in readers:
        first, sizes = r.terms.first_terms()
        terms.extend(first)
        weights.extend(sizes)
    if not terms:
        return [(None, None)]
    order = sorted(range(len(terms)), key=terms.__getitem__)
    cum = np.cumsum(np.asarray([weights[i] for i in order], np.float64))
    splits: list[bytes] = []
    for p in range(1, n_parts):
        i = min(int(np.searchsorted(cum, cum[-1] * p / n_parts)), len(order) - 1)
        t = terms[order[i]]
        if not splits or t > splits[-1]:
            splits.append(t)
    bounds: list = [None] + splits + [None]
    return list(zip(bounds[:-1], bounds[1:]))


def plan_ranges_of(segment_dirs: list[str], n_parts: int) -> list[tuple[bytes | None, bytes | None]]:
    """:func:`plan_ranges` of the segments in these directories."""
    readers = [SegmentReader(p, verify=False, sparse=True, store=False) for p in segment_dirs]
    try:
        return plan_ranges(readers, n_parts)
    finally:
        for r in readers:
            r.close()


def merge_range(job: dict) -> dict:
    """Merge the terms in ``[job["lo"], job["hi"])`` of all sources into a part at ``job["out"]``.

    ``job``: ``blocks`` (block segment dirs, docid order), ``doc_bases``, ``aliases`` (segment
    dirs of the redirect-alias postings, global docids, in docid order; or ``alias``: one dir or
    None), ``codec``, ``lo``/``hi`` (bytes or None), ``out``,
    ``chunk_bytes``.
    Returns the part's stats, with ``entries`` (dictionary entries read) and ``field_postings``.
    """
    out = Path(job["out"])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    release_free_memory()
    # (store=False: the postings merge reads no stored text; build._merge joins the stores)
    sources = [SegmentReader(p, verify=False, sparse=True, store=False) for p in job["blocks"]]
    alias_src = len(sources)        # the alias segments come after the blocks
    aliases = list(job.get("aliases") or ([job["alias"]] if job.get("alias") else []))
    for a in aliases:
        sources.append(SegmentReader(a, verify=False, sparse=True, store=False))
    try:
        ctx = _MergeContext(sources, list(job["doc_bases"]) + [0] * len(aliases), alias_src, job["codec"])
        writer = TermWriter(out, job["codec"])
        entries = 0
        for chunk in _chunks(sources, job["lo"], job["hi"], int(job["chunk_bytes"])):
            ctx.flush(chunk, writer)
            entries += len(chunk["src"])
        stats = writer.finish_part()
    finally:
        for s in sources:
            s.close()
    stats["entries"] = entries
    stats["field_postings"] = ctx.field_postings.tolist()
    return stats


def warmup() -> None:
    """Load (or compile) the merge's kernels on tiny inputs."""
    blob = np.frombuffer(b"ab", np.uint8).copy()
    offs = np.asarray([0, 1, 2], np.int64)
    MK.merge_runs(blob, offs, np.asarray([0, 1], np.int64), np.asarray([1, 2], np.int64),
                  np.asarray([True, True]))
    MK.gather_terms(blob, offs, np.asarray([1], np.int64))
    d, m, t = np.asarray([0], np.int32), np.asarray([1], np.uint16), np.asarray([1], np.uint32)
    po = np.asarray([0, 1], np.int64)
    for codec_id, name in ((MK.VARBYTE, "varbyte"), (MK.BITPACKED, "bitpacked")):
        data, _ = get_codec(name).encode_lists(po, d, m, t)
        data = np.frombuffer(data.tobytes(), np.uint8)     # read-only, as _gather passes it
        MK.gather_chunk(codec_id, data, np.zeros(1, np.int64), np.ones(1, np.int64),
                        np.zeros(1, np.int32), np.zeros(1, np.int64), 1, 1, N_FIELDS)
    MK.merge_alias_chunk(po, d, m, po, t, po, d, m, po, t)
    MK.count_field_postings(m, np.zeros(N_FIELDS, np.int64))
    # dictionaries as read with pread: read-only arrays
    d_blob, d_offs, d_post = TK.encode_dictionary(blob, offs, np.ones(2, np.int64), np.ones(2, np.int64))
    ro = [np.frombuffer(a.tobytes(), a.dtype) for a in (d_blob, d_offs, d_post)]
    TK.block_first_terms(ro[0], ro[1])
    TK.decode_blocks(ro[0], ro[1] - 0, ro[2], 0, 1, 2)


def release_free_memory() -> None:
    """Hand the heap that a worker freed after its blocks back to the system (glibc keeps it
    otherwise, and the merge would come on top of it in the worker's resident memory)."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to do
        pass


class _Window:
    """The decoded, not yet merged part of one source's dictionary in a range of ordinals."""

    def __init__(self, reader: SegmentReader, source: int, lo: bytes | None, hi: bytes | None,
                 blocks: int):
        self.reader = reader
        self.source = source                          # its number among the merge's sources
        self.blocks = blocks                          # dictionary blocks a window holds, at most
        self.next = reader.terms.ordinal_at_or_after(lo, 0)             # first not yet decoded
        self.end = reader.terms.ordinal_at_or_after(hi, reader.n_terms)
        self.tb, self.to = np.zeros(0, np.uint8), np.zeros(1, np.int64)
        self.df = self.start = self.plen = np.zeros(0, np.int64)
        self.pos = 0
        self.fill()

    def fill(self) -> None:
        """Decode the blocks after the last one decoded until the window holds ``blocks`` blocks'
        entries (at least one block more), after the entries it still holds."""
        r, tb = self.reader, TERM_BLOCK
        more = max(1, self.blocks - self.left // tb)
        stop = min(self.end, (self.next // tb + more) * tb)
        if stop <= self.next:
            return
        b0, b1 = self.next // tb, -(-stop // tb)
        # Sources are sparse readers (pread, not the mmap): a merge walks every block's dictionary,
        # and mapped pages would stay in the process's resident set (500 MB at 16x the 30k corpus).
        t_bytes, t_offs, dfs, starts, lens = r.terms.read_blocks(b0, b1)
        a, b = self.next - b0 * tb, stop - b0 * tb
        p, to = self.pos, self.to
        kept = to[-1] - to[p]
        self.tb = np.concatenate([self.tb[to[p]:to[-1]], t_bytes[t_offs[a]:t_offs[b]]])
        self.to = np.concatenate([to[p:] - to[p], t_offs[a + 1:b + 1] - t_offs[a] + kept])
        self.df = np.concatenate([self.df[p:], dfs[a:b]])
        self.start = np.concatenate([self.start[p:], starts[a:b]])
        self.plen = np.concatenate([self.plen[p:], lens[a:b]])
        self.pos = 0
        self.next = stop

    @property
    def final(self) -> bool:
        return self.next >= self.end

    @property
    def left(self) -> int:
        return len(self.df) - self.pos

    @property
    def low(self) -> bool:
        """Holds less than half its blocks and has more to decode: topped up after a step."""
        return not self.final and self.left < self.blocks * TERM_BLOCK // 2


def _chunks(sources: list[SegmentReader], lo: bytes | None, hi: bytes | None, chunk_bytes: int):
    """Yield the merged dictionary entries of ``[lo, hi)`` in chunks that end at term boundaries:
    dicts of arrays ``src, df, start, plen, term`` (term number within the chunk) and the chunk's
    ``term_bytes``/``term_lengths``."""
    blocks = max(1, min(WINDOW_BLOCKS, WINDOW_TERMS // TERM_BLOCK // max(1, len(sources))))
    windows = [_Window(s, i, lo, hi, blocks) for i, s in enumerate(sources)]
    pending: list[dict] = []
    n_pending = b_pending = 0
    while True:
        live = [w for w in windows if w.left > 0]
        if not live:
            break
        # one table of every window's unmerged entries; run r = live[r]
        blobs, offs, los, his, finals, n, base = [], [np.zeros(1, np.int64)], [], [], [], 0, 0
        for w in live:
            a, b = w.to[w.pos], w.to[-1]
            blobs.append(w.tb[a:b])
            offs.append(w.to[w.pos + 1:] - a + base)
            los.append(n)
            n += w.left
            his.append(n)
            finals.append(w.final)
            base += b - a
        blob, off = np.concatenate(blobs), np.concatenate(offs)
        merge = merge_runs_python if _PYTHON_GATHER else MK.merge_runs
        order, new_term, taken = merge(blob, off, np.asarray(los, np.int64),
                                       np.asarray(his, np.int64), np.asarray(finals, np.bool_))
        # entry e of the table is entry e - los[r] + pos of window r: gather the columns by order
        run = np.repeat(np.arange(len(live)), np.asarray(his) - np.asarray(los))[order]
        cols = {"src": np.asarray([w.source for w in live], np.int64)[run]}
        for name in ("df", "start", "plen"):
            cols[name] = np.concatenate([getattr(w, name)[w.pos:] for w in live])[order]
        term_bytes, term_lengths = MK.gather_terms(blob, off, order[new_term])
        cols["term"] = np.cumsum(new_term) - 1
        cols["term_bytes"], cols["term_lengths"] = term_bytes, term_lengths
        for r, w in enumerate(live):
            w.pos += int(taken[r])
            # every low window is topped up, not only the drained ones: windows refilled one at a
            # time hold staggered ranges, and each step could merge little more than one window
            # (2 % of the entries in flight over 106 sources) while copying all of them
            if w.low:
                w.fill()
        for piece in _split(cols, chunk_bytes):
            pending.append(piece)
            n_pending += len(piece["src"])
            b_pending += int(piece["plen"].sum())
            if n_pending >= CHUNK_ENTRIES or b_pending >= chunk_bytes:
                yield _join(pending)
                pending, n_pending, b_pending = [], 0, 0
    if pending:
        yield _join(pending)


def _split(cols: dict, chunk_bytes: int):
    """Cut one step's entries into pieces of at most ~CHUNK_ENTRIES entries / chunk_bytes bytes,
    at term boundaries (a single term larger than that is one piece)."""
    n = len(cols["src"])
    cum = np.cumsum(cols["plen"])
    term = cols["term"]
    t_off = np.zeros(len(cols["term_lengths"]) + 1, np.int64)
    np.cumsum(cols["term_lengths"], out=t_off[1:])
    first_entry = np.searchsorted(term, np.arange(len(t_off)))  # entry index where term t starts
    a = 0
    while a < n:
        done = cum[a - 1] if a else 0
        b = min(n, a + CHUNK_ENTRIES, int(np.searchsorted(cum, done + chunk_bytes, "right")))
        b = max(b, a + 1)
        if b < n and term[b] == term[b - 1]:   # move the cut to a term boundary
            b = int(first_entry[term[b] + 1]) if first_entry[term[b]] <= a else int(first_entry[term[b]])
        t0, t1 = int(term[a]), int(term[b - 1]) + 1
        yield {"src": cols["src"][a:b], "df": cols["df"][a:b], "start": cols["start"][a:b],
               "plen": cols["plen"][a:b], "term": term[a:b] - t0,
               "term_bytes": cols["term_bytes"][t_off[t0]:t_off[t1]],
               "term_lengths": cols["term_lengths"][t0:t1]}
        a = b


def _join(pieces: list[dict]) -> dict:
    if len(pieces) == 1:
        return pieces[0]
    out = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0] if k != "term"}
    terms, shift = [], 0
    for p in pieces:
        terms.append(p["term"] + shift)
        shift += len(p["term_lengths"])
    out["term"] = np.concatenate(terms)
    return out


class _MergeContext:
    """What every chunk of the merge needs: the sources, and the postings counted per field."""

    def __init__(self, sources, doc_bases, alias_src, codec):
        """``alias_src``: the first of the alias segments (sources from it on, in docid order)."""
        self.sources, self.alias_src = sources, alias_src
        self.doc_bases = np.asarray(doc_bases, np.int64)
        self.codec_id = MK.VARBYTE if codec == "varbyte" else MK.BITPACKED
        self.field_postings = np.zeros(N_FIELDS, np.int64)

    def flush(self, c: dict, writer: TermWriter) -> None:
        n_terms = len(c["term_lengths"])
        is_alias = c["src"] >= self.alias_src
        blk = ~is_alias
        po, d, m, to, t = self._gather(c, blk, n_terms)
        if is_alias.any():
            po, d, m, to, t = MK.merge_alias_chunk(po, d, m, to, t, *self._gather(c, is_alias, n_terms))
        (count_field_postings_numpy if _PYTHON_GATHER else MK.count_field_postings)(m, self.field_postings)
        writer.add_encoded(c["term_bytes"], c["term_lengths"], po, d, m, t)

    def _gather(self, c: dict, sel: np.ndarray, n_terms: int):
        """Copy the selected entries' encoded lists into one buffer and decode them in one call."""
        src, dfs, starts, plens = c["src"][sel], c["df"][sel], c["start"][sel], c["plen"][sel]
        new_starts = np.empty(len(src), np.int64)
        pieces, pos = [], 0
        for s in np.unique(src).tolist():
            idx = np.flatnonzero(src == s)   # ascending terms: ascending, adjacent byte ranges
            lo = int(starts[idx[0]])
            hi = int(starts[idx[-1]] + plens[idx[-1]])
            pieces.append(self.sources[s].post_c.read("data", lo, hi))
            new_starts[idx] = starts[idx] - lo + pos
            pos += hi - lo
        buf = readonly(np.concatenate(pieces) if pieces else np.zeros(0, np.uint8))   # as mapped
        bases = self.doc_bases[src].astype(np.int32)
        n_postings = int(dfs.sum())
        if self.codec_id == MK.BITPACKED and _PYTHON_GATHER:    # the kernels as Python: its own path
            out = pycodec.gather_bitpacked(buf, new_starts, dfs, bases, c["term"][sel].astype(np.int64),
                                           n_terms, n_postings, N_FIELDS * n_postings)
        else:
            out = MK.gather_chunk(self.codec_id, buf, new_starts, dfs, bases, c["term"][sel].astype(np.int64),
                                  n_terms, n_postings, N_FIELDS * n_postings)
        if out[0].shape[0] == 0:
            raise CorruptIndexError(self.sources[int(src[0])].post_c.path, "undecodable postings during merge")
        return out


__all__ = ["plan_ranges", "plan_ranges_of", "merge_range",
           "warmup", "release_free_memory"]
