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
import re
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
from wikisearch.search.snippets import prose_buffer  # noqa: E402

#: Term proximity in a candidate's stored prefix (its first ``PREFIX_CHARS`` characters of
#: prose, the opening then the body, as the store keeps them apart: :func:`proximity_features`):
#: ``prefix_cov`` (the share of the query's idf mass in the prefix), ``prox_window`` (the most
#: distinct query terms any :data:`PROX_WINDOW` consecutive kept tokens hold, over the query's
#: terms), ``prox_density`` (those found over the smallest window holding all of them, in kept
#: tokens), ``prox_bigrams`` (the share of the query's adjacent term pairs found adjacent and in
#: order) and ``first_sentence_cov`` (the share of the query's terms in the prose's first sentence).
PROXIMITY_FEATURES = ("prefix_cov", "prox_window", "prox_density", "prox_bigrams", "first_sentence_cov")
PROX_WINDOW = 10
#: Where a sentence ends in UTF-8 prose (as snippets.py's ``_SENTENCE`` on text).
_SENTENCE_END = re.compile(rb"[.!?]\s|\xe3\x80\x82|\xef\xbc[\x81\x9f]")
_CONTINUATION = bytes(range(0x80, 0xC0))        # UTF-8 bytes that do not start a character


def query_terms_idf(reader, text: str, rank: RankConfig | None = None) -> tuple[list[str], np.ndarray]:
    """The query's distinct analysed terms that score and that the index holds, in the query's order
    (the re-ranker's ``query_terms``), and their idf (``rank``'s model; default ``RankConfig()``)."""
    ordinals = query_terms(reader, text)
    model = (rank or RankConfig()).model
    return ([reader.term(o) for o in ordinals],
            np.array([idf_of(reader.n_docs, reader.doc_freq(o), model) for o in ordinals], np.float64))


def proximity_features(reader, terms: list[str], idf, docids, chars: int = PREFIX_CHARS) -> np.ndarray:
    """float64[C, len(PROXIMITY_FEATURES)]: where the query's distinct analysed ``terms`` (idf
    ``idf``, in the query's order) occur in the first ``chars`` characters of prose of each of
    ``docids`` (at most the stored prefix's; rows of 0 where a document has no stored text). One
    tokenizer pass over the candidates' prose (``Analyzer.find_terms_encoded``: positions count
    the tokens analysis keeps, so a pair of terms is adjacent as a phrase's are), then numpy over
    the matches of all candidates at once."""
    docids = np.asarray(docids, np.int64)
    C, T = len(docids), len(terms)
    P = np.zeros((C, len(PROXIMITY_FEATURES)), np.float64)
    if C == 0 or T == 0:
        return P
    idf = np.asarray(idf, np.float64)
    docs = [reader.stored_prefix(int(d), PREFIX_CHARS) or b"" for d in docids.tolist()]
    joined, ends = prose_buffer(docs, min(int(chars), PREFIX_CHARS))
    (starts, _, which, pos, cuts), _ = reader.analyzer.find_terms_encoded(
        np.frombuffer(joined, np.uint8), ends, list(terms), positions=True, flat=True)
    text = np.repeat(np.arange(C), np.diff(cuts, prepend=0))
    present = np.zeros((C, T), bool)
    present[text, which] = True
    found = present.sum(axis=1)
    P[:, 0] = present @ idf / idf.sum() if idf.sum() > 0 else found / T
    if text.size == 0:
        return P
    # d[j, t]: kept tokens from match j to the next match of term t in its text (a large number: none)
    span = int(pos.max()) + PROX_WINDOW + 2
    key = text * span + pos
    none = np.int64(1) << 40
    d = np.full((key.size, T), none, np.int64)
    for t in range(T):
        kt = np.sort(key[which == t])
        if kt.size:
            i = np.minimum(np.searchsorted(kt, key), kt.size - 1)
            same = (kt[i] >= key) & (kt[i] // span == text)
            d[same, t] = kt[i][same] - key[same]
    best = np.zeros(C, np.int64)
    np.maximum.at(best, text, (d < PROX_WINDOW).sum(axis=1))
    P[:, 1] = best / T
    # the smallest window holding every term the text has starts at one of its matches
    width = np.full(C, none, np.int64)
    np.minimum.at(width, text, np.where(present[text], d, 0).max(axis=1) + 1)
    P[:, 2] = np.where(found > 0, found / np.minimum(width, none), 0.0)
    if T > 1:
        pairs = np.zeros(C, np.int64)
        for t in range(T - 1):
            both = np.intersect1d(key[which == t], key[which == t + 1] - 1)
            pairs[np.unique(both // span)] += 1
        P[:, 3] = pairs / (T - 1)
    # the first sentence: the prose up to the first sentence end (the whole prefix without one)
    first = np.empty(C, np.int64)
    a = 0
    for c, z in enumerate(ends.tolist()):
        m = _SENTENCE_END.search(joined, a, z)
        first[c] = len(joined[a:m.start() + 1].translate(None, _CONTINUATION)) if m else 1 << 40
        a = z
    inside = starts < first[text]
    in_first = np.zeros((C, T), bool)
    in_first[text[inside], which[inside]] = True
    P[:, 4] = in_first.sum(axis=1) / T
    return P



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
