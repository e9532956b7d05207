"""Record the numba kernel signatures a real workload compiles, for ``wikisearch.jit.precompile``.

    python benchmarks/record_kernels.py            # rewrites wikisearch/data/kernel_signatures.pkl

The workload is the bundled real sample (``wikisearch/data/sample-enwiki.xml.bz2``) indexed in
this process, given its link priors, and searched every way the CLI and the library search
(plain words, fields, phrases, AND/OR/NOT, filters, other ranking settings, priors on and off,
the block-max path, suggestions, articles, term lookups). A first run on a new machine compiles
exactly these kernels; ``precompile`` compiles them in parallel processes before the work starts.
tests/test_jit.py runs the same workload and fails when it compiles a signature the file lacks
(a kernel changed: run this script again).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUERIES = ["german chancellor", "t:berlin b:wall", "swedish furniture", '"angela merkel" -berlin',
           "berlin AND wall", "film OR cartoon", "company linksto:\"South Korea\"",
           'cartoon incategory:"Animated television series about cats"', "ikea", "samsung electronics",
           "c:companies", "merkel NOT ikea", "intitle:berlin", "the of and"]


def workload(work: Path) -> None:
    """Index the bundled sample into ``work`` and search it every way (all in this process)."""
    import wikisearch
    from wikisearch.build import build_index
    from wikisearch.config import RankConfig
    from wikisearch.popularity.update import update_priors
    from wikisearch.search.cache import SCORED_CACHE_POSTINGS
    from wikisearch.search.searcher import Searcher

    idx = build_index([wikisearch.sample_dump()], str(work / "idx"), workers=1)
    from wikisearch.index import merge
    merge.warmup()                               # the merge kernels of a build of several blocks
    build_index([wikisearch.sample_dump()], str(work / "idx-varbyte"), workers=1, codec="varbyte")
    update_priors(idx)
    for cache in (SCORED_CACHE_POSTINGS, 0):
        s = _search_every_way(Searcher(idx, cache_postings=cache))
        for q in ("swedish furniture", '"angela merkel"', "angla merkel", "berlinn wal"):
            s.search(q, k=10, snippets=True, correct=True).to_json()   # snippets, matched via, did you mean
        s.spelling().correct_many(["berlinn", "furnitur"])
        for prefix in ("a", "ber", "angela m", "zzz", "angla merk", "brelin"):
            s.suggest(prefix)
            s.suggest(prefix, fuzzy=False)
        for title in ("Angela Merkel", "Berlin"):
            s.doc(title).fields
        from wikisearch.search.rerank import rerank       # `wikisearch query --rerank`
        rerank(s, "german chancellor physicist", k=10, snippets=True, correct=True)
        rerank(s, "swedish furniture", k=5, priors=False)
        import numpy as np                                # term proximity (forward.bin), whatever
        s.proximity.features(np.arange(3, dtype=np.int64)[::-1], [0, 1], np.ones(2))   # the model reads
        s.proximity.forward.ordinals(1)
    # The exact count's merge path (count_union), which the searcher takes for lists holding fewer
    # postings than n_docs / 64: never on the 24-document sample (n_docs >> 6 == 0), where every
    # count takes the bitset. Called here with the types the searcher passes (int64 list bounds,
    # the int32 docid arena, the int32 excluded docids), or a query process on a real index would
    # compile it on first count (numba imported: ~0.5 s of `wikisearch query`'s start).
    import numpy as np
    from wikisearch.search import _maxscore_kernels as MK
    MK.count_union(np.array([0, 3], np.int64), np.array([3, 5], np.int64),
                   np.array([1, 4, 7, 4, 9], np.int32), np.array([7], np.int32))
    # StringTable.take (gather_strings): a build's alias table and its link resolution take
    # redirect titles by id, which the sample's build (2 redirects) no longer reaches in this
    # process since the build writes aliases.bin in chunks; called on a table as the build makes
    # them (from_arrays / fill: writable copies in memory).
    from wikisearch.index.strings import StringTable
    t = StringTable.from_strings(["Berlin", "Bonn", "Köln"])
    StringTable.from_arrays(t.offsets, t.blob).take([2, 0])
    again = Searcher(idx)                        # spelling.bin read back (read-only arrays)
    again.search("berlinn furnitur", correct=True)
    # The column types a larger or older index gives the kernels and the sample's narrow columns
    # do not (format 9 writes each column at the narrowest width its values need): uint32 offsets
    # (read as int32 views: any index with over 64 KiB of titles) and uint32 field lengths of all
    # nine fields (format 8 indexes, and format 9's fallback for a field over 65,535 tokens).
    wide = widened_copy(Path(idx), work / "idx-wide", OFFSETS_32)
    update_priors(wide)
    for cache in (SCORED_CACHE_POSTINGS, 0):
        w = _search_every_way(Searcher(wide, cache_postings=cache))
    w.search("swedish furniture", k=10, snippets=True, correct=True).to_json()
    for prefix in ("a", "ber", "angela m", "angla merk", "brelin"):
        w.suggest(prefix)
        w.suggest(prefix, fuzzy=False)
    w.doc("Berlin").fields
    w.reader.docids_for_titles(["Berlin", "Nowhere"])
    # A format 9 index (plain titles, ``find_many`` over them rather than format 10's coded
    # ``find_many_coded``), with narrow offsets (copied to int64) and uint32 ones (int32 views).
    for widths, name in (({}, "idx-f9"), (OFFSETS_32, "idx-f9-wide")):
        Searcher(widened_copy(Path(idx), work / name, widths, format_version=9)).reader.docids_for_titles(
            ["Berlin", "Nowhere"])
    # The build's block maxima (build.Builder._write_block_maxima): the document table's field
    # lengths in C order (a searcher's are docs.bin's Fortran-order view) and a sparse reader,
    # over the lists longer than one block, which the sample's 24 documents never have (a first
    # build of a real dump compiled list_block_meta and its callees for these types): here every
    # list is taken (ONE_BLOCK is read by block_maxima_of alone, in Python, never by a kernel).
    from wikisearch.search import _blockmax_kernels as BK
    from wikisearch.search.blockmax import block_maxima_of
    from wikisearch.index.segment import SegmentReader
    from wikisearch.index.publish import resolve_index
    lengths = np.ascontiguousarray(s.reader.field_lengths, np.uint32)
    merged, one_block = SegmentReader(resolve_index(Path(idx)), sparse=True), BK.ONE_BLOCK
    try:
        BK.ONE_BLOCK = 0
        assert len(block_maxima_of(merged, lengths, s.reader.avg_field_lengths, RankConfig(), 1 << 20)["pos"])
        merged.terms.ordinal_at_or_after(b"ber", 0)    # the merge's term ranges (varbyte_decode)
    finally:
        BK.ONE_BLOCK = one_block
        merged.close()
    r = s.reader
    for term in ("berlin", "merkel", "zzzz"):
        o = r.term_ordinal(term)
        if o >= 0:
            r.postings(o)
    r.terms.lower_bound("ber")


#: uint32 offsets in docs.bin and suggest.bin (read as int32 views, as a larger index's are).
OFFSETS_32 = {"title_offsets": "uint32", "alias_offsets": "uint32", "alias_title_offsets": "uint32",
              "suggest_offsets": "uint32"}


def _search_every_way(s):
    """Warm ``s`` up and run every query of :data:`QUERIES` under each ranking, prior and k."""
    import wikisearch
    from wikisearch.config import RankConfig
    s.warmup()
    for q in QUERIES:
        for rank in (None, RankConfig(k1=1.0), RankConfig(model="tfidf")):
            for priors in (None, False):
                for k in (1, 10, 100):
                    try:
                        s.search(q, k=k, rank=rank, priors=priors).total_matches
                    except wikisearch.WikisearchError:
                        pass
    return s


def plain_titles(arrays: dict, meta: dict, widths: dict) -> dict:
    """docs.bin's title arrays as format 9 wrote them (``title_offsets``, ``title_blob``, plain
    UTF-8, and their block CRCs) from format 10's coded ones, which are taken out of ``arrays``
    (and the coding's keys out of ``meta``); the columns format 10 left out as all 0 put back."""
    import numpy as np
    from wikisearch.fileio import narrowest_uint
    from wikisearch.index.fsst import FsstTable
    from wikisearch.index.segment import DOC_BLOCK, _cut_crcs
    n = int(meta["n_docs"])
    zeros = {"alias_offsets": np.zeros(n + 1, np.uint8), "inlinks": np.zeros(n, np.uint8),
             "alias_block_crc": np.zeros(-(-n // DOC_BLOCK), np.uint32)}
    for name in meta.pop("zero_columns", []):     # (format 10 left them out: all 0)
        arrays[name] = zeros[name].astype(widths.get(name, zeros[name].dtype))
    table = FsstTable(arrays.pop("title_symbols"), arrays.pop("title_symbol_lengths"))
    off, blob = table.decode(arrays.pop("title_offsets").astype(np.int64), arrays.pop("title_codes"))
    meta.pop("title_codec", None)
    meta.pop("title_bytes", None)
    cuts = off[::DOC_BLOCK].tolist() + ([int(off[-1])] if n % DOC_BLOCK else [])
    return {"title_block_crc": _cut_crcs(blob, cuts),
            "title_offsets": off.astype(widths.get("title_offsets", narrowest_uint(len(blob)))), "title_blob": blob}


def widened_copy(index: Path, out: Path, widths: dict, *, format_version: int | None = None) -> Path:
    """A copy of ``index`` whose docs.bin and suggest.bin columns named in ``widths`` have the
    dtypes given there and whose field lengths are uint32 for all nine fields; with
    ``format_version`` < 9, the manifest says that version and docs.bin's meta has no
    ``length_fields`` (as format 8 wrote it); with ``format_version`` < 10, docs.bin's titles
    are plain UTF-8 (``title_blob``, as format 9 and older wrote them) where they were FSST-coded.
    The manifest's checksums are made again; priors.bin,
    made for the original's checksum, is left out (the caller makes it again if it needs it).
    tests/test_suggest_table.py makes its format 8 index with this."""
    import json
    import shutil
    import numpy as np
    from wikisearch.config import N_FIELDS
    from wikisearch.index.container import Container, write_container
    from wikisearch.index.manifest import MANIFEST, file_checksums, manifest_checksum
    from wikisearch.index.publish import resolve_index
    from wikisearch.index.segment import LENGTHS
    from wikisearch.popularity import suggest_table as T
    old = format_version is not None and format_version < 9
    shutil.copytree(resolve_index(index), out, ignore=shutil.ignore_patterns("priors.bin"))
    for name, kind in (("docs.bin", b"DOCS"), (T.FILE, T.KIND)):
        if not (out / name).exists():
            continue
        c = Container(out / name, kind)
        arrays = {k: np.array(c[k]).astype(widths.get(k, c[k].dtype)) for k in c.specs}
        meta = dict(c.meta)
        c.close()
        if format_version is not None and format_version < 10 and "title_codes" in arrays:
            arrays.update(plain_titles(arrays, meta, widths))
        if LENGTHS in arrays:
            full = np.zeros((N_FIELDS, meta["n_docs"]), np.uint32)
            full[meta.pop("length_fields", list(range(N_FIELDS)))] = arrays[LENGTHS]
            arrays[LENGTHS] = full
            if not old:
                meta["length_fields"] = list(range(N_FIELDS))
        write_container(out / name, kind, arrays, meta=meta)
    m = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    if format_version is not None:
        m["format_version"] = format_version
    m["files"] = file_checksums(out, list(m["files"]))
    m["checksum"] = manifest_checksum(m)
    (out / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    return out


def profile() -> None:
    """Run the workload and print its compile CPU (numba's compile events, this process's CPU)."""
    import collections
    import time
    from numba.core import event
    stack, own, count = [], collections.Counter(), collections.Counter()

    class Listener(event.Listener):
        def on_start(self, ev):
            f = ev.data["dispatcher"].py_func
            stack.append([f"{f.__module__}.{f.__name__}", time.process_time(), 0.0])

        def on_end(self, ev):
            name, t0, children = stack.pop()
            dt = time.process_time() - t0
            own[name] += dt - children
            count[name] += 1
            if stack:
                stack[-1][2] += dt

    t0 = time.process_time()
    with event.install_listener("numba:compile", Listener()), tempfile.TemporaryDirectory() as tmp:
        workload(Path(tmp))
    per_module = collections.Counter()
    for name, dt in own.items():
        per_module[name.rsplit(".", 1)[0]] += dt
    print(f"workload {time.process_time() - t0:.1f} s CPU, of which compiling {sum(own.values()):.1f} s "
          f"({sum(count.values())} compiles)")
    for name, dt in per_module.most_common():
        print(f"{dt:7.1f} s  {name}")
    print("costliest kernels (exclusive):")
    for name, dt in own.most_common(10):
        print(f"{dt:7.2f} s  x{count[name]}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="where to write (default: the package's file)")
    ap.add_argument("--current-cache", action="store_true",
                    help="run in numba's current cache (default: an empty one, so that every kernel "
                    "compiles and the kernels called only from other kernels are recorded too)")
    ap.add_argument("--profile", action="store_true",
                    help="write nothing: print the workload's numba compile CPU per module and the "
                    "costliest kernels (exclusive: callees' compiles subtracted)")
    args = ap.parse_args()
    if not args.current_cache:
        import os
        import subprocess
        with tempfile.TemporaryDirectory() as cache:
            cmd = [sys.executable, __file__, "--current-cache"] + (["--out", args.out] if args.out else [])
            cmd += ["--profile"] if args.profile else []
            subprocess.run(cmd, check=True, env={**os.environ, "NUMBA_CACHE_DIR": cache})
        return
    import os
    os.environ["WIKISEARCH_AOT"] = "off"     # record what numba's JIT compiles, not the AOT exports
    from wikisearch import jit
    if args.profile:
        profile()
        return
    with tempfile.TemporaryDirectory() as tmp:
        workload(Path(tmp))
    record = jit.recorded_signatures()
    out = Path(args.out) if args.out else jit.SIGNATURES
    jit.save_signatures(record, out)
    n = sum(len(s) for funcs in record.values() for s in funcs.values())
    print(f"{n} signatures of {sum(len(f) for f in record.values())} kernels in {len(record)} modules -> {out}")


if __name__ == "__main__":
    main()
