"""Term proximity from a forward index (issue 17, session 26): what the proximity features of
``bench_proximity.py`` would cost if each document's prose prefix were kept as term ordinals.

``relevance.py --select s26-proximity`` found proximity worth keeping over the shipped training
(relevance.md, "Session 26"), but read from the stored text it costs several times the whole
re-ranker (``bench_proximity.py``: the candidates' prefixes decompressed, word-decoded and analysed
at every query). This script builds, in memory, the forward index a format change would store: the
kept tokens of each document's prose prefix (the text ``proximity_features`` reads, analysed by the
index's analyzer) as term ordinals. From it, :func:`forward_features` computes the first four of
:data:`bench_proximity.PROXIMITY_FEATURES` (``first_sentence_cov`` would need one more number per
document, the token where its first sentence ends) with integer comparisons; the run checks them
against ``proximity_features`` on every timed query and times both.

    python benchmarks/bench_forward_proximity.py --index IDX    # -> results/forward-proximity.json

Nothing here is shipped; the index format is unchanged.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_proximity import (PROX_WINDOW, PROXIMITY_FEATURES, cost_args, cost_queries,  # noqa: E402
                             proximity_features, query_terms_idf)
from bench_query import RESULTS  # noqa: E402

from wikisearch.index.store import PREFIX_CHARS  # noqa: E402
from wikisearch.search.searcher import Searcher  # noqa: E402
from wikisearch.search.snippets import prose_buffer  # noqa: E402

#: The features :func:`forward_features` computes (the first four of PROXIMITY_FEATURES).
FORWARD_FEATURES = PROXIMITY_FEATURES[:4]


def build_forward(reader, chars: int = PREFIX_CHARS, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets int64[n_docs + 1], ordinals int32)``: document d's kept tokens, in order, at
    ``ordinals[offsets[d]:offsets[d + 1]]``: the first ``chars`` characters of its prose prefix (as
    ``proximity_features`` cuts it) analysed by the index's analyzer, each token as its term's
    ordinal (-1 for a term the index lacks)."""
    n = int(reader.n_docs)
    counts = np.zeros(n + 1, np.int64)
    parts = []
    for a in range(0, n, batch):
        texts = []
        for d in range(a, min(n, a + batch)):
            joined, _ends = prose_buffer([reader.stored_prefix(d, PREFIX_CHARS) or b""], min(chars, PREFIX_CHARS))
            texts.append(joined.decode("utf-8"))
        ids, which, vocab = reader.analyzer.analyze_texts(texts)
        vocab_ords = np.asarray(reader.term_ordinals(list(vocab)), np.int64)
        counts[a + 1:a + 1 + len(texts)] = np.bincount(which, minlength=len(texts))
        parts.append(vocab_ords[ids].astype(np.int32))
    return np.cumsum(counts), (np.concatenate(parts) if parts else np.zeros(0, np.int32))


@njit(cache=True, nogil=True)
def forward_features(offsets, ordinals, docids, query_ords, idf, window):
    """float64[C, 4]: :data:`FORWARD_FEATURES` of documents ``docids`` for a query whose distinct
    terms have ordinals ``query_ords`` (idf ``idf``), from the forward index: ``prefix_cov`` (the
    query's idf found, over its sum), ``prox_window`` (the most distinct query terms ``window``
    consecutive tokens from a match hold, over the query's terms), ``prox_density`` (the terms
    found over the shortest run of tokens from a match holding all of them), ``prox_bigrams`` (the
    query's adjacent term pairs found adjacent, in order, over the pairs)."""
    C, T = docids.shape[0], query_ords.shape[0]
    P = np.zeros((C, 4), np.float64)
    total = 0.0
    for t in range(T):
        total += idf[t]
    for c in range(C):
        a, z = offsets[docids[c]], offsets[docids[c] + 1]
        n = z - a
        term = np.full(n, -1, np.int64)          # the query term at each token, or -1
        present = np.zeros(T, np.bool_)
        for i in range(n):
            o = ordinals[a + i]
            for t in range(T):
                if o == query_ords[t]:
                    term[i] = t
                    present[t] = True
                    break
        found = 0
        cov = 0.0
        for t in range(T):
            if present[t]:
                found += 1
                cov += idf[t]
        P[c, 0] = cov / total if total > 0 else found / T
        if found == 0:
            continue
        best, width = 0, n + 1
        seen = np.zeros(T, np.bool_)
        for i in range(n):
            if term[i] < 0:
                continue
            seen[:] = False
            k, j = 0, i
            while j < n and k < found:
                if term[j] >= 0 and not seen[term[j]]:
                    seen[term[j]] = True
                    k += 1
                    if j - i < window:
                        best = max(best, k)
                j += 1
            if k == found:
                width = min(width, j - i)
        P[c, 1] = best / T
        P[c, 2] = found / width
        if T > 1:
            pairs = 0
            for t in range(T - 1):
                for i in range(n - 1):
                    if term[i] == t and term[i + 1] == t + 1:
                        pairs += 1
                        break
            P[c, 3] = pairs / (T - 1)
    return P


def main(argv=None) -> int:
    args = cost_args(argv, RESULTS / "forward-proximity.json", __doc__.split("\n")[0])
    s = Searcher(args.index)
    r = s.reader
    t0, c0 = time.perf_counter(), time.process_time()
    offsets, ordinals = build_forward(r)
    built = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
             "documents": int(r.n_docs), "tokens": int(len(ordinals)),
             "tokens_per_document": {"mean": float(np.diff(offsets).mean()),
                                     "p50": float(np.median(np.diff(offsets))),
                                     "p95": float(np.percentile(np.diff(offsets), 95))},
             "bytes_int32": int(ordinals.nbytes + offsets.nbytes),
             "bits_per_ordinal": max(int(r.n_terms) - 1, 1).bit_length()}
    print("built", json.dumps(built), file=sys.stderr, flush=True)
    queries = list(cost_queries(r, args.n)[0].values())
    warm = queries[:10]
    forward_features(offsets, ordinals, np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1), PROX_WINDOW)
    stored, forward, differing = [], [], 0
    for i, text in enumerate(queries):
        docids = s.first_stage(text, 100).top[0]
        terms, idf = query_terms_idf(r, text)
        qords = np.asarray(r.term_ordinals(terms), np.int64)
        c0 = time.thread_time()
        A = proximity_features(r, terms, idf, docids)
        c1 = time.thread_time()
        B = forward_features(offsets, ordinals, docids, qords, np.asarray(idf, np.float64), PROX_WINDOW)
        c2 = time.thread_time()
        differing += not np.allclose(A[:, :4], B, rtol=1e-12, atol=1e-12)
        if text not in warm:
            stored.append((c1 - c0) * 1000)
            forward.append((c2 - c1) * 1000)
    out = {"forward_index": built, "n_queries": len(stored), "differing_queries": differing,
           "features": list(FORWARD_FEATURES), "window": PROX_WINDOW, "prefix_chars": PREFIX_CHARS,
           "protocol": "the top 100 of the first stage (not timed); the stored-text features "
                       "(bench_proximity.proximity_features, all five) and the forward-index ones (four) "
                       "for the same candidates, CPU by time.thread_time, one searcher, 10 warm-up queries",
           "stored_text_cpu_ms": {"median": statistics.median(stored), "p95": float(np.percentile(stored, 95))},
           "forward_cpu_ms": {"median": statistics.median(forward), "p95": float(np.percentile(forward, 95))},
           "load": list(os.getloadavg())}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0 if differing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
