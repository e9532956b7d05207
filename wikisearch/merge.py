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

from . import _invert_kernels as K
from .config import N_FIELDS, RankConfig
from .container import write_container
from .invert import Postings
from .segment import DocTable, SegmentReader, TermWriter, pack_strings, write_docs


def _term_stream(terms: list[str], source: int) -> Iterator[tuple[str, int, int]]:
    for ordinal, term in enumerate(terms):
        yield term, source, ordinal


def merge_postings(readers: list[SegmentReader], doc_bases: list[int], alias: Postings | None,
                   alias_docids: np.ndarray | None, out_dir: Path, codec: str,
                   field_lengths: np.ndarray, rank: RankConfig, progress=None) -> dict:
    """Write ``terms.bin`` and ``postings.bin`` of the merged index into ``out_dir``."""
    avg = field_lengths.mean(axis=0) if len(field_lengths) else np.zeros(N_FIELDS)
    avg = np.ascontiguousarray(avg, np.float64)
    weights = np.asarray(rank.weights, np.float64)
    bs = np.asarray(rank.b, np.float64)
    writer = TermWriter(out_dir, codec)
    field_postings = np.zeros(N_FIELDS, np.int64)
    streams = [_term_stream(r.terms(), i) for i, r in enumerate(readers)]
    alias_src = len(readers)
    if alias is not None:
        streams.append(_term_stream(alias.terms, alias_src))
    current, parts = None, []
    for term, src, ordinal in heapq.merge(*streams):
        if term != current:
            if current is not None:
                _write_term(writer, current, parts, field_lengths, avg, weights, bs, rank.k1, field_postings)
            current, parts = term, []
        if src == alias_src:
            d, m, t = alias.term_postings(ordinal)
            parts.append((alias_docids[d].astype(np.int32), m, t, True))
        else:
            d, m, t = readers[src].postings(ordinal)
            parts.append((d + np.int32(doc_bases[src]), m, t, False))
        if progress is not None:
            progress.update(1)
    if current is not None:
        _write_term(writer, current, parts, field_lengths, avg, weights, bs, rank.k1, field_postings)
    stats = writer.close()
    stats["avg_field_lengths"] = avg.tolist()
    stats["field_postings"] = field_postings.tolist()
    return stats


def _write_term(writer, term, parts, field_lengths, avg, weights, bs, k1, field_postings) -> None:
    block_parts = [p for p in parts if not p[3]]
    if len(block_parts) == 1:
        d, m, t = block_parts[0][:3]
    elif block_parts:
        d = np.concatenate([p[0] for p in block_parts])
        m = np.concatenate([p[1] for p in block_parts])
        t = np.concatenate([p[2] for p in block_parts])
    else:
        d, m, t = np.zeros(0, np.int32), np.zeros(0, np.uint16), np.zeros(0, np.uint32)
    for p in parts:
        if p[3]:
            d, m, t = K.merge_two(d, m, t, p[0], p[1], p[2])
    bound = K.bm25f_bound(d, m, t, field_lengths, avg, weights, bs, k1, field_postings)
    writer.add(term, d, m, t, bound)


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
