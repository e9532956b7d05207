"""What format 10 (FSST-coded titles and columns of zeros left out in docs.bin; blocks.bin's starts
and last docids as steps, bounds as uint8 codes of a step per list) makes of an existing index
(#12, #13: index size at full scale), without rebuilding it and without writing into it.

    python benchmarks/bench_format10.py --index IDX --work DIR [--queries Q.json] [--n-queries N]
                                        [--same-as BUILT10] [--keep] [--out JSON]

Reads IDX's ``docs.bin`` and ``blocks.bin`` (format 9 or older: plain titles, ``pos`` uint32 and
``bound`` float32; a piece of 65,536 documents at a time) and writes them into DIR with this
tree's writers (``segment.write_docs_columns``, ``blockmax.write_block_maxima``), then checks
them and prints the bytes of each array before and after:

- every column of the new docs.bin reads back equal (titles decoded, piece by piece), every
  block's start and last docid equal and its bound at least the old one (the least table entry
  that is);
- DIR/index: IDX's other files linked, the two new ones and a manifest of format 10 (file sizes
  and checksums made again); exact-title lookups (every ``--lookups``-th title, and the same
  titles altered) and ``--n-queries`` queries of ``--queries`` (k = 10 and 100: docids, scores,
  titles) give the same answers from IDX and DIR/index;
- ``--same-as``: DIR's docs.bin and blocks.bin are byte for byte the ones a format 10 build of
  the same input wrote (BUILT10).

DIR's files are deleted at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_docs_width import PIECE, _toc_sizes, doc_columns  # noqa: E402
from wikisearch.index.blockmax import BlockMaxima, decode_bounds, write_block_maxima  # noqa: E402
from wikisearch.index.manifest import MANIFEST, file_checksums, manifest_checksum  # noqa: E402
from wikisearch.index.publish import resolve_index  # noqa: E402
from wikisearch.index.segment import SegmentReader, write_docs_columns  # noqa: E402

SIZE_FILES = ("terms.bin", "postings.bin", "docs.bin", "blocks.bin")   # "index size" (#12, #13)


def check_docs(old: SegmentReader, new: SegmentReader) -> None:
    """Every column of ``new`` equal to ``old``'s (titles decoded)."""
    n = old.n_docs
    assert new.n_docs == n and new.titles_coded
    for name in ("page_id", "alias_title_offsets", "alias_blob", "title_order"):
        if name in old.docs_c.specs:
            assert np.array_equal(new.docs_c[name], old.docs_c[name]), name
    for name in ("alias_offsets", "alias_block_crc", "inlinks"):     # (format 10 leaves out zeros)
        assert np.array_equal(new.column(name), old.column(name)), name
    assert np.array_equal(new.field_lengths, old.field_lengths)
    for a in range(0, n, PIECE):
        z = min(n, a + PIECE)
        (o1, b1), (o2, b2) = old.title_column(a, z), new.title_column(a, z)
        assert np.array_equal(o1, o2) and np.array_equal(b1, b2), f"titles {a}-{z}"
    for d in sorted({0, n // 3, n // 2, n - 1} - {-1}):
        assert new.title(d) == old.title(d)


def check_blocks(old: BlockMaxima, new: BlockMaxima) -> dict:
    """Starts and last docids equal, bounds rounded up to the least table entry; how much looser."""
    assert np.array_equal(old.terms, new.terms) and np.array_equal(old.offsets, new.offsets)
    assert np.array_equal(old.last, new.last)
    pos_old = old.pos
    steps = np.asarray(new.pos_step, np.int64)
    total = np.cumsum(steps)
    firsts = np.asarray(new.offsets[:-1], np.int64)
    counts = np.diff(np.asarray(new.offsets, np.int64))
    base = np.repeat(total[firsts] - steps[firsts], counts) if len(firsts) else np.zeros(0, np.int64)
    assert np.array_equal(total - base, pos_old), "block starts"
    b_old, b_new = np.asarray(old.bound, np.float64), np.asarray(new.bound, np.float64)
    assert (b_new >= b_old).all(), "a bound rounded down"
    codes = np.asarray(new.bound_code, np.int64)
    below = decode_bounds(np.maximum(codes - 1, 0), np.repeat(new.list_step, counts)).astype(np.float64)
    assert ((codes == 0) | (below < b_old)).all(), "a bound not rounded up to the least code"
    pos = b_old > 0
    rel = (b_new[pos] - b_old[pos]) / b_old[pos]
    pct = (lambda q: float(np.percentile(rel, q)) if len(rel) else 0.0)
    return {"blocks": int(len(b_old)), "lists": int(len(counts)), "zero_bounds": int((~pos).sum()),
            "last_exceptions": int(len(new.last_exc)),
            "looser_mean": float(rel.mean()) if len(rel) else 0.0, "looser_p50": pct(50),
            "looser_p99": pct(99), "looser_max": pct(100)}


def make_index(src: Path, work: Path) -> Path:
    """DIR/index: ``src``'s files linked, the new docs.bin and blocks.bin, a format 10 manifest."""
    out = work / "index"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    m = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    for name in m["files"]:
        if name in ("docs.bin", "blocks.bin"):
            os.symlink((work / name).resolve(), out / name)
        else:
            os.symlink(src / name, out / name)
    new = file_checksums(out, ["docs.bin", "blocks.bin"])
    m["files"].update(new)
    m["format_version"] = 10
    m["checksum"] = manifest_checksum(m)
    (out / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    return out


def check_answers(src: Path, new: Path, queries: list[str], lookups: int) -> dict:
    from wikisearch.search.sharded import open as open_index
    a, b = open_index(src), open_index(new)
    ra, rb = a.reader, b.reader
    n = ra.n_docs
    ids = list(range(0, n, max(1, lookups)))
    titles = [ra.title(d) for d in ids]
    keys = titles + [t + " x" for t in titles[:200]] + [t[:-1] for t in titles[:200] if t]
    la, lb = ra.docids_for_titles(keys), rb.docids_for_titles(keys)
    assert np.array_equal(la, lb), "title lookups"
    found = int((la >= 0).sum())
    hits = 0
    for q in queries:
        for k in (10, 100):
            x, y = a.search(q, k=k), b.search(q, k=k)
            assert [(h.docid, h.score, h.title) for h in x] == [(h.docid, h.score, h.title) for h in y], q
            hits += len(x)
    return {"lookups": len(keys), "found": found, "queries": len(queries), "hits_compared": hits}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--work", required=True, help="a scratch directory (the rewritten files go there)")
    ap.add_argument("--queries", default=None, help="a JSON list of [id, text] (run_all's queries.json)")
    ap.add_argument("--n-queries", type=int, default=300)
    ap.add_argument("--lookups", type=int, default=1000, help="look up every N-th title")
    ap.add_argument("--same-as", default=None, help="a format 10 build of the same input")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    src = resolve_index(Path(args.index))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    r = SegmentReader(src, store=False)
    print(f"{src}: {r.n_docs:,} documents, titles {'coded' if r.titles_coded else 'plain'}", flush=True)
    report = {"index": str(src), "n_docs": r.n_docs, "files": {}}
    t0 = time.perf_counter()
    write_docs_columns(work / "docs.bin", doc_columns(r, None))
    report["docs_write_s"] = round(time.perf_counter() - t0, 1)
    old_m = BlockMaxima(src / "blocks.bin")
    t0 = time.perf_counter()
    write_block_maxima(work / "blocks.bin", old_m.terms, old_m.offsets, old_m.pos, old_m.last, old_m.bound, old_m.rank)
    report["blocks_write_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    new_docs = _docs_only(work / "docs.bin", src)
    check_docs(r, new_docs)
    new_docs.close()
    new_m = BlockMaxima(work / "blocks.bin")
    report["blocks"] = check_blocks(old_m, new_m)
    old_m.close(), new_m.close()
    idx = make_index(src, work)
    queries = []
    if args.queries:
        queries = [t for _q, t in json.loads(Path(args.queries).read_text())][:args.n_queries]
    report["answers"] = check_answers(src, idx, queries, args.lookups)
    report["check_s"] = round(time.perf_counter() - t0, 1)
    if args.same_as:
        built = resolve_index(Path(args.same_as))
        report["same_as_build"] = {f: filecmp.cmp(work / f, built / f, shallow=False) for f in ("docs.bin", "blocks.bin")}
    r.close()
    total = [0, 0]
    for f in SIZE_FILES:
        before, after = _toc_sizes(src / f), _toc_sizes(idx / f)
        fb, fa = (src / f).stat().st_size, (idx / f).stat().st_size
        total[0] += fb
        total[1] += fa
        report["files"][f] = {"before": {**before, "file": fb}, "after": {**after, "file": fa}}
        if f in ("docs.bin", "blocks.bin"):
            print(f"\n{f}")
            print(f"  {'array':<26}{'before MB':>12}{'after MB':>12}{'ratio':>8}")
            for k in sorted(set(before) | set(after), key=lambda k: -max(before.get(k, 0), after.get(k, 0))):
                b, a = before.get(k, 0), after.get(k, 0)
                print(f"  {k:<26}{b / 1e6:>12.3f}{a / 1e6:>12.3f}{(a / b if b else float('nan')):>8.3f}")
            print(f"  {'file':<26}{fb / 1e6:>12.3f}{fa / 1e6:>12.3f}{fa / fb:>8.3f}")
    report["index_bytes"] = {"before": total[0], "after": total[1]}
    print(f"\nindex ({' + '.join(SIZE_FILES)}): {total[0] / 1e6:,.1f} MB -> {total[1] / 1e6:,.1f} MB "
          f"({total[1] / total[0]:.3f}x)")
    print(json.dumps({k: report[k] for k in ("blocks", "answers", "docs_write_s", "blocks_write_s", "check_s",
                                             *(["same_as_build"] if args.same_as else []))}))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(idx)
        shutil.rmtree(work / "docs-only")
        for name in ("docs.bin", "blocks.bin"):
            os.unlink(work / name)


def _docs_only(docs: Path, src: Path) -> SegmentReader:
    """A SegmentReader of ``src`` whose docs.bin is ``docs`` (a directory of links)."""
    d = docs.parent / "docs-only"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    for name in ("terms.bin", "postings.bin"):
        os.symlink(src / name, d / name)
    os.symlink(docs.resolve(), d / "docs.bin")
    return SegmentReader(d, store=False)


if __name__ == "__main__":
    main()
