"""Tune BM25F field weights, b and k1 on DBpedia-Entity v2 training folds; report test folds.

    python benchmarks/tune_rank.py [--index DIR] [--rounds 2] [--folds all_queries] [--workers 2]

Deterministic and self-contained: the result depends on the corpus, the judgments and the code,
not on the settings an index was built with (every search passes its RankConfig explicitly).

- Start: Wikipedia's CirrusSearch BM25F weights (:data:`START`: k1 1.2; title 20, redirect 15,
  category 8, heading 5, opening 3, body 1, infobox / link / reference 0.5), the same start for
  every fold and for the final run.
- Search: coordinate ascent on nDCG@10 (k=10 searches), ``--rounds`` passes over :data:`SPACE`
  in its order, each value tried in its listed order; a value is taken only when it beats the best
  so far by more than 1e-4, so ties keep the earlier setting. Only the parameters of the fields the
  30k WikiExtractor corpus has (title, opening, heading, body, reference) and k1 are tuned; body's
  weight stays 1 (the scale). Rule: redirect titles are aliases of the title, so the redirect
  weight is always 0.75 x the title weight (Cirrus's 15:20) and its b equals the title's. The
  fields the corpus lacks (infobox, category, link, redirect text) keep Cirrus's values.
- Honest estimate: 5-fold cross-validation on the DBpedia-Entity v2 folds (``--folds``): for each
  fold, tune on its training queries, score its held-out test queries; ``cv_test_ndcg`` is the
  query-weighted mean of the test scores (``cv_start_ndcg``: the start's, same queries).
- Final: tune on all queries (in-sample) and print the RankConfig to adopt. ``RankConfig()``'s
  defaults in wikisearch/config.py are exactly this ``final`` (tests/test_tune_rank_defaults.py).
- Untuned check (report only, never tuned on): nDCG@10 of the start, the final config and the
  previous hand-picked defaults on Discernatron 2017 (real enwiki search queries, graded 0-3 by
  page id, restricted to judged pages in the corpus) and WikiQA (Bing questions -> the Wikipedia
  page they led to, all three splits, pages in the corpus; also the questions whose page has an
  answer sentence).

Results: benchmarks/results/tune_rank.json and .md (no timings: the same code and data give the same file).
The index is benchmarks/results/tmp/enwiki30k-index, built from the 30k corpus if missing
(``--workers``; its stored ranking settings are not used). No popularity priors.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_query import CORPUS, DATA, QRELS, QUERIES, RESULTS  # noqa: E402
from judgments import discernatron  # noqa: E402

from wikisearch.config import FIELD_ID, FIELDS, RankConfig  # noqa: E402

#: Starting point: CirrusSearch's field weights (title 20, redirect 15, category 8, heading 5,
#: opening 3, body 1, auxiliary text 0.5) with k1 1.2 and these b; fields in FIELDS order.
START = RankConfig(model="bm25f", k1=1.2,
                   weights=(20.0, 15.0, 3.0, 5.0, 1.0, 0.5, 8.0, 0.5, 0.5),
                   b=(0.3, 0.3, 0.75, 0.5, 0.75, 0.75, 0.3, 0.75, 0.75))
#: Redirect weight = REDIRECT_SHARE x title weight (aliases move with titles; Cirrus's 15:20).
REDIRECT_SHARE = 0.75

#: The defaults shipped before issue #11, picked by hand after a run of this script (untuned
#: check only, so the change of defaults is measured on query sets nobody tuned on).
PREVIOUS_DEFAULTS = RankConfig(k1=8.0, weights=(20.0, 15.0, 5.0, 1.0, 1.0, 0.5, 8.0, 0.5, 0.5),
                               b=(0.0, 0.0, 0.5, 0.5, 0.65, 0.75, 0.3, 0.75, 0.75))

#: The settings this script found (its committed output), which RankConfig()'s defaults equal.
#: ``bench_query.py --rank tuned`` uses it.
_RESULT = RESULTS / "tune_rank.json"
RECOMMENDED = RankConfig.from_json(json.loads(_RESULT.read_text())["final"]) if _RESULT.exists() \
    else RankConfig()

#: (name, field or None for k1, kind, candidate values), tried in this order
SPACE = [
    ("k1", None, "k1", [1.2, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0]),
    ("w_title", "title", "w", [5, 10, 15, 20, 30, 45, 60, 80]),
    ("w_opening", "opening", "w", [0, 1, 2, 3, 5, 8]),
    ("w_heading", "heading", "w", [0, 0.5, 1, 2, 5, 8]),
    ("w_reference", "reference", "w", [0, 0.25, 0.5, 1]),
    ("b_title", "title", "b", [0.0, 0.15, 0.3, 0.5, 0.75, 1.0]),
    ("b_opening", "opening", "b", [0.3, 0.5, 0.75, 0.9, 1.0]),
    ("b_heading", "heading", "b", [0.2, 0.5, 0.75, 1.0]),
    ("b_body", "body", "b", [0.5, 0.65, 0.75, 0.85, 0.95]),
]

WIKIQA = DATA / "judgments" / "wikiqa"


def apply(cfg: RankConfig, name: str, value) -> RankConfig:
    _, fname, kind, _ = next(s for s in SPACE if s[0] == name)
    if kind == "k1":
        return cfg.replace(k1=float(value))
    i = FIELD_ID[fname]
    if kind == "w":
        w = list(cfg.weights)
        w[i] = float(value)
        if fname == "title":                        # aliases move with titles
            w[FIELD_ID["redirect"]] = REDIRECT_SHARE * float(value)
        return cfg.replace(weights=tuple(w))
    b = list(cfg.b)
    b[i] = float(value)
    if fname == "title":
        b[FIELD_ID["redirect"]] = float(value)
    return cfg.replace(b=tuple(b))


def score(searcher, queries, qrels, qids, cfg, cache) -> float:
    from wikisearch.evaluate import evaluate
    key = (cfg, tuple(qids))
    if key not in cache:
        sub = {q: queries[q] for q in qids}
        cache[key] = evaluate(searcher, sub, qrels, k=10, rank=cfg, restrict=False,
                              measures=("nDCG@10",))["measures"]["nDCG@10"]
    return cache[key]


def climb(objective, start: RankConfig, rounds: int, log=None) -> RankConfig:
    """Coordinate ascent over :data:`SPACE` from ``start``: each setting in turn takes the value
    that raises ``objective(cfg)`` by more than 1e-4, for up to ``rounds`` rounds (fewer when a
    round changes nothing)."""
    best = start
    best_score = objective(best)
    for r in range(rounds):
        improved = False
        for name, _, _, values in SPACE:
            for v in values:
                cand = apply(best, name, v)
                s = objective(cand)
                if s > best_score + 1e-4:
                    best, best_score, improved = cand, s, True
            if log is not None:
                log(f"  round {r} {name}: {best_score:.4f}")
        if not improved:
            break
    return best


def ascend(searcher, queries, qrels, qids, start: RankConfig, rounds: int, cache, log) -> RankConfig:
    return climb(lambda cfg: score(searcher, queries, qrels, qids, cfg, cache), start, rounds, log)


# --- query sets nobody tunes on ----------------------------------------------------------------------
def wikiqa_judgments(reader):
    """{qid: question}, {qid: {title: 1}}, answered: each WikiQA question (train, dev and test) and
    the page its Bing searchers were led to, when the index holds that page; ``answered``: the
    questions that page has a sentence labelled as answering (WikiQA's usual evaluation subset)."""
    queries, qrels, answered = {}, {}, set()
    for split in ("train", "dev", "test"):
        with gzip.open(WIKIQA / f"WikiQA-{split}.tsv.gz", "rt", encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                qid, title = r["QuestionID"], r["DocumentTitle"]
                if qid not in queries and reader.docid_for_title(title) >= 0:
                    queries[qid] = r["Question"]
                    qrels[qid] = {title: 1}
                if qid in queries and r["Label"] == "1":
                    answered.add(qid)
    return queries, qrels, answered


def wikiqa(searcher, configs: dict) -> dict:
    from wikisearch.evaluate import evaluate
    queries, qrels, answered = wikiqa_judgments(searcher.reader)
    out = {}
    for label, qids in (("all", list(queries)), ("answered", [q for q in queries if q in answered])):
        res = {"n_queries": len(qids)}
        for name, cfg in configs.items():
            res[name] = evaluate(searcher, {q: queries[q] for q in qids}, qrels, k=100, rank=cfg,
                                 restrict=False)["metrics"]
        out[label] = res
    return out


def markdown(r: dict) -> str:
    """benchmarks/results/tune_rank.md: the report in tables."""
    def cfg_line(c):
        return (f"k1 {c['k1']:g}; weights " + ", ".join(f"{f} {c['weights'][f]:g}" for f in FIELDS)
                + "; b " + ", ".join(f"{f} {c['b'][f]:g}" for f in FIELDS))
    L = ["# BM25F tuning on DBpedia-Entity v2 (30k-article corpus)", "",
         ("Generated by `python benchmarks/tune_rank.py` (method in its docstring). "
          f"Coordinate ascent on nDCG@10, {r['rounds']} rounds, from CirrusSearch's weights:"), "",
         f"- start: {cfg_line(r['start'])}", f"- final (tuned on all queries): {cfg_line(r['final'])}",
         "", "`RankConfig()`'s defaults are the final config (tests/test_tune_rank_defaults.py).", "",
         f"## 5-fold cross-validation ({r['folds_file']})", "",
         "| fold | test queries | nDCG@10 train (tuned) | nDCG@10 test (held out) | test, start config |",
         "|---|---|---|---|---|"]
    for f in r["folds"]:
        L.append(f"| {f['fold']} | {f['n_test']} | {f['train']:.4f} | {f['test']:.4f} | {f['test_start']:.4f} |")
    L.append(f"| **all** | {r['cv_n_queries']} | | **{r['cv_test_ndcg']:.4f}** | {r['cv_start_ndcg']:.4f} |")
    fa, sa, pa = r["final_all_queries"], r["start_all_queries"], r["previous_defaults_all_queries"]
    L += ["", ("Held-out nDCG@10 (query-weighted mean of the test folds): the honest estimate. "
               f"In-sample, the final config scores nDCG@10 {fa['nDCG@10']:.4f}, MRR@10 {fa['MRR@10']:.4f}, "
               f"Recall@100 {fa['Recall@100']:.4f} on all {r['cv_n_queries']} queries (start: "
               f"{sa['nDCG@10']:.4f} / {sa['MRR@10']:.4f} / {sa['Recall@100']:.4f}; the previous "
               f"hand-picked defaults, also chosen on all queries: {pa['nDCG@10']:.4f} / "
               f"{pa['MRR@10']:.4f} / {pa['Recall@100']:.4f})."), "",
          "## Query sets nobody tunes on", "",
          "| set | queries | measure | start | previous defaults | final |", "|---|---|---|---|---|---|"]
    u = r["untuned"]
    for label in ("all", "reliable"):
        d = u["discernatron"][label]
        for m in ("nDCG@10", "condensed_nDCG@10"):
            L.append(f"| Discernatron, {label} judgments | {d['n_queries']} | {m.replace('_', ' ')} | "
                     + " | ".join(f"{d[c][m]:.4f}" for c in ("start", "previous_defaults", "final")) + " |")
    for label in ("all", "answered"):
        d = u["wikiqa"][label]
        for m in ("nDCG@10", "MRR@10", "Recall@100"):
            L.append(f"| WikiQA, {label} questions | {d['n_queries']} | {m} | "
                     + " | ".join(f"{d[c][m]:.4f}" for c in ("start", "previous_defaults", "final")) + " |")
    L += ["", ("Discernatron: real enwiki search queries, pages graded 0-3 (mean of raters; 'reliable': "
               "Krippendorff's alpha passed), restricted to judged pages in the corpus and to queries with a "
               "page scored >= 1; nDCG@10 with graded gains, unjudged pages count 0; condensed: unjudged "
               "pages removed from the run first. WikiQA: each question's one page (Bing click) is the "
               "relevant document; 'answered': the page has a sentence labelled as answering it. Previous "
               "defaults: the hand-picked RankConfig shipped before issue #11."), ""]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=RESULTS / "tmp" / "enwiki30k-index")
    ap.add_argument("--workers", type=int, default=2, help="build workers if the index is missing")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--folds", default="all_queries")
    ap.add_argument("--out", type=Path, default=RESULTS / "tune_rank.json")
    args = ap.parse_args(argv)
    log = lambda m: print(m, flush=True)
    from wikisearch.evaluate import evaluate, load_qrels, load_queries, restrict_qrels
    from wikisearch.search.searcher import Searcher

    if not (args.index / "manifest.json").exists():
        from wikisearch import build_index
        log(f"building {args.index} from {len(CORPUS)} corpus files")
        build_index([str(f) for f in CORPUS], str(args.index), workers=args.workers)
    searcher = Searcher(args.index)
    if getattr(searcher.reader, "priors", None) is not None:
        ap.error(f"{args.index} has popularity priors: tune text ranking on an index without them")
    searcher.warmup()
    queries = load_queries(QUERIES)
    qrels = restrict_qrels(load_qrels(QRELS), searcher.reader)
    folds = json.loads((DATA / "judgments/dbpedia-entity-v2/folds" / f"{args.folds}.json").read_text())
    cache: dict = {}
    report = {"start": START.to_json(), "rounds": args.rounds, "folds_file": f"{args.folds}.json",
              "folds": []}
    t0 = time.perf_counter()
    for name, fold in folds.items():
        train = [q for q in fold["training"] if q in qrels and q in queries]
        test = [q for q in fold["testing"] if q in qrels and q in queries]
        log(f"fold {name}: {len(train)} training, {len(test)} test queries")
        cfg = ascend(searcher, queries, qrels, train, START, args.rounds, cache, log)
        row = {"fold": name, "config": cfg.to_json(),
               "train": score(searcher, queries, qrels, train, cfg, cache),
               "test": score(searcher, queries, qrels, test, cfg, cache),
               "test_start": score(searcher, queries, qrels, test, START, cache), "n_test": len(test)}
        report["folds"].append(row)
        log(f"fold {name}: train {row['train']:.4f} test {row['test']:.4f} (start {row['test_start']:.4f})")
    n = sum(r["n_test"] for r in report["folds"])
    report["cv_test_ndcg"] = sum(r["test"] * r["n_test"] for r in report["folds"]) / n
    report["cv_start_ndcg"] = sum(r["test_start"] * r["n_test"] for r in report["folds"]) / n
    report["cv_n_queries"] = n
    allq = [q for q in queries if q in qrels]
    final = ascend(searcher, queries, qrels, allq, START, args.rounds, cache, log)
    full = evaluate(searcher, queries, qrels, k=100, rank=final, restrict=False)
    report.update({"final": final.to_json(), "final_all_queries": full["metrics"],
                   "start_all_queries": evaluate(searcher, queries, qrels, k=100, rank=START,
                                                 restrict=False)["metrics"],
                   "previous_defaults_all_queries": evaluate(searcher, queries, qrels, k=100,
                                                             rank=PREVIOUS_DEFAULTS, restrict=False)["metrics"]})
    configs = {"start": START, "previous_defaults": PREVIOUS_DEFAULTS, "final": final}
    report["untuned"] = {"discernatron": discernatron(searcher, configs, lambda cfg: {"rank": cfg, "priors": False}), "wikiqa": wikiqa(searcher, configs)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    log(f"cross-validated (held-out) nDCG@10 {report['cv_test_ndcg']:.4f} over {n} queries "
        f"(start {report['cv_start_ndcg']:.4f}); "
        + ", ".join(f"fold {r['fold']} {r['test']:.4f}" for r in report["folds"]))
    log(f"final (all queries, in-sample) {full['metrics']}")
    log(f"untuned sets: {json.dumps(report['untuned'])}")
    log(f"RankConfig(k1={final.k1}, weights={final.weights}, b={final.b})")
    if final != RankConfig():
        log(f"note: RankConfig()'s defaults differ from this result: set them to it "
            f"({dict(zip(FIELDS, RankConfig().weights))})")
    log(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
