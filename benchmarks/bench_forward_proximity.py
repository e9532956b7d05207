"""Term proximity from the forward index (issue 17; shipped in session 27): what ``forward.bin``
costs (its bytes, the CPU to make it) and what it saves at query time against reading the stored
text, checked equal on every timed query.

``relevance.py --select s26-proximity`` found proximity worth keeping over the shipped training
(relevance.md, "Session 26"), but read from the stored text it costs several times the whole
re-ranker. The build now writes each document's kept prose tokens as term ordinals
(``wikisearch.search.proximity``). This script reads an index's ``forward.bin``, makes its records
again in one process (the build's CPU for them, and a check that the file holds exactly that), and
times the re-ranker's proximity features from it and from the stored text
(``stored_proximity``) for the first stage's top 100 of held-out queries.

    python benchmarks/bench_forward_proximity.py --index IDX    # -> results/forward-index.json
"""
from __future__ import annotations

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
from bench_proximity import cost_args, cost_queries, query_terms_idf  # noqa: E402
from bench_query import RESULTS  # noqa: E402

from wikisearch.index.store import PREFIX_CHARS  # noqa: E402
from wikisearch.search.proximity import (FILE, PROX_WINDOW, PROXIMITY_FEATURES, forward_records,  # noqa: E402
                                         stored_proximity)
from wikisearch.search.searcher import Searcher  # noqa: E402


def main(argv=None) -> int:
    args = cost_args(argv, RESULTS / "forward-index.json", __doc__.split("\n")[0])
    s = Searcher(args.index)
    r = s.reader
    s.proximity.features(np.zeros(1, np.int64), [0], np.ones(1))     # (opens forward.bin)
    fw = s.proximity.forward
    if fw is None:
        raise SystemExit(f"{args.index} has no {FILE}: build it with this wikisearch")
    t0, c0 = time.perf_counter(), time.process_time()
    sizes, words = forward_records(r, r.analyzer, 0, int(r.n_docs))
    n_tokens = (np.asarray(fw.words)[fw.starts[:-1]] & np.uint64(0xFFFFFFFF)).astype(np.int64)   # (head words)
    made = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "same_as_the_file": bool(np.array_equal(sizes, np.diff(fw.starts))
                                     and np.array_equal(words, np.asarray(fw.words)))}
    built = {"documents": int(r.n_docs), "tokens": int(n_tokens.sum()),
             "tokens_per_document": {"mean": float(n_tokens.mean()), "p50": float(np.median(n_tokens)),
                                     "p95": float(np.percentile(n_tokens, 95))},
             "bits_per_ordinal": int(fw.bits), "file_bytes": int((Path(r.path) / FILE).stat().st_size),
             "postings_bytes": int((Path(r.path) / "postings.bin").stat().st_size),
             "store_bytes": int((Path(r.path) / "store.bin").stat().st_size),
             "made_again_in_one_process": made}
    print("forward.bin", json.dumps(built), file=sys.stderr, flush=True)
    queries = list(cost_queries(r, args.n)[0].values())
    warm = queries[:10]
    stored, forward, differing = [], [], 0
    for text in queries:
        docids = s.first_stage(text, 100).top[0]
        terms, idf = query_terms_idf(r, text)
        ords = r.term_ordinals(terms)
        c0 = time.thread_time()
        A = stored_proximity(r, ords, idf, docids)
        c1 = time.thread_time()
        B = s.proximity.features(docids, ords, idf)
        c2 = time.thread_time()
        differing += not np.array_equal(A, B)
        if text not in warm:
            stored.append((c1 - c0) * 1000)
            forward.append((c2 - c1) * 1000)
    out = {"forward_index": built, "n_queries": len(stored), "differing_queries": differing,
           "features": list(PROXIMITY_FEATURES), "window": PROX_WINDOW, "prefix_chars": PREFIX_CHARS,
           "protocol": "the top 100 of the first stage (not timed); the five features from the stored text "
                       "(stored_proximity) and from forward.bin (Searcher.proximity) for the same candidates, "
                       "compared to the bit; CPU by time.thread_time, one searcher, 10 warm-up queries",
           "stored_text_cpu_ms": {"median": statistics.median(stored), "p95": float(np.percentile(stored, 95))},
           "forward_cpu_ms": {"median": statistics.median(forward), "p95": float(np.percentile(forward, 95))},
           "load": list(os.getloadavg())}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0 if differing == 0 and made["same_as_the_file"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
