"""What the re-ranker costs a query beside the first stage, at any scale (issue 17):

    python benchmarks/bench_rerank_cost.py --index IDX [--limit 200] [--out results/rerank-cost-NAME.json]

The DBpedia-Entity queries (``corpus.load_queries``), one thread, CPU time by ``time.thread_time``.
Every path has a fresh Searcher of its own (nothing seen before: first sight), warmed up on other
queries than the ones timed (the kernels loaded, the index's pages in the page cache), and the
paths take turns query by query, so that a noisy machine weighs on each alike:

- ``first_k10``: ``Searcher.search(query, k=10)``, the default search;
- ``rerank_k10``: ``rerank(searcher, query, k=10)``, the shipped lexical model (its first stage
  at depth 100 included), as ``wikisearch query --rerank``;
- ``features_whole`` / ``features_blocks``: ``rerank.features`` over the first stage's top 100
  (the search not timed), each term's postings decoded whole, or read a block at a time
  (``Searcher.candidate_postings``, as ``rerank`` reads them). The two give the same matrix, which
  the run checks for every query.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from wikisearch.search import rerank as R  # noqa: E402
from wikisearch.search.searcher import Searcher  # noqa: E402

PATHS = ("first_k10", "rerank_k10", "features_whole", "features_blocks")
WARMUP = 20


def summary(ms: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(np.mean(ms))}


def measure(index: Path, queries: list[str], warmup: list[str]) -> dict:
    model = R.load_model()
    w = Searcher(index)
    for q in warmup:
        first = w.search(q, k=100)
        R.rerank(w, q, k=10, model=model)
        docids = np.array([h.docid for h in first[:100]], np.int64)
        R.features(w.reader, R.query_terms(w.reader, first.parsed or q), docids, first.rank_config,
                   R.prior_values(w, None), w.candidate_postings)
    s = {p: Searcher(index) for p in PATHS}
    ms: dict[str, list[float]] = {p: [] for p in PATHS}
    for q in queries:
        t0 = time.thread_time()
        s["first_k10"].search(q, k=10)
        ms["first_k10"].append((time.thread_time() - t0) * 1e3)
        t0 = time.thread_time()
        R.rerank(s["rerank_k10"], q, k=10, model=model)
        ms["rerank_k10"].append((time.thread_time() - t0) * 1e3)
        X = {}
        for p, blocks in (("features_whole", False), ("features_blocks", True)):
            f = s[p]
            first = f.search(q, k=100)
            docids = np.array([h.docid for h in first[:100]], np.int64)
            t0 = time.thread_time()
            X[p] = R.features(f.reader, R.query_terms(f.reader, first.parsed or q), docids, first.rank_config,
                              R.prior_values(f, None), f.candidate_postings if blocks else None)
            ms[p].append((time.thread_time() - t0) * 1e3)
        if not np.array_equal(X["features_whole"], X["features_blocks"]):
            raise SystemExit(f"the two reads gave different features for {q!r}")
    out = {p: summary(v) for p, v in ms.items()}
    out["rerank_over_first"] = {k: out["rerank_k10"][k] / out["first_k10"][k] for k in ("p50_ms", "p95_ms")}
    return out


def main(argv=None) -> int:
    import corpus
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--limit", type=int, default=200, help="queries timed (after the warm-up ones)")
    ap.add_argument("--out", type=Path, default=None, help="write the results here as JSON")
    args = ap.parse_args(argv)
    qs = list(corpus.load_queries().values())
    queries = qs[WARMUP:WARMUP + args.limit]
    m = json.loads((args.index / "manifest.json").read_text())
    res = {"index": str(args.index), "n_docs": m["stats"]["n_docs"], "n_queries": len(queries),
           "load_before": os.getloadavg()[0], **measure(args.index, queries, qs[:WARMUP]),
           "load_after": os.getloadavg()[0]}
    print(json.dumps(res, indent=1))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
