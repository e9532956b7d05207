"""How deep the re-ranker's candidates would have to go (issue 17, session 28): of DBpedia-Entity's
relevant pages in the 30k corpus, the share the first stage (the shipped settings, with the
popularity prior, as ``rerank`` asks for it) ranks in its top 100, at 101-200 and at 201-300, by
query type; weighted by grade too (nDCG's gains). What ``relevance.py --select s28-depth --depth N``
weighs is whether a model over more candidates ranks those extra pages higher; this says how many
there are to gain.

    python benchmarks/depth_recall.py [--index IDX]      # -> results/depth-recall.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_query import RESULTS  # noqa: E402

#: The rank bands reported: [lo, hi) of the first stage's order, 0-based.
BANDS = ((0, 100), (100, 200), (200, 300))


def recall_by_band(first_stage, queries: dict, qrels: dict, types: dict) -> dict:
    """{type (and "all"): {"relevant": n, "grades": sum, "bands": {"1-100": {"share", "grade_share"}, ...}}}:
    where ``first_stage(text, depth) -> docids`` puts each query's relevant pages (grade > 0)."""
    depth = BANDS[-1][1]
    acc: dict = {}
    for qid, text in queries.items():
        pos = {int(d): i for i, d in enumerate(first_stage(text, depth))}
        for key in (types.get(qid, "?"), "all"):
            a = acc.setdefault(key, {"relevant": 0, "grades": 0, "n": [0] * len(BANDS), "g": [0] * len(BANDS)})
            for d, g in qrels[qid].items():
                if g <= 0:
                    continue
                a["relevant"] += 1
                a["grades"] += g
                p = pos.get(int(d))
                for b, (lo, hi) in enumerate(BANDS):
                    if p is not None and lo <= p < hi:
                        a["n"][b] += 1
                        a["g"][b] += g
    return {k: {"relevant": a["relevant"], "grades": a["grades"],
                "bands": {f"{lo + 1}-{hi}": {"share": a["n"][b] / a["relevant"], "grade_share": a["g"][b] / a["grades"]}
                          for b, (lo, hi) in enumerate(BANDS)}}
            for k, a in sorted(acc.items(), key=lambda kv: (kv[0] == "all", kv[0]))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=RESULTS / "tmp" / "enwiki30k-index")
    ap.add_argument("--out", type=Path, default=RESULTS / "depth-recall.json")
    args = ap.parse_args(argv)
    from relevance import dbpedia_set
    from wikisearch.config import PriorConfig, RankConfig
    from wikisearch.search.searcher import Searcher
    s = Searcher(args.index)
    db = dbpedia_set(s.reader)
    rank, priors = RankConfig(), PriorConfig() if s.priors is not None else None

    def first_stage(text, depth):
        return s.first_stage(text, depth, rank=rank, priors=priors).top[0].tolist()
    res = recall_by_band(first_stage, db["queries"], db["qrels"], db["type"])
    index = Path(os.path.abspath(args.index))   # (not resolved: the index is a link to its generation)
    out = {"index": str(index.relative_to(ROOT) if index.is_relative_to(ROOT) else index),
           "queries": len(db["queries"]), "priors": priors is not None, "by_type": res}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    for k, v in res.items():
        print(f"{k:13s} {v['relevant']:5d} relevant: " + ", ".join(
            f"{band} {b['share']:.3f} ({b['grade_share']:.3f} by grade)" for band, b in v["bands"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
