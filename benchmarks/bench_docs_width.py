"""What format 9 (narrow integer columns) makes of an existing index's docs.bin and suggest.bin
(#12, #13: index size at full scale), without rebuilding it and without writing into it.

    python benchmarks/bench_docs_width.py --index IDX --work DIR [--plain-fields title,opening,...]
                                          [--check] [--out JSON]

Reads IDX's ``docs.bin`` and ``suggest.bin`` (any format: a format 8 index's full-width columns,
mapped, a piece of 65,536 documents at a time) and writes them into DIR with this tree's writers
(``segment.write_docs_columns``, the merged index's; suggest.bin's arrays at format 9's widths),
then prints the bytes of each array before and after. The files in DIR are deleted at the end
unless ``--keep``. ``--check``: every column of the new files read back equals the old one.

``--plain-fields``: also the docs.bin of a like-for-like build (the same documents as plain text,
as ``bench_full_scale.py --wikisearch-input plain`` indexes them): the same page ids, titles and
title order, no redirects, no in-links, and the lengths of the named fields only (the fields
plain text fills; the lengths are the XML index's, whose widths are what matter), the others 0.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wikisearch.config import FIELDS, N_FIELDS  # noqa: E402
from wikisearch.fileio import narrowest_uint  # noqa: E402
from wikisearch.index.container import Container, ContainerWriter  # noqa: E402
from wikisearch.index.fsst import FsstTable  # noqa: E402
from wikisearch.index.publish import resolve_index  # noqa: E402
from wikisearch.index.segment import DocColumns, SegmentReader, write_docs_columns  # noqa: E402

PIECE = 1 << 16


def sizes(path: Path) -> dict:
    """{array: bytes} of a container (from its Toc), and ``file``: its size."""
    out = _toc_sizes(path)
    out["file"] = path.stat().st_size
    return out


def _toc_sizes(path: Path) -> dict:
    raw = path.read_bytes()[:1 << 20]
    toc_len = int.from_bytes(raw[16:24], "little")
    toc = json.loads(raw[28:28 + toc_len])
    return {name: int(nbytes) for name, _dt, _shape, _off, nbytes, _crc in toc["arrays"]}


def doc_columns(r: SegmentReader, plain_fields: list[int] | None) -> DocColumns:
    """The columns of reader ``r``'s docs.bin as pieces (``plain_fields``: as a plain-text build)."""
    d = r.docs_c
    n = r.n_docs
    spans = [(a, min(n, a + PIECE)) for a in range(0, n, PIECE)]
    fl = r.field_lengths

    def lengths():
        for a, z in spans:
            p = np.asarray(fl[a:z], np.uint32)
            if plain_fields is not None:
                keep = np.zeros((z - a, N_FIELDS), np.uint32)
                keep[:, plain_fields] = p[:, plain_fields]
                p = keep
            yield p

    def titles():
        for a, z in spans:
            yield r.title_column(a, z)       # (decoded where format 10 coded them)

    def aliases():
        if plain_fields is not None:
            for a, z in spans:
                yield np.zeros(z - a + 1, np.int64), np.zeros(1, np.int64), np.zeros(0, np.uint8)
            return
        for a, z in spans:
            yield d["alias_offsets"][a:z + 1], d["alias_title_offsets"], d["alias_blob"]
    inlinks = np.zeros(n, np.uint32) if plain_fields is not None else np.asarray(r.inlinks, np.uint32)
    order = d["title_order"] if "title_order" in d.specs else None
    return DocColumns(n, lambda: (r.page_ids[a:z] for a, z in spans), lengths, titles, aliases, inlinks, order)


def rewrite_suggest(src: Path, dst: Path) -> None:
    """``src``'s suggest.bin with format 9's widths (what ``write_suggest_table`` writes of the
    same keys: the offsets at the narrowest width of the keys' bytes)."""
    c = Container(src, b"SUGG")
    try:
        w = ContainerWriter(dst, b"SUGG", meta=dict(c.meta))
        off = c["suggest_offsets"]
        w.add_chunks("suggest_offsets", narrowest_uint(int(off[-1])), off.shape,
                     lambda: (off[a:a + (1 << 20)] for a in range(0, len(off), 1 << 20)))
        for name in ("suggest_blob", "suggest_doc", "suggest_alias"):
            a = c[name]
            w.add_chunks(name, a.dtype, a.shape, lambda a=a: (a[i:i + (1 << 22)] for i in range(0, len(a), 1 << 22)))
        w.close()
    finally:
        c.close()


def check_docs(old: SegmentReader, new_path: Path, plain: bool) -> None:
    new = Container(new_path, b"DOCS")
    n = old.n_docs
    d = old.docs_c
    lengths = np.asarray(new[LENGTHS_NAME])
    kept = new.meta["length_fields"]
    for k, f in enumerate(kept):
        assert np.array_equal(lengths[k], old.field_lengths[:, f]), FIELDS[f]
    for f in range(N_FIELDS):
        if f not in kept:
            assert plain or not old.field_lengths[:, f].any(), FIELDS[f]
    assert np.array_equal(new["page_id"], old.page_ids)
    for name in ("title_offsets", "title_blob", "title_block_crc", "title_order"):
        if name in d.specs and name in new.specs:
            assert np.array_equal(new[name], d[name]), name
    if "title_codes" in new.specs:               # format 10: the titles decoded
        o, b = FsstTable(new["title_symbols"], new["title_symbol_lengths"]).decode(
            np.asarray(new["title_offsets"], np.int64), new["title_codes"])
        o0, b0 = old.title_column()
        assert np.array_equal(o, o0) and np.array_equal(b, b0), "titles"
    if not plain:
        for name in ("alias_offsets", "alias_title_offsets", "alias_blob", "alias_block_crc", "inlinks"):
            assert np.array_equal(new[name], d[name]), name
    assert int(new.meta["n_docs"]) == n
    new.close()


LENGTHS_NAME = "field_lengths_by_field"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--work", required=True, help="a scratch directory (the rewritten files go there)")
    ap.add_argument("--plain-fields", default=None,
                    help="comma-separated fields a plain-text build fills (also write its docs.bin)")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    src = resolve_index(Path(args.index))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    r = SegmentReader(src, store=False)
    print(f"{src}: {r.n_docs:,} documents, {r.docs_c.shape('alias_title_offsets')[0] - 1:,} redirects, "
          f"field lengths stored: {[FIELDS[f] for f in r.length_fields]}", flush=True)
    report = {"index": str(src), "n_docs": r.n_docs, "files": {}}
    jobs = [("docs.bin", None)]
    if args.plain_fields:
        jobs.append(("docs-plain.bin", [FIELDS.index(f) for f in args.plain_fields.split(",")]))
    for name, plain in jobs:
        t0 = time.perf_counter()
        write_docs_columns(work / name, doc_columns(r, plain))
        took = time.perf_counter() - t0
        if args.check:
            check_docs(r, work / name, plain is not None)
        report["files"][name] = {"before": sizes(src / "docs.bin"), "after": sizes(work / name), "write_s": round(took, 1)}
    if (src / "suggest.bin").exists():
        t0 = time.perf_counter()
        rewrite_suggest(src / "suggest.bin", work / "suggest.bin")
        took = time.perf_counter() - t0
        if args.check:
            a, b = Container(src / "suggest.bin", b"SUGG"), Container(work / "suggest.bin", b"SUGG")
            for k in a.specs:
                assert np.array_equal(a[k], b[k]), k
            a.close(), b.close()
        report["files"]["suggest.bin"] = {"before": sizes(src / "suggest.bin"), "after": sizes(work / "suggest.bin"),
                                          "write_s": round(took, 1)}
    r.close()
    for name, rec in report["files"].items():
        before, after = rec["before"], rec["after"]
        print(f"\n{name} (written in {rec['write_s']} s)")
        print(f"  {'array':<26}{'before MB':>12}{'after MB':>12}{'ratio':>8}")
        for k in sorted(set(before) | set(after), key=lambda k: (k == "file", -before.get(k, 0))):
            b, a = before.get(k, 0), after.get(k, 0)
            print(f"  {k:<26}{b / 1e6:>12.3f}{a / 1e6:>12.3f}{(a / b if b else float('nan')):>8.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    if not args.keep:
        for name in list(report["files"]):
            os.unlink(work / name)


if __name__ == "__main__":
    main()
