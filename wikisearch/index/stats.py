"""Figures about a built index (``wikisearch stats``) and a full checksum pass (``verify``)."""
from __future__ import annotations

from pathlib import Path

from wikisearch.config import FIELDS
from wikisearch.errors import CorruptIndexError
from wikisearch.index.manifest import file_checksums
from wikisearch.index.reader import IndexReader


def index_stats(path) -> dict:
    """Documents, terms, postings, sizes and per-field figures of an index, from its manifest.

    >>> index_stats("wikisearch-index")["documents"]   # doctest: +SKIP
    """
    r = IndexReader(path)
    try:
        m = r.manifest
        st = m["stats"]
        files = {name: info["bytes"] for name, info in m["files"].items()}
        # the search index; the documents' text kept beside it is counted apart: the stored text and
        # the re-ranker's forward index (each document's prose again, as term numbers)
        index_bytes = sum(b for name, b in files.items() if name not in ("store.bin", "forward.bin"))
        input_bytes = sum(i["bytes"] or 0 for i in m["inputs"])
        postings = st["n_postings"]
        return {
            "path": str(Path(path)), "documents": st["n_docs"], "terms": st["n_terms"],
            "postings": postings, "redirects": st["n_redirects"], "codec": m["codec"],
            "index_bytes": index_bytes, "store_bytes": files.get("store.bin", 0), "files": files,
            "forward_bytes": files.get("forward.bin", 0),
            "suggest_bytes": files.get("suggest.bin", 0),     # (in index_bytes: the titles' key table)
            "bits_per_posting": 8 * st["postings_bytes"] / postings if postings else 0.0,
            "index_bits_per_posting": 8 * index_bytes / postings if postings else 0.0,
            "input_bytes": input_bytes,
            "index_pct_of_input": 100.0 * index_bytes / input_bytes if input_bytes else None,
            "fields": {f: {"postings": st["field_postings"][f], "tokens": st["total_field_lengths"][f],
                           "avg_length": st["avg_field_lengths"][f]} for f in FIELDS},
            "language": m["analyzer"], "site": m["siteinfo"].get("sitename"),
            "warnings": m.get("warnings", []),
        }
    finally:
        r.close()


def format_stats(s: dict) -> str:
    pct = f"{s['index_pct_of_input']:.1f}% of the input files" if s["index_pct_of_input"] else "n/a"
    lines = [
        f"index        {s['path']}  ({s['codec']} codec)",
        f"documents    {s['documents']:,}  (+{s['redirects']:,} redirects as title aliases)",
        f"terms        {s['terms']:,}",
        f"postings     {s['postings']:,}  ({s['bits_per_posting']:.1f} bits each in postings.bin, "
        f"{s['index_bits_per_posting']:.1f} with dictionary and document table)",
        f"size         {s['index_bytes'] / 1e6:,.2f} MB ({pct}; of which title suggestions "
        f"{s.get('suggest_bytes', 0) / 1e6:,.2f} MB); stored text {s['store_bytes'] / 1e6:,.2f} MB"
        + (f"; forward index (term proximity) {s['forward_bytes'] / 1e6:,.2f} MB" if s.get("forward_bytes") else ""),
        "",
        f"{'field':<10} {'postings':>12} {'tokens':>14} {'avg length':>11}",
    ]
    for f, v in s["fields"].items():
        lines.append(f"{f:<10} {v['postings']:>12,} {v['tokens']:>14,} {v['avg_length']:>11.1f}")
    return "\n".join(lines)


def verify_index(path) -> int:
    """Check the CRC of every file and of every postings list and stored document."""
    r = IndexReader(path, verify=True)
    try:
        for t in range(r.n_terms):
            r.raw_postings(t)
        if r.store_c is not None:
            for d in range(r.n_docs):
                r.stored_doc(d)
        # the files the reader does not open (read by add-ons: suggest.bin) against the manifest
        opened = {c.path.name for c in (r.terms_c, r.post_c, r.docs_c, r.store_c) if c is not None}
        if r.block_maxima is not None:
            opened.add(r.block_maxima.c.path.name)
        files = r.manifest["files"]
        others = sorted(set(files) - opened)
        for name, found in file_checksums(r.path, others).items():
            if found != files[name]:
                raise CorruptIndexError(r.path / name, "checksum mismatch (against the manifest)",
                                        expected=files[name]["crc32"], found=found["crc32"])
        return len(r.manifest["files"]) + 1
    finally:
        r.close()
