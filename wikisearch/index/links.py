"""links: redirects and links between pages -- what a block records, and what the build makes of
it once every title is known.

A block segment keeps its redirect pairs (``redirects.bin``, REDR: source title -> target title)
and the titles its pages link to with the number of linking pages (``links.bin``, LINK). After
the block phase the build resolves redirects to docids (chains followed), turns them into each
document's title aliases -- inverted into the ``redirect`` field as a segment of their own
(:func:`build_alias_segment`) -- and counts in-links per document (a link to a redirect counts
for its target).
"""
from __future__ import annotations

import collections
import shutil
from pathlib import Path

import numpy as np

from wikisearch.analysis.analyzer import Analyzer
from wikisearch.config import FIELDS, N_FIELDS
from wikisearch.fileio import pack_strings, unpack_strings, write_json_atomic
from wikisearch.index.container import Container, write_container
from wikisearch.index.invert import Postings, invert_texts
from wikisearch.index.segment import DocTable, TermWriter, write_docs


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


def read_redirects(path: Path) -> list[tuple[str, str]]:
    c = Container(path, b"REDR")
    try:
        return list(zip(unpack_strings(c["src_offsets"], c["src_blob"]),
                        unpack_strings(c["dst_offsets"], c["dst_blob"])))
    finally:
        c.close()




def resolve_redirects(redirects: list[tuple[str, str]], docid_of: dict[str, int]) -> dict[str, int]:
    """Redirect title -> target docid, following chains of redirects (up to 5 hops)."""
    next_of = dict(redirects)
    out = {}
    for src, dst in redirects:
        hops = 0
        while dst not in docid_of and dst in next_of and hops < 5:
            dst = next_of[dst]
            hops += 1
        if dst in docid_of and src not in docid_of:
            out[src] = docid_of[dst]
    return out


def build_alias_segment(aliases: list[list[str]], analyzer: Analyzer, path: str, codec: str) -> np.ndarray:
    """Invert the redirect titles (:func:`alias_postings`) into a segment at ``path``; returns
    the redirect-field length of every document."""
    alias, alias_docids, alias_lengths = alias_postings(aliases, analyzer)
    write_alias_segment(Path(path), alias, alias_docids, codec)
    return alias_lengths


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


def count_inlinks(blocks: list[Path], docid_of: dict[str, int], target_of: dict[str, int],
                  n_docs: int) -> np.ndarray:
    """Incoming-link counts per document; a link to a redirect counts for its target."""
    counts = np.zeros(n_docs, np.uint64)
    for b in blocks:
        c = Container(b / "links.bin", b"LINK")
        try:
            for title, n in zip(unpack_strings(c["title_offsets"], c["title_blob"]), c["count"].tolist()):
                d = docid_of.get(title, target_of.get(title, -1))
                if d >= 0:
                    counts[d] += n
        finally:
            c.close()
    return np.minimum(counts, np.iinfo(np.uint32).max).astype(np.uint32)
