"""Term proximity from the stored prefixes, for the re-ranker (issue 17, session 21): the features
and what they cost. Weighed by ``relevance.py --select proximity`` and not shipped (relevance.md,
"Session 21"): the form that cleared the inner validation's noise line costs several times the
whole re-ranker.

    python benchmarks/bench_proximity.py --index IDX      # -> results/proximity-cost.json

The protocol of relevance.py's cost table (:func:`relevance.latency`): 300 held-out queries (150
known-item, 150 WikiQA), one thread, a fresh Searcher per path, warmed up on 60 training queries,
then each timed query seen once (first sight); CPU time by ``time.thread_time``. The paths, each
after the first stage's top 100 (with priors, as ``rerank`` asks; not timed) for the same query:

- ``read``: the 100 candidates' stored prefixes (``reader.stored_prefix``: only the store blocks'
  prefixes decompressed, then word-decoded);
- ``proximity``: :func:`proximity_features` (that read, the prose cut out, one tokenizer pass
  over all of it, numpy over the matches);
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

from wikisearch.config import PriorConfig, RankConfig  # noqa: E402
from wikisearch.index.store import PREFIX_CHARS  # noqa: E402
from wikisearch.search.rank import idf as idf_of  # noqa: E402
from wikisearch.search.rerank import query_terms, rerank  # noqa: E402
from wikisearch.search.searcher import Searcher  # noqa: E402
from wikisearch.search.proximity import (PROX_WINDOW, PROXIMITY_FEATURES as SHIPPED_FEATURES,  # noqa: E402,F401
                                         stored_proximity)

#: The proximity features (shipped since session 27: ``wikisearch.search.proximity``, which says
#: what each is), over the first ``PREFIX_CHARS`` characters of each candidate's prose.
PROXIMITY_FEATURES = SHIPPED_FEATURES


def query_terms_idf(reader, text: str, rank: RankConfig | None = None) -> tuple[list[str], np.ndarray]:
    """The query's distinct analysed terms that score and that the index holds, in the query's order
    (the re-ranker's ``query_terms``), and their idf (``rank``'s model; default ``RankConfig()``)."""
    ordinals = query_terms(reader, text)
    model = (rank or RankConfig()).model
    return ([reader.term(o) for o in ordinals],
            np.array([idf_of(reader.n_docs, reader.doc_freq(o), model) for o in ordinals], np.float64))


def proximity_features(reader, terms: list[str], idf, docids, chars: int = PREFIX_CHARS) -> np.ndarray:
    """float64[C, len(PROXIMITY_FEATURES)]: the proximity features of ``docids`` for the query's
    distinct analysed ``terms`` (idf ``idf``, in the query's order), from the first ``chars``
    characters of each one's stored prose (``wikisearch.search.proximity.stored_proximity``, the
    forward index's oracle; ``chars`` below the stored prefix's is the cheaper form weighed here)."""
    return stored_proximity(reader, reader.term_ordinals(list(terms)), idf, docids, chars)


def _paths(prior_cfg):
    def candidates(s, text):
        return np.array([h.docid for h in s.search(text, k=100, priors=prior_cfg)], np.int64)

    def read(s, text, docids):
        return [s.reader.stored_prefix(int(d), PREFIX_CHARS) for d in docids.tolist()]

    def proximity(s, text, docids):
        return proximity_features(s.reader, *query_terms_idf(s.reader, text), docids)

    def proximity_short(s, text, docids):       # the top 30 candidates' first 1,000 characters
        return proximity_features(s.reader, *query_terms_idf(s.reader, text), docids[:30], 1000)

    def reranked(s, text, docids):
        return rerank(s, text, k=10, priors=prior_cfg)
    return candidates, {"read": read, "proximity": proximity, "proximity_30x1000": proximity_short,
                        "rerank_k10": reranked}


def cost_args(argv, out: Path, description: str):
    """The command line of the proximity cost benchmarks: ``--index``, ``--out`` (default ``out``), ``--n``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--index", type=Path, default=RESULTS / "tmp" / "enwiki30k-index")
    ap.add_argument("--out", type=Path, default=out)
    ap.add_argument("--n", type=int, default=150, help="timed queries of each set")
    return ap.parse_args(argv)


def cost_queries(reader, n: int, n_warm: int = 30) -> tuple[dict, dict]:
    """``(timed, warm)``: {set:qid: text} of the first ``n`` held-out queries of the known-item and
    WikiQA sets, and of their first ``n_warm`` training queries."""
    from relevance import known_item_set, wikiqa_set      # (relevance.py imports this module)
    timed, warm = {}, {}
    for name, S in {"known-item": known_item_set(reader), "wikiqa": wikiqa_set(reader)}.items():
        held = [q for q in S["queries"] if S["split"].get(q) == "heldout"][:n]
        train = [q for q in S["queries"] if S["split"].get(q) == "train"][:n_warm]
        timed.update({f"{name}:{q}": S["queries"][q] for q in held})
        warm.update({f"{name}:{q}": S["queries"][q] for q in train})
    return timed, warm


def main(argv=None) -> int:
    args = cost_args(argv, RESULTS / "proximity-cost.json", __doc__.split("\n")[0])
    timed, warm = cost_queries(Searcher(args.index).reader, args.n)
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
