"""What term proximity from the stored prefixes costs the re-ranker (issue 17, session 21).

    python benchmarks/bench_proximity.py --index IDX      # -> results/proximity-cost.json

The protocol of relevance.py's cost table (:func:`relevance.latency`): 300 held-out queries (150
known-item, 150 WikiQA), one thread, a fresh Searcher per path, warmed up on 60 training queries,
then each timed query seen once (first sight); CPU time by ``time.thread_time``. The paths, each
after the first stage's top 100 (with priors, as ``rerank`` asks; not timed) for the same query:

- ``read``: the 100 candidates' stored prefixes (``reader.stored_prefix``: only the store blocks'
  prefixes decompressed, then word-decoded);
- ``proximity``: :func:`wikisearch.search.rerank.proximity_features` (that read, the prose cut
  out, one tokenizer pass over all of it, numpy over the matches);
- ``proximity_30x1000``: the same for the top 30 candidates' first 1,000 characters of prose;
- ``rerank_k10``: the whole re-ranker as shipped (first stage at depth 100 included).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_query import RESULTS  # noqa: E402
from relevance import known_item_set, wikiqa_set  # noqa: E402

from wikisearch.config import PriorConfig, RankConfig  # noqa: E402
from wikisearch.index.store import PREFIX_CHARS  # noqa: E402
from wikisearch.search import rerank as R  # noqa: E402
from wikisearch.search.searcher import Searcher  # noqa: E402


def _paths(prior_cfg):
    def candidates(s, text):
        return np.array([h.docid for h in s.search(text, k=100, priors=prior_cfg)], np.int64)

    def read(s, text, docids):
        return [s.reader.stored_prefix(int(d), PREFIX_CHARS) for d in docids.tolist()]

    def proximity(s, text, docids):
        ordinals, terms = R.query_term_pairs(s.reader, text)
        idf = np.array([R.idf_of(s.reader.n_docs, s.reader.doc_freq(o), RankConfig().model) for o in ordinals])
        return R.proximity_features(s.reader, terms, idf, docids)

    def proximity_short(s, text, docids):       # the top 30 candidates' first 1,000 characters
        ordinals, terms = R.query_term_pairs(s.reader, text)
        idf = np.array([R.idf_of(s.reader.n_docs, s.reader.doc_freq(o), RankConfig().model) for o in ordinals])
        return R.proximity_features(s.reader, terms, idf, docids[:30], 1000)

    def rerank(s, text, docids):
        return R.rerank(s, text, k=10, priors=prior_cfg)
    return candidates, {"read": read, "proximity": proximity, "proximity_30x1000": proximity_short,
                        "rerank_k10": rerank}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=RESULTS / "tmp" / "enwiki30k-index")
    ap.add_argument("--out", type=Path, default=RESULTS / "proximity-cost.json")
    ap.add_argument("--n", type=int, default=150, help="timed queries of each set")
    args = ap.parse_args(argv)
    probe = Searcher(args.index)
    sets = {"known-item": known_item_set(probe.reader), "wikiqa": wikiqa_set(probe.reader)}
    timed, warm = {}, {}
    for name, S in sets.items():
        held = [q for q in S["queries"] if S["split"].get(q) == "heldout"][:args.n]
        train = [q for q in S["queries"] if S["split"].get(q) == "train"][:30]
        timed.update({f"{name}:{q}": S["queries"][q] for q in held})
        warm.update({f"{name}:{q}": S["queries"][q] for q in train})
    prior_cfg = PriorConfig()
    candidates, paths = _paths(prior_cfg)
    out = {"n_queries": len(timed), "protocol": "fresh searcher per path; warm-up queries, then each "
           "timed query once (first sight); the first stage's top 100 (priors) before each, not timed",
           "prefix_chars": PREFIX_CHARS}
    for name, fn in paths.items():
        s = Searcher(args.index)
        s.warmup()
        for t in warm.values():
            fn(s, t, candidates(s, t))
        cpu, wall, nbytes = [], [], []
        for t in timed.values():
            docids = candidates(s, t)
            t0, c0 = time.perf_counter(), time.thread_time()
            r = fn(s, t, docids)
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
            if name == "read":
                nbytes.append(sum(len(b or b"") for b in r))
        out[name] = {"median_cpu_ms": statistics.median(cpu), "p95_cpu_ms": float(np.percentile(cpu, 95)),
                     "mean_cpu_ms": statistics.fmean(cpu), "median_ms": statistics.median(wall),
                     "p95_ms": float(np.percentile(wall, 95))}
        if nbytes:
            out[name]["median_prefix_bytes"] = statistics.median(nbytes)
        print(name, json.dumps(out[name]), file=sys.stderr, flush=True)
    out["load"] = list(os.getloadavg())
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
