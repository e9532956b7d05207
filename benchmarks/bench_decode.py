"""CPU per posting of the bit-packed decoders: the first stage's decode-and-score kernel
(``_prescore_kernels.bitpacked_score_into``, what a first-sight query runs over each list it has
not seen) and the plain decoder (``bitpacked_decode_into``), over the lists of given terms.

    python benchmarks/bench_decode.py --index IDX [--terms successor,jame,g,studi,law,world,two]
        [--reps 50] [--out results/decode-NAME.json]

The default terms are the analysed words of two slow first-sight queries of the run_all protocol
('successor James G. Blaine studied law', 'List of countries in World War Two'): common terms,
a few thousand to twenty thousand postings each on the 30k corpus. Each list is decoded once
(compiling or loading the kernels), then ``--reps`` times, timed by ``time.thread_time``; the
figure is the CPU over all postings decoded. To compare checkouts, run this script from each
(copied into one that lacks it): it imports the package of the checkout it lies in.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TERMS = ("successor", "jame", "g", "studi", "law", "world", "two")


def measure(index, terms=TERMS, reps: int = 50) -> dict:
    """``{"postings", "score_ns", "decode_ns", "lists": [...]}``: CPU ns a posting of each kernel."""
    import numpy as np
    import wikisearch
    from wikisearch.search import _prescore_kernels as PK
    from wikisearch.search.rank import field_mask, kernel_lengths, kernel_params
    searcher = wikisearch.open(str(index))
    r = searcher.reader
    w, a, c, k1, model = kernel_params(r.rank_config, np.asarray(r.avg_field_lengths, np.float64))
    lengths = kernel_lengths(r.field_lengths)
    lists = []
    for t in terms:
        o = r.term_ordinal(t)
        if o < 0:
            raise SystemExit(f"no term {t!r} in {index}")
        lists.append((t, r.raw_postings(o), int(r.doc_freq(o))))
    n = sum(df for _, _, df in lists)
    arenas = (np.zeros(n, np.int32), np.zeros(n, np.float64), np.zeros(n, np.uint16),
              np.zeros(n // 128 + len(lists) + 1, np.float64))
    sel = field_mask(None)
    out = {"index": str(index), "terms": list(terms), "reps": reps, "postings": n, "lists": []}

    def score(data, df):
        return PK.bitpacked_score_into(data, df, sel, lengths, w, a, c, k1, model, *arenas[:3], 0, arenas[3], 0)

    tfs = np.empty(max(df for _, _, df in lists) * 16, np.uint32)

    def decode(data, df):
        return PK.bitpacked_decode_into(data, 0, df, arenas[0], arenas[2], tfs)
    for name, fn in (("score", score), ("decode", decode)):
        total = 0.0
        for t, data, df in lists:
            fn(data, df)                                  # compile or load
            t0 = time.thread_time()
            for _ in range(reps):
                fn(data, df)
            dt = (time.thread_time() - t0) / reps
            total += dt
            out["lists"].append({"kernel": name, "term": t, "postings": df, "ns": dt / df * 1e9})
        out[f"{name}_ns"] = total / n * 1e9
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--terms", default=",".join(TERMS), help="analysed terms, comma-separated")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--out", default=None, help="also write the results here (JSON)")
    args = ap.parse_args(argv)
    got = measure(args.index, tuple(t for t in args.terms.split(",") if t), args.reps)
    print(f"{got['postings']:,} postings: decode and score {got['score_ns']:.1f} ns a posting, "
          f"decode alone {got['decode_ns']:.1f} ns")
    if args.out:
        Path(args.out).write_text(json.dumps(got, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
