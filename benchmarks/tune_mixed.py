"""Does a first stage tuned on every training set beat the DBpedia-Entity-tuned one? (issue #17)

    python benchmarks/tune_mixed.py --index IDX [--rounds 1] [--out results/tune_mixed.json]

Inner validation on training queries only, with ``relevance.py --select``'s folds and split: for
outer fold i, v = (i + 1) % 5; each objective's BM25F settings are tuned (tune_rank.py's coordinate
ascent over its SPACE, from its START) on the DBpedia-Entity folds other than i and v and on four
fifths of the WikiQA train split and of the known-item training half (chunk v of five left out),
then scored on fold v and the chunks v. No outer test query (DBpedia fold i, WikiQA dev/test, the
known-item held-out half), nor the noisy known-item set, nor Discernatron is searched.

Objectives (what the ascent maximises on its tuning queries):

- ``dbpedia``: DBpedia-Entity nDCG@10 alone (tune_rank.py's objective; the shipped default's).
- ``mixed``: the mean of the three sets' nDCG@10 (DBpedia-Entity, WikiQA, known-item).
- ``shape``: the ``mixed`` objective with two settings chosen by the query's shape: queries of at
  least :data:`LONG` distinct analysed terms rank with one, shorter queries with the other, each
  tuned on its own queries (the objective is a sum over queries, so the two ascents maximise it
  together). :data:`LONG` was fixed before any run (the known-item queries have 6-10 words, most
  DBpedia-Entity queries 1-4 terms).

Criterion: the mean of the three sets' nDCG@10 on the validation queries (``--select``'s). First
stage only, text scores alone (no popularity prior), k = 10.

``--heldout OBJ`` (run after the choice, which the inner criterion made): OBJ's settings tuned for
each outer fold i on every training query of it (DBpedia-Entity folds other than i, the whole WikiQA
train split and known-item training half) and once on all training queries (the ``final``
settings, the candidate default), then the held-out first-stage figures (``lexical``: text alone;
``priors``: + the index's popularity prior, ``PriorConfig()``) of those against the shipped ones
(tune_rank.json's per-fold settings and ``RankConfig()``), as relevance.py measures them: DBpedia-Entity
by type (fold i's test queries), WikiQA dev + test, the known-item held-out half, the noisy known-item
set and Discernatron. Results in ``--out`` with ``-heldout-OBJ`` before its suffix.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from relevance import TYPES, dbpedia_set, known_item_set, wikiqa_set  # noqa: E402
from tune_rank import START, climb  # noqa: E402

from wikisearch.config import RankConfig  # noqa: E402

SETS = ("dbpedia", "wikiqa", "known-item")
#: ``shape``: a query of at least this many distinct analysed terms is long.
LONG = 5


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ndcg10(docids, rels: dict) -> float:
    """trec_eval's nDCG@10 (linear gains), as ir_measures computes it."""
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(docids[:10]) if rels.get(d, 0) > 0)
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


class Scorer:
    """Per-query nDCG@10 / success@1 of the first stage under a RankConfig, cached by (config, query)."""

    def __init__(self, searcher, queries: dict, qrels: dict):
        self.s, self.queries, self.qrels, self.cache = searcher, queries, qrels, {}

    def one(self, cfg: RankConfig, q: str) -> tuple[float, float]:
        key = (cfg, q)
        got = self.cache.get(key)
        if got is None:
            from wikisearch.errors import InvalidQueryError
            try:
                docids = [h.docid for h in self.s.search(self.queries[q], k=10, rank=cfg, priors=False)]
            except InvalidQueryError:
                docids = []
            rels = self.qrels[q]
            got = self.cache[key] = (ndcg10(docids, rels), float(bool(docids) and rels.get(docids[0], 0) > 0))
        return got

    def mean(self, cfg, qids, i=0) -> float:
        return statistics.fmean(self.one(cfg, q)[i] for q in qids) if qids else 0.0


def objective(scorer, cfg, weighted: list) -> float:
    """sum of weight x nDCG@10 over ``weighted`` [(qid, weight)]."""
    return sum(w * scorer.one(cfg, q)[0] for q, w in weighted)


def weights(parts: dict, keep=None) -> list:
    """[(qid, weight)]: the mean over the sets in ``parts`` ({set: qids}) of their nDCG@10 as a sum
    over queries; ``keep(qid)``: only those queries' terms (the others' are the other ascent's)."""
    return [(q, 1.0 / (len(parts) * len(qids))) for qids in parts.values() for q in qids
            if keep is None or keep(q)]


def ascend(scorer, weighted: list, rounds: int) -> RankConfig:
    """tune_rank.py's coordinate ascent, on ``objective`` over ``weighted``."""
    return climb(lambda cfg: objective(scorer, cfg, weighted), START, rounds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--objectives", default="dbpedia,mixed,shape")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tune_mixed.json")
    ap.add_argument("--heldout", choices=("dbpedia", "mixed"),
                    help="held-out figures of this objective's settings against the shipped ones, then stop")
    args = ap.parse_args(argv)
    from wikisearch.search.searcher import Searcher
    searcher = Searcher(args.index)
    searcher.warmup()
    reader = searcher.reader
    db, wq, ki = dbpedia_set(reader), wikiqa_set(reader), known_item_set(reader)
    queries, qrels, train = {}, {}, {}
    for n, S in (("dbpedia", db), ("wikiqa", wq), ("known-item", ki)):
        for q, t in S["queries"].items():
            queries[f"{n}:{q}"] = t
            qrels[f"{n}:{q}"] = S["qrels"][q]
        if n != "dbpedia":
            train[n] = [f"{n}:{q}" for q in S["queries"] if S["split"].get(q) == "train"]
    scorer = Scorer(searcher, queries, qrels)
    if args.heldout:
        return heldout(args, searcher, scorer, db, wq, ki, train)
    an = searcher.analyzer
    long = {q for q, t in queries.items() if len(set(an.terms(t))) >= LONG}
    report_shape = {n: sum(1 for q in queries if q.startswith(n + ":") and q in long) for n in SETS}
    log(f"long queries (>= {LONG} terms) per set: {report_shape}")
    objectives = [o for o in args.objectives.split(",") if o]
    report = {"rounds": args.rounds, "start": START.to_json(), "long": LONG, "long_queries": report_shape,
              "objectives": {}}
    t0 = time.perf_counter()
    for obj in objectives:
        val_of = {n: [] for n in SETS}
        folds = []
        for i in range(5):
            v = (i + 1) % 5
            tune = {"dbpedia": [f"dbpedia:{q}" for q in db["queries"] if db["fold"].get(q) not in (i, v)]}
            val = {"dbpedia": [f"dbpedia:{q}" for q in db["queries"] if db["fold"].get(q) == v]}
            for n, qids in train.items():
                if obj in ("mixed", "shape"):
                    tune[n] = [q for j, q in enumerate(qids) if j % 5 != v]
                val[n] = [q for j, q in enumerate(qids) if j % 5 == v]
            if obj == "shape":
                cfg = ascend(scorer, weights(tune, lambda q: q not in long), args.rounds)
                cfg_long = ascend(scorer, weights(tune, lambda q: q in long), args.rounds)
            else:
                cfg = cfg_long = ascend(scorer, weights(tune), args.rounds)
            for n in SETS:
                val_of[n].extend((q, cfg_long if q in long else cfg) for q in val[n])
            folds.append({"outer": i, "validation": v, "config": cfg.to_json(), "config_long": cfg_long.to_json(),
                          "validation_ndcg": {n: statistics.fmean(scorer.one(c, q)[0] for q, c in val_of[n][-len(val[n]):])
                                              for n in SETS}})
            log(f"{obj} outer {i}: k1 {cfg.k1} w {cfg.weights[:5]} b {cfg.b[:5]}"
                + (f"; long: k1 {cfg_long.k1} w {cfg_long.weights[:5]} b {cfg_long.b[:5]}" if obj == "shape" else "")
                + "; " + ", ".join(f"{n} {folds[-1]['validation_ndcg'][n]:.4f}" for n in SETS)
                + f" ({time.perf_counter() - t0:.0f} s)")
        res = {}
        for n in SETS:
            res[n] = {"n": len(val_of[n]),
                      "nDCG@10": statistics.fmean(scorer.one(c, q)[0] for q, c in val_of[n]),
                      "Success@1": statistics.fmean(scorer.one(c, q)[1] for q, c in val_of[n])}
        for t in TYPES:
            sub = [(q, c) for q, c in val_of["dbpedia"] if db["type"].get(q.split(":", 1)[1]) == t]
            res[t] = {"n": len(sub), "nDCG@10": statistics.fmean(scorer.one(c, q)[0] for q, c in sub),
                      "Success@1": statistics.fmean(scorer.one(c, q)[1] for q, c in sub)}
        res["criterion"] = statistics.fmean(res[n]["nDCG@10"] for n in SETS)
        report["objectives"][obj] = {"inner": res, "folds": folds}
        log(f"{obj}: criterion {res['criterion']:.4f}; "
            + ", ".join(f"{n} {res[n]['nDCG@10']:.4f}/{res[n]['Success@1']:.3f}" for n in (*SETS, *TYPES)))
    report["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    log(f"-> {args.out}")
    return 0


def heldout(args, searcher, scorer, db, wq, ki, train) -> int:
    from relevance import KIN_FOLDER, discernatron_set, measure, measure_graded
    from wikisearch.config import PriorConfig
    reader = searcher.reader
    prior_cfg = PriorConfig()
    shipped = json.loads((ROOT / "benchmarks" / "results" / "tune_rank.json").read_text())
    old_fold = {int(f["fold"]): RankConfig.from_json(f["config"]) for f in shipped["folds"]}
    t0 = time.perf_counter()
    new_fold = {}
    for i in range(5):
        tune = {"dbpedia": [f"dbpedia:{q}" for q in db["queries"] if db["fold"].get(q) != i]}
        if args.heldout == "mixed":
            tune.update(train)
        new_fold[i] = ascend(scorer, weights(tune), args.rounds)
        log(f"fold {i}: {new_fold[i].to_json()} ({time.perf_counter() - t0:.0f} s)")
    tune = {"dbpedia": [f"dbpedia:{q}" for q in db["queries"]]}
    if args.heldout == "mixed":
        tune.update(train)
    final = ascend(scorer, weights(tune), args.rounds)
    log(f"final: {final.to_json()}")

    def run(queries, cfg, priors):
        out = {}
        for q, t in queries.items():
            try:
                out[q] = [h.docid for h in searcher.search(t, k=100, rank=cfg, priors=priors)]
            except Exception:       # noqa: BLE001 (an unparsable query: an empty run, as relevance.py)
                out[q] = []
        return {q: __import__("numpy").asarray(v, "int64") for q, v in out.items()}
    res = {}
    for label, cfgs, default in (("shipped", old_fold, RankConfig()), (args.heldout, new_fold, final)):
        r = {}
        for stage, pri in (("lexical", False), ("priors", prior_cfg)):
            runs = {}
            for i in range(5):
                test = {q: t for q, t in db["queries"].items() if db["fold"].get(q) == i}
                runs.update(run(test, cfgs[i], pri))
            r[f"dbpedia/all/{stage}"] = measure(runs, db["qrels"], list(db["queries"]))
            for t in TYPES:
                r[f"dbpedia/{t}/{stage}"] = measure(runs, db["qrels"], [q for q in db["queries"] if db["type"].get(q) == t])
            for n, S in (("wikiqa", wq), ("known-item", ki), ("known-item-noisy", known_item_set(reader, KIN_FOLDER))):
                qids = [q for q in S["queries"] if n == "known-item-noisy" or S["split"].get(q) == "heldout"]
                r[f"{n}/{stage}"] = measure(run({q: S["queries"][q] for q in qids}, default, pri), S["qrels"], qids)
            for dl, D in discernatron_set(reader).items():
                r[f"discernatron-{dl}/{stage}"] = measure_graded(run(D["queries"], default, pri), D["qrels"], list(D["queries"]))
        res[label] = r
    for key in res["shipped"]:
        a, b = res["shipped"][key], res[args.heldout][key]
        log(f"{key:32s} " + "  ".join(f"{m} {a[m]:.4f} -> {b[m]:.4f}" for m in a if m != "n") + f"  (n {a['n']})")
    out = args.out.with_name(f"{args.out.stem}-heldout-{args.heldout}{args.out.suffix}")
    out.write_text(json.dumps({"objective": args.heldout, "rounds": args.rounds,
                               "folds": {i: c.to_json() for i, c in new_fold.items()}, "final": final.to_json(),
                               "heldout": res}, indent=1) + "\n")
    log(f"-> {out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
