"""merge: defragment block segments into one index by a k-way heap merge of their dictionaries.

Blocks cover consecutive docid ranges in dump order, so a term's merged postings are its block
lists shifted by each block's first docid and concatenated; the redirect-alias postings (docids
anywhere) are merged in by docid. Output is streamed term by term: memory holds one term's postings,
the dictionaries and the per-document arrays, never the whole postings file.
"""
from __future__ import annotations

import heapq
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from . import _merge_kernels as MK
from .config import N_FIELDS, RankConfig
from .container import write_container
from .invert import Postings
from .segment import DocTable, SegmentReader, TermWriter, pack_strings, write_docs


CHUNK_ENTRIES = 1 << 16      # (term, source) pairs gathered per kernel call
CHUNK_BYTES = 32 << 20       # encoded input bytes per kernel call (bounds merge memory)


def _block_stream(reader: SegmentReader, source: int, batch_blocks: int):
    for term, _ordinal, df, start, plen in reader.iter_terms(batch_blocks):
        yield term, source, df, start, plen


def _alias_stream(alias: Postings, source: int):
    for t, term in enumerate(alias.terms):
        yield term, source, t, 0, 0


def merge_postings(readers: list[SegmentReader], doc_bases: list[int], alias: Postings | None,
                   alias_docids: np.ndarray | None, out_dir: Path, codec: str,
                   field_lengths: np.ndarray, rank: RankConfig, progress=None,
                   chunk_bytes: int = CHUNK_BYTES) -> dict:
    """Write ``terms.bin`` and ``postings.bin`` of the merged index into ``out_dir``.

    The dictionaries are merged by a k-way heap merge (``heapq.merge``) of the sorted term
    streams; postings are moved in chunks of terms by numba kernels (decode, shift, concatenate,
    fold in aliases, bound, encode), so memory holds one chunk, never the whole index.
    """
    avg = field_lengths.mean(axis=0) if len(field_lengths) else np.zeros(N_FIELDS)
    ctx = _MergeContext(readers, doc_bases, alias, alias_docids, codec, field_lengths,
                        np.ascontiguousarray(avg, np.float64), rank)
    writer = TermWriter(out_dir, codec)
    # each stream decodes its dictionary in batches: ~64k terms in flight over all of them
    batch = max(1, 2048 // max(1, len(readers)))
    streams = [_block_stream(r, i, batch) for i, r in enumerate(readers)]
    if alias is not None:
        streams.append(_alias_stream(alias, len(readers)))
    chunk: list[tuple] = []
    nbytes = 0
    for item in heapq.merge(*streams):
        if chunk and item[0] != chunk[-1][0] and (len(chunk) >= CHUNK_ENTRIES or nbytes >= chunk_bytes):
            ctx.flush(chunk, writer)
            if progress is not None:
                progress.update(len(chunk))
            chunk, nbytes = [], 0
        chunk.append(item)
        nbytes += item[4]
    if chunk:
        ctx.flush(chunk, writer)
        if progress is not None:
            progress.update(len(chunk))
    stats = writer.close()
    stats["avg_field_lengths"] = avg.tolist()
    stats["field_postings"] = ctx.field_postings.tolist()
    return stats


class _MergeContext:
    """What every chunk of the merge needs: sources, statistics and ranking settings."""

    def __init__(self, readers, doc_bases, alias, alias_docids, codec, field_lengths, avg, rank):
        self.readers, self.alias, self.alias_docids = readers, alias, alias_docids
        self.doc_bases = np.asarray(doc_bases, np.int64)
        self.codec_id = MK.VARBYTE if codec == "varbyte" else MK.BITPACKED
        self.field_lengths = np.ascontiguousarray(field_lengths, np.uint32)
        self.avg = avg
        self.weights = np.asarray(rank.weights, np.float64)
        self.b = np.asarray(rank.b, np.float64)
        self.k1 = float(rank.k1)
        self.field_postings = np.zeros(N_FIELDS, np.int64)

    def flush(self, chunk: list[tuple], writer: TermWriter) -> None:
        terms, e_term, block_items, alias_items = [], [], [], []
        for term, src, a, b, c in chunk:
            if not terms or terms[-1] != term:
                terms.append(term)
            if src < len(self.readers):
                block_items.append((src, a, b, c))
                e_term.append(len(terms) - 1)
            else:
                alias_items.append((len(terms) - 1, a))
        po, d, m, to, t = self._gather(block_items, np.asarray(e_term, np.int64), len(terms))
        if alias_items:
            po, d, m, to, t = MK.merge_alias_chunk(po, d, m, to, t, *self._alias_csr(alias_items, len(terms)))
        bounds = MK.bounds_csr(po, d, m, to, t, self.field_lengths, self.avg, self.weights, self.b,
                               self.k1, self.field_postings)
        writer.add_many(terms, po, d, m, t, bounds)

    def _gather(self, items, e_term, n_terms):
        """Copy the chunk's encoded lists into one buffer and decode them in one kernel call."""
        pieces, starts, dfs, bases, pos = [], [], [], [], 0
        by_src: dict[int, list] = {}
        for i, (src, df, start, plen) in enumerate(items):
            by_src.setdefault(src, []).append(i)
        starts = np.zeros(len(items), np.int64)
        for src, idx in by_src.items():
            r = self.readers[src]
            lo = items[idx[0]][2]
            hi = items[idx[-1]][2] + items[idx[-1]][3]
            pieces.append(r.post_c.read("data", lo, hi))
            for i in idx:
                starts[i] = pos + items[i][2] - lo
            pos += hi - lo
        buf = np.concatenate(pieces) if pieces else np.zeros(0, np.uint8)
        dfs = np.asarray([it[1] for it in items], np.int64)
        bases = self.doc_bases[np.asarray([it[0] for it in items], np.int64)].astype(np.int32) \
            if items else np.zeros(0, np.int32)
        n_postings = int(dfs.sum())
        out = MK.gather_chunk(self.codec_id, buf, starts, dfs, bases, e_term, n_terms, n_postings,
                              N_FIELDS * n_postings)
        if out[0].shape[0] == 0:
            from .errors import CorruptIndexError
            raise CorruptIndexError(self.readers[items[0][0]].post_c.path, "undecodable postings during merge")
        return out

    def _alias_csr(self, alias_items, n_terms):
        apo = np.zeros(n_terms + 1, np.int64)
        ato = np.zeros(n_terms + 1, np.int64)
        ds, ms, ts = [], [], []
        for k, ordinal in alias_items:
            d, m, t = self.alias.term_postings(ordinal)
            ds.append(self.alias_docids[d].astype(np.int32))
            ms.append(m)
            ts.append(t)
            apo[k + 1] = len(d)
            ato[k + 1] = len(t)
        np.cumsum(apo, out=apo)
        np.cumsum(ato, out=ato)
        return apo, np.concatenate(ds), np.concatenate(ms), ato, np.concatenate(ts)


def merge_docs(readers: list[SegmentReader], aliases: list[list[str]], alias_lengths: np.ndarray,
               inlinks: np.ndarray) -> DocTable:
    """Concatenate the blocks' document tables, adding redirect aliases and in-link counts."""
    page_ids = np.concatenate([r.page_ids for r in readers]) if readers else np.zeros(0, np.int64)
    lengths = np.concatenate([np.asarray(r.field_lengths) for r in readers]) if readers else \
        np.zeros((0, N_FIELDS), np.uint32)
    lengths = lengths.astype(np.uint32, copy=True)
    lengths[:, 1] = alias_lengths
    titles = [t for r in readers for t in r.titles()]
    return DocTable(page_ids, titles, lengths, aliases, inlinks.astype(np.uint32))


def merge_stores(readers: list[SegmentReader], path: Path) -> None:
    """Concatenate the blocks' stores: per-document records, so block cuts leave no trace."""
    offsets, crcs, datas, base = [np.zeros(1, np.uint64)], [], [], 0
    for r in readers:
        s = r.store_c
        o = np.asarray(s["doc_offsets"], np.uint64)
        offsets.append(o[1:] + np.uint64(base))
        crcs.append(np.asarray(s["doc_crc"], np.uint32))
        datas.append(np.asarray(s["data"]))
        base += int(o[-1])
    write_container(path, b"STOR", {
        "doc_offsets": np.concatenate(offsets),
        "doc_crc": np.concatenate(crcs) if crcs else np.zeros(0, np.uint32),
        "data": np.concatenate(datas) if datas else np.zeros(0, np.uint8),
    }, meta={"n_docs": int(sum(r.n_docs for r in readers)), "compression": "zlib"})


def title_order(titles: list[str]) -> np.ndarray:
    """Docids sorted by title (UTF-8 byte order), for title lookups by binary search."""
    return np.asarray(sorted(range(len(titles)), key=titles.__getitem__), np.int32)


def write_merged_docs(path: Path, docs: DocTable) -> None:
    write_docs(path, docs)


def file_checksums(directory: Path, names: list[str]) -> dict:
    out = {}
    for name in names:
        p = directory / name
        crc = 0
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                crc = zlib.crc32(chunk, crc)
        out[name] = {"bytes": p.stat().st_size, "crc32": f"{crc:08x}"}
    return out


__all__ = ["merge_postings", "merge_docs", "merge_stores", "title_order", "file_checksums",
           "pack_strings"]
