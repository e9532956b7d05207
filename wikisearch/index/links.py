"""links: redirects and links between pages -- what a block records, and what the build makes of
it once every title is known.

A block segment keeps its redirect pairs (``redirects.bin``, REDR: source title -> target title)
and the titles its pages link to with the number of linking pages (``links.bin``, LINK). After
the block phase the build resolves redirects to docids (chains followed), turns them into each
document's title aliases -- inverted into the ``redirect`` field as a segment of their own
(:func:`build_alias_segments`) -- and counts in-links per document (a link to a redirect counts
for its target).
"""
from __future__ import annotations

import collections
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wikisearch.analysis.analyzer import Analyzer
from wikisearch.config import FIELDS, N_FIELDS
from wikisearch.fileio import pack_strings, unpack_strings, write_json_atomic
from wikisearch.index.container import Container, ContainerWriter, write_container
from wikisearch.index.invert import Postings, invert_texts
from wikisearch.index.segment import DocTable, TermWriter, joined_offsets, write_docs
from wikisearch.index.strings import StringTable


def write_links(path: Path, links: collections.Counter) -> None:
    """``links.bin``: the linked titles, sorted, with the number of pages linking to each."""
    link_titles = sorted(links)
    l_off, l_blob = pack_strings(link_titles)
    write_container(path, b"LINK", {
        "title_offsets": l_off, "title_blob": l_blob,
        "count": np.asarray([links[t] for t in link_titles], np.uint32)})


def write_redirects(path: Path, pairs: list[tuple[str, str]]) -> None:
    s_off, s_blob = pack_strings([a for a, _ in pairs])
    d_off, d_blob = pack_strings([b for _, b in pairs])
    write_container(path, b"REDR", {"src_offsets": s_off, "src_blob": s_blob,
                                 "dst_offsets": d_off, "dst_blob": d_blob})


def read_redirects(path: Path) -> tuple[StringTable, StringTable]:
    """A block's redirect pairs as two string tables (sources, targets), in page order."""
    c = Container(path, b"REDR")
    try:
        return (StringTable.from_arrays(c["src_offsets"], c["src_blob"]),
                StringTable.from_arrays(c["dst_offsets"], c["dst_blob"]))
    finally:
        c.close()


def read_redirect_sources(paths: list[Path]) -> StringTable:
    """Every block's redirect titles (sources), joined in page order, filled in place from one
    file at a time (``StringTable.fill``): never two copies of them at once."""
    n = size = 0
    for p in paths:
        c = Container(p, b"REDR")
        try:
            n += c.shape("src_offsets")[0] - 1
            size += int(c["src_offsets"][-1]) - int(c["src_offsets"][0])
        finally:
            c.close()
    return StringTable.fill(n, size, _tables(paths, "src"))


def redirect_targets(paths: list[Path]):
    """Each block's redirect targets, one table at a time, in page order (for
    :func:`resolve_redirects`, which then never holds every target title)."""
    for o, b in _tables(paths, "dst"):
        yield StringTable.from_arrays(o, b)


def _tables(paths: list[Path], name: str):
    for p in paths:
        c = Container(p, b"REDR")
        try:
            o, b = np.array(c[f"{name}_offsets"]), np.array(c[f"{name}_blob"])   # (one block's)
        finally:
            c.close()
        yield o, b
        del o, b


@dataclass
class Redirects:
    """Redirects resolved to documents, in the order a dict ``source -> docid`` filled in page
    order would list them: ``pairs`` (the pair whose source title is each one's; the titles are
    ``src.take(pairs)``, :attr:`sources`) and ``docids`` (their targets). No title is copied:
    ``src`` is every redirect pair's source title, ``pair_docs`` each pair's source title's
    target (-1: not resolved), ``src_ids`` the titles' :meth:`StringTable.sorted_ids`."""

    src: StringTable
    pairs: np.ndarray           # int64
    docids: np.ndarray          # int64
    pair_docs: np.ndarray       # int32 per pair
    src_ids: np.ndarray         # int64 per pair

    def __len__(self) -> int:
        return len(self.docids)

    @property
    def sources(self) -> StringTable:
        return self.src.take(self.pairs)

    def alias_pairs(self, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
        """Each document's redirect titles, CSR, as pair ids: (offsets uint64[n_docs + 1], the
        pairs whose source titles they are, by docid)."""
        counts = np.bincount(self.docids, minlength=n_docs) if len(self.docids) else np.zeros(n_docs, np.int64)
        offsets = np.zeros(n_docs + 1, np.uint64)
        np.cumsum(counts, out=offsets[1:])
        return offsets, self.pairs[np.argsort(self.docids, kind="stable")]

    def aliases(self, n_docs: int) -> tuple[np.ndarray, StringTable]:
        """Each document's redirect titles, CSR: (offsets uint64[n_docs + 1], titles by docid)."""
        offsets, pairs = self.alias_pairs(n_docs)
        return offsets, self.src.take(pairs)

    def find_docs(self, keys: StringTable) -> np.ndarray:
        """For each key, the document a resolved redirect of that title points to, or -1."""
        if len(self.src) == 0:
            return np.full(len(keys), -1, np.int64)
        r = self.src.find_last(keys, self.src_ids)
        return np.where(r >= 0, self.pair_docs[np.maximum(r, 0)], -1).astype(np.int64)


def resolve_redirects(titles: StringTable, title_ids: np.ndarray, src: StringTable,
                      dst: StringTable, max_hops: int = 5) -> Redirects:
    """Redirect title -> target docid, following chains of redirects (up to ``max_hops``).

    ``titles``: every document's title (docid order), ``title_ids`` their :meth:`sorted_ids`;
    ``src``/``dst``: every redirect pair in page order (``dst``: one table, or tables of
    consecutive runs of the pairs, e.g. a block's each). A redirect whose title is a document's is
    dropped; for a title redirected twice, the later resolvable pair wins but the earlier keeps
    its place. Numpy and numba over the tables; ``testing.resolve_redirects_slow`` is the dict
    version it is compared with. The build looks the titles up first (:func:`title_lookups`, a
    block at a time) and resolves without them (:func:`resolve_looked_up`): this is the two in one.
    """
    parts = [dst] if isinstance(dst, StringTable) else list(dst)
    src_is_doc = titles.find_last(src, title_ids) >= 0
    dst_doc = np.concatenate([np.zeros(0, np.int32)] +
                             [titles.find_last(p, title_ids).astype(np.int32) for p in parts])
    return resolve_looked_up(src, src_is_doc, dst_doc, iter(parts), max_hops)


def title_lookups(titles: StringTable, title_ids: np.ndarray, paths: list[Path]):
    """For every redirect pair of the blocks' ``redirects.bin`` (page order): whether its source
    is a document's title, and the document its target names (-1: none), looked up one block's
    table at a time: (bool[m], int32[m]). With the in-links' lookups (:func:`link_lookups`),
    all the build needs of the titles, which it can then drop before the redirects are resolved."""
    src_is_doc, dst_doc = [], []
    for (so, sb), (do, db) in zip(_tables(paths, "src"), _tables(paths, "dst")):
        src_is_doc.append(titles.find_last(StringTable.from_arrays(so, sb), title_ids) >= 0)
        dst_doc.append(titles.find_last(StringTable.from_arrays(do, db), title_ids).astype(np.int32))
    return (np.concatenate([np.zeros(0, bool)] + src_is_doc),
            np.concatenate([np.zeros(0, np.int32)] + dst_doc))


def _linked(block: Path) -> tuple[StringTable, np.ndarray]:
    c = Container(block / "links.bin", b"LINK")
    try:
        return (StringTable.from_arrays(c["title_offsets"], c["title_blob"]),
                np.asarray(c["count"], np.uint64))
    finally:
        c.close()


def link_lookups(blocks: list[Path], titles: StringTable, title_ids: np.ndarray, out: Path) -> list[Path]:
    """The document each block's linked titles name (-1: none), one ``.npy`` file of int32 per
    block under ``out`` (their paths), for :func:`count_inlinks` once the titles are gone."""
    paths = []
    for k, b in enumerate(blocks):
        linked, _n = _linked(b)
        paths.append(out / f"links-{k:06d}.npy")
        np.save(paths[-1], titles.find_last(linked, title_ids).astype(np.int32))
    return paths


def resolve_looked_up(src: StringTable, src_is_doc: np.ndarray, dst_doc: np.ndarray, dst,
                      max_hops: int = 5) -> Redirects:
    """:func:`resolve_redirects` with the titles looked up already (:func:`title_lookups`):
    ``src_is_doc`` and ``dst_doc`` per pair; ``dst`` the targets' tables in runs (for the chains
    through other redirects). ``dst_doc`` is taken over (changed in place)."""
    m = len(src)
    if m == 0:
        return Redirects(src, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32),
                         np.zeros(0, np.int64))
    if len(src_is_doc) != m or len(dst_doc) != m:
        raise ValueError("redirect lookups of another length than the redirects")
    # int32 ids and a bool where a value allows it, and each temporary dropped once used: this
    # runs over every redirect of the dump in the main process
    src_ids = src.sorted_ids()
    group = np.empty(m, np.int32)      # per pair, the lowest pair id with the same source
    group[src_ids] = src_ids[src.run_starts(src_ids)]
    next_pair = np.empty(m, np.int32)  # the last pair whose source is this target
    at = 0
    for part in ([dst] if isinstance(dst, StringTable) else dst):
        k = len(part)
        if at + k > m:
            raise ValueError("more redirect targets than sources")
        next_pair[at:at + k] = src.find_last(part, src_ids)
        at += k
    if at != m:
        raise ValueError("fewer redirect targets than sources")
    cur = np.arange(m, dtype=np.int32)
    for _ in range(max_hops):
        step = (dst_doc[cur] < 0) & (next_pair[cur] >= 0)
        if not step.any():
            break
        cur[step] = next_pair[cur[step]]
    del next_pair
    target = dst_doc[cur]
    del cur
    # one entry per distinct source: placed at its first resolvable pair, valued by its last
    # (per group, by ufunc.at over int32 arrays: no sort of the pairs, no int64 temporaries)
    sel = np.flatnonzero((target >= 0) & ~src_is_doc).astype(np.int32)
    g = group[sel]
    first = np.full(m, m, np.int32)
    np.minimum.at(first, g, sel)
    last = np.full(m, -1, np.int32)
    np.maximum.at(last, g, sel)
    del g, sel
    is_place = np.zeros(m, bool)
    is_place[first[first < m]] = True
    del first
    pairs = np.flatnonzero(is_place)              # the places, ascending: the entries' order
    del is_place
    docids = target[last[group[pairs]]].astype(np.int64)
    del last, target
    by_group = np.full(m, -1, np.int32)    # each source title's target, at its lowest pair id
    by_group[group[pairs]] = docids
    pair_docs = by_group[group]
    return Redirects(src, pairs, docids, pair_docs, src_ids)


def write_alias_table(path: Path, offsets: np.ndarray, titles: StringTable) -> None:
    """``aliases.bin`` (ALIA): each document's redirect titles, CSR, for the alias segment's worker."""
    write_container(path, b"ALIA", {"alias_offsets": np.asarray(offsets, np.uint64),
                                    "title_offsets": titles.offsets, "title_blob": titles.blob})


def write_alias_table_of(path: Path, redirects: Redirects, n_docs: int, chunk: int | None = None) -> None:
    """``aliases.bin`` of resolved ``redirects`` (:meth:`Redirects.aliases`), the titles
    gathered from ``redirects.src`` about ``chunk`` at a time: the bytes of
    :func:`write_alias_table` without a copy of every redirect title."""
    chunk = max(1, int(chunk or ALIAS_CHUNK))
    offsets, pairs = redirects.alias_pairs(n_docs)
    so = redirects.src.offsets
    spans = [(a, min(len(pairs), a + chunk)) for a in range(0, len(pairs), chunk)]
    size = sum(int((so[pairs[a:b] + 1] - so[pairs[a:b]]).sum()) for a, b in spans)

    def title_offsets():
        yield np.zeros(1, np.int64)
        base = 0
        for a, b in spans:
            ends = np.cumsum(so[pairs[a:b] + 1] - so[pairs[a:b]]) + base
            yield ends
            base = int(ends[-1])
    w = ContainerWriter(path, b"ALIA")
    w.add("alias_offsets", offsets)
    w.add_chunks("title_offsets", np.int64, (len(pairs) + 1,), title_offsets)
    w.add_chunks("title_blob", np.uint8, (size,), lambda: (redirects.src.take(pairs[a:b]).blob for a, b in spans))
    w.close()


def read_alias_pieces(path: Path, lo: int, hi: int, chunk: int | None = None):
    """The redirect titles of documents ``[lo, hi)`` of ``aliases.bin``, about ``chunk``
    documents at a time, read with pread: (alias offsets, title offsets, blob) each, offsets
    from 0 (what ``segment.DocColumns.aliases`` takes)."""
    chunk = max(1, int(chunk or ALIAS_CHUNK))
    c = Container(path, b"ALIA", sparse=True)
    try:
        for a in range(lo, hi, chunk):
            b = min(hi, a + chunk)
            ao = c.read("alias_offsets", 8 * a, 8 * (b + 1)).view(np.uint64).astype(np.int64)
            x, y = int(ao[0]), int(ao[-1])
            to = c.read("title_offsets", 8 * x, 8 * (y + 1)).view(np.int64)
            yield ao - x, to - to[0], c.read("title_blob", int(to[0]), int(to[-1]))
    finally:
        c.close()


def slice_alias_table(src: Path, path: Path, lo: int, hi: int) -> None:
    """``aliases.bin`` of documents ``[lo, hi)`` of ``src`` (a shard's), renumbered from 0,
    copied a piece at a time."""
    pieces = lambda: read_alias_pieces(src, lo, hi)      # noqa: E731
    n_alias = sum(int(ao[-1]) for ao, _t, _b in pieces())
    size = sum(int(to[-1]) for _a, to, _b in pieces())

    w = ContainerWriter(path, b"ALIA")
    w.add_chunks("alias_offsets", np.uint64, (hi - lo + 1,), joined_offsets(lambda: (a for a, _t, _b in pieces())))
    w.add_chunks("title_offsets", np.int64, (n_alias + 1,),
                 joined_offsets(lambda: (t for _a, t, _b in pieces()), np.int64))
    w.add_chunks("title_blob", np.uint8, (size,), lambda: (b for _a, _t, b in pieces()))
    w.close()


#: Redirect titles inverted at a time into one alias segment (:func:`build_alias_segments`): the
#: Python strings of a chunk's titles are what the alias step holds (~0.5 KB each with the
#: inversion's temporaries), so a chunk bounds it whatever the number of redirects.
ALIAS_CHUNK = 1 << 16


def build_alias_segments(alias_table: Path, analyzer: Analyzer, path: str, codec: str,
                         chunk: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Invert the redirect titles of ``aliases.bin`` into segments of consecutive documents
    holding about ``chunk`` titles each (``path``/``NNNN``; one segment when there are none), so
    that no more than a chunk of titles is ever held as Python strings. Returns the
    redirect-field length of every document and the segments' paths, in docid order. The
    merge folds every one of them in by docid: the index bytes do not depend on the chunks."""
    chunk = max(1, int(chunk or ALIAS_CHUNK))
    c = Container(Path(alias_table), b"ALIA")
    try:
        per_doc = np.asarray(c["alias_offsets"], np.int64)
        t_off, t_blob = np.asarray(c["title_offsets"], np.int64), c["title_blob"]
        n_docs = len(per_doc) - 1
        lengths = np.zeros(n_docs, np.uint32)
        out, lo = [], 0
        shutil.rmtree(path, ignore_errors=True)
        Path(path).mkdir(parents=True)
        while lo < n_docs or not out:
            # documents [lo, hi): whole documents, about ``chunk`` titles
            hi = max(lo + 1, int(np.searchsorted(per_doc, per_doc[lo] + chunk, "right")) - 1)
            hi = min(hi, n_docs)
            a, z = int(per_doc[lo]), int(per_doc[hi]) if n_docs else 0
            titles = unpack_strings(t_off[a:z + 1] - t_off[a], t_blob[int(t_off[a]):int(t_off[z])]) \
                if z > a else []
            aliases: list = [()] * (hi - lo)
            for d in np.flatnonzero(np.diff(per_doc[lo:hi + 1])).tolist():
                aliases[d] = titles[per_doc[lo + d] - a:per_doc[lo + d + 1] - a]
            seg = str(Path(path) / f"{len(out):04d}")
            alias, alias_docids, seg_lengths = alias_postings(aliases, analyzer)
            del aliases, titles
            write_alias_segment(Path(seg), alias, alias_docids + lo, codec)
            lengths[lo:hi] = seg_lengths
            out.append(seg)
            lo = hi
    finally:
        c.close()
    return lengths, out



def write_alias_segment(path: Path, alias, alias_docids: np.ndarray, codec: str) -> Path:
    """The redirect-alias postings as a segment of their own, with global docids (ascending within
    each term, as ``alias_docids`` is), so the merge reads them like a block's."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    writer = TermWriter(path, codec)
    docids = alias_docids[alias.docids].astype(np.int32) if len(alias.docids) else np.zeros(0, np.int32)
    writer.add_many(alias.terms, alias.post_offsets, docids, alias.masks, alias.tfs)
    writer.close()
    write_docs(path / "docs.bin", DocTable(np.zeros(0, np.int64), [], np.zeros((0, N_FIELDS), np.uint32)))
    write_json_atomic(path / "segment.json", {"alias": True})
    return path


def alias_postings(aliases: list[list[str]], analyzer: Analyzer):
    """Invert the redirect titles of each document into the ``redirect`` field.

    Returns (postings over a compact docid space, compact -> global docid map, redirect-field
    lengths per global doc).
    """
    with_alias = np.asarray([d for d, a in enumerate(aliases) if a], np.int32)
    if len(with_alias) == 0:   # no redirects (plain-text input): nothing to analyze
        return (Postings([], np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint16),
                         np.zeros(1, np.int64), np.zeros(0, np.uint32),
                         np.zeros((0, N_FIELDS), np.uint32)), with_alias, np.zeros(len(aliases), np.uint32))
    texts = []
    slot = FIELDS.index("redirect")
    for d in with_alias.tolist():
        row = [""] * N_FIELDS
        row[slot] = "\n".join(aliases[d])
        texts.extend(row)
    postings = invert_texts(texts, len(with_alias), analyzer)
    lengths = np.zeros(len(aliases), np.uint32)
    lengths[with_alias] = postings.field_lengths[:, slot]
    return postings, with_alias, lengths


def count_inlinks(blocks: list[Path], title_docs: list[Path], redirects: Redirects, n_docs: int) -> np.ndarray:
    """Incoming-link counts per document; a link to a redirect counts for its target.
    ``title_docs``: per block, the documents its linked titles name (:func:`link_lookups`)."""
    counts = np.zeros(n_docs, np.uint64)
    for b, docs in zip(blocks, title_docs):
        linked, n = _linked(b)
        d = np.load(docs).astype(np.int64)
        if len(d) != len(linked):
            raise ValueError(f"{docs}: {len(d)} lookups for {len(linked)} linked titles")
        miss = np.flatnonzero(d < 0)
        if len(miss) and len(redirects):
            d[miss] = redirects.find_docs(linked.take(miss))
        del linked
        hit = d >= 0
        np.add.at(counts, d[hit], n[hit])
    return np.minimum(counts, np.iinfo(np.uint32).max).astype(np.uint32)
