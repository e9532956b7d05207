"""Popularity priors on the 30k-article corpus: nDCG@10 with and without them, weight tuning,
known-item queries for famous pages, suggest latency.

    python benchmarks/bench_priors.py [--index DIR] [--workers 2]

1. Builds (or reuses) the 30k index with the library's RankConfig and stores ``priors.bin`` made
   of the real September 2017 daily page views in ``shared/data/pageviews`` (the 4,375 pages of
   the Discernatron study; 368 of them are in the corpus, every other page gets no views). The
   file covers a sample of pages, so the share's denominator is an assumption: ~8e9 user views of
   en.wikipedia in the month (TOTAL_VIEWS; the k of satu absorbs any error, see below). The corpus
   is WikiExtractor text: no links, so only the page-view half of the prior acts here.
2. Tunes one scale s on CirrusSearch's weights (w_pv = 3s, w_links = 10s; k and a as published)
   by 5-fold cross-validation on DBpedia-Entity v2 (the training folds pick s, the test folds
   score it), then picks s on all queries; also a sensitivity table (s x k_pv).
3. Discernatron (real Wikipedia search queries, graded 0-3 by page id) restricted to judged pages
   in the corpus: nDCG@10 with unjudged = 0, and condensed nDCG@10 (unjudged pages removed from
   the run, Sakai 2007). The condensed figure matters here: the page-view file holds exactly the
   pages the study judged, so a prior made of it favours judged pages, and only the condensed
   measure is free of that bias.
4. Known items: the 30 most-viewed corpus pages, searched by their title and by each word of it;
   the page's rank without and with priors. Plus hand-picked ambiguous head queries.
Results: benchmarks/results/priors.json and priors.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_query import (CORPUS, DATA, QRELS, QUERIES, RESULTS, corpus_checksum, ensure_index,  # noqa: E402
                         machine, percentile)

from judgments import discernatron  # noqa: E402
from wikisearch.config import PriorConfig, RankConfig  # noqa: E402

PAGEVIEWS = DATA / "pageviews" / "discernatron-pages-daily_pageviews-2017-09.tsv.gz"
#: Denominator of the page-view share: en.wikipedia's user page views in September 2017, taken as
#: ~8e9 (Wikimedia reported ~580M views/day over all its sites in early 2017; English Wikipedia
#: is a little under half). An assumption: share k and this total only matter as their product.
TOTAL_VIEWS = 8.0e9
#: Scales s of CirrusSearch's weights (pageviews 3s, in-links 10s) tried.
SCALES = [0.0, 1 / 12, 1 / 6, 1 / 4, 1 / 3, 5 / 12, 1 / 2, 2 / 3, 1.0]
K_VIEWS = [2e-6, 8e-6, 3.2e-5]
#: Ambiguous head queries and the famous page a searcher most likely wants (all in the corpus).
HEAD_QUERIES = {"india": "India", "apple": "Apple Inc.", "marilyn": "Marilyn Monroe",
                "churchill": "Winston Churchill", "chelsea": "Chelsea F.C.", "sherlock": "Sherlock Holmes",
                "eastwood": "Clint Eastwood", "bush": "George H. W. Bush", "holmes": "Sherlock Holmes",
                "simpsons": "The Simpsons", "mao": "Mao Zedong", "tiger": "Tiger Woods",
                "monroe": "Marilyn Monroe", "winston": "Winston Churchill", "paris": "Paris"}


def scaled(s: float, k: float = 8e-6) -> PriorConfig:
    return PriorConfig(pageviews_weight=3.0 * s, pageviews_k=k, inlinks_weight=10.0 * s)


class WithPriors:
    """A searcher whose search() uses one prior setting (what wikisearch.evaluate calls)."""

    def __init__(self, searcher, priors):
        self.s, self.priors, self.reader = searcher, priors, searcher.reader

    def search(self, query, k=10, rank=None):
        return self.s.search(query, k=k, rank=rank, priors=self.priors)


# --- DBpedia-Entity v2 ------------------------------------------------------------------------------
def dbpedia(searcher) -> dict:
    from wikisearch.evaluate import evaluate, load_qrels, load_queries, restrict_qrels
    queries = load_queries(QUERIES)
    qrels = restrict_qrels(load_qrels(QRELS), searcher.reader)
    qids = [q for q in queries if q in qrels]
    per: dict = {}

    def per_query(setting):
        key = str(setting)
        if key not in per:
            r = evaluate(WithPriors(searcher, setting), queries, qrels, k=100, restrict=False)
            per[key] = (r["per_query"], r["measures"])
        return per[key]

    def mean(setting, ids, m="nDCG@10"):
        pq = per_query(setting)[0]
        return sum(pq[q][m] for q in ids) / len(ids)
    folds = json.loads((DATA / "judgments/dbpedia-entity-v2/folds/all_queries.json").read_text())
    rows = []
    for name, fold in folds.items():
        train = [q for q in fold["training"] if q in qrels]
        test = [q for q in fold["testing"] if q in qrels]
        best = max(SCALES, key=lambda s: (round(mean(scaled(s) if s else False, train), 6), -s))
        rows.append({"fold": name, "n_train": len(train), "n_test": len(test), "scale": best,
                     "train": mean(scaled(best) if best else False, train),
                     "test": mean(scaled(best) if best else False, test), "test_off": mean(False, test)})
    n = sum(r["n_test"] for r in rows)
    final = max(SCALES, key=lambda s: (round(mean(scaled(s) if s else False, qids), 6), -s))
    grid = {f"{k:g}": {f"{s:.4f}": mean(scaled(s, k) if s else False, qids) for s in SCALES} for k in K_VIEWS}
    return {"n_queries": len(qids), "folds": rows,
            "cv_test_on": sum(r["test"] * r["n_test"] for r in rows) / n,
            "cv_test_off": sum(r["test_off"] * r["n_test"] for r in rows) / n,
            "scale": final, "off": per_query(False)[1], "on": per_query(scaled(final))[1],
            "cirrus_weights": per_query(scaled(1.0))[1], "grid_ndcg10": grid}


# --- Discernatron ----------------------------------------------------------------------------------
def rank_of(searcher, query: str, docid: int, setting) -> int | None:
    from wikisearch.errors import InvalidQueryError
    try:
        hits = searcher.search(query, k=100, priors=setting)
    except InvalidQueryError:
        return None
    return next((h.rank for h in hits if h.docid == docid), None)


def known_items(searcher, setting, n_pages: int = 30) -> dict:
    r = searcher.reader
    views = searcher.priors.pageviews
    top = [int(d) for d in views.argsort()[::-1][:n_pages] if views[d] > 0]
    rows = []
    for d in top:
        title = r.title(d)
        words = list(dict.fromkeys(w for w in title.replace(".", " ").split()
                                   if len(w) >= 3 and r.analyzer.terms(w)))
        for q in [title] + (words if len(words) > 1 else []):
            rows.append({"query": q, "page": title, "views": float(views[d]), "kind": "title" if q == title else "word",
                         "off": rank_of(searcher, q, d, False), "on": rank_of(searcher, q, d, setting)})
    head = []
    for q, title in HEAD_QUERIES.items():
        d = r.docid_for_title(title)
        if d >= 0:
            head.append({"query": q, "page": title, "views": float(views[d]),
                         "off": rank_of(searcher, q, d, False), "on": rank_of(searcher, q, d, setting)})

    def summary(items):
        rr = lambda x: 1.0 / x if x and x <= 10 else 0.0
        return {"n": len(items), "mrr10_off": statistics.fmean(rr(i["off"]) for i in items),
                "mrr10_on": statistics.fmean(rr(i["on"]) for i in items),
                "top1_off": sum(i["off"] == 1 for i in items), "top1_on": sum(i["on"] == 1 for i in items),
                "better": sum((i["on"] or 999) < (i["off"] or 999) for i in items),
                "worse": sum((i["on"] or 999) > (i["off"] or 999) for i in items)}
    return {"rows": rows, "head": head, "title_queries": summary([x for x in rows if x["kind"] == "title"]),
            "word_queries": summary([x for x in rows if x["kind"] == "word"]), "head_queries": summary(head)}


# --- latency ---------------------------------------------------------------------------------------
def latencies(searcher, setting) -> dict:
    from wikisearch.evaluate import load_queries
    from wikisearch.errors import InvalidQueryError
    queries = []
    for q in load_queries(QUERIES).values():           # warm-up pass, drops unsearchable queries
        try:
            searcher.search(q, k=10, priors=setting)
            queries.append(q)
        except InvalidQueryError:
            pass
    times: dict = {"off": [], "on": []}
    for rep in range(5):                                # interleaved: both see the same load
        for q in queries:
            for name, s in (("off", False), ("on", setting))[::1 if rep % 2 else -1]:
                t = time.perf_counter()
                searcher.search(q, k=10, priors=s)
                times[name].append((time.perf_counter() - t) * 1000)
    out = {}
    for name, ms in times.items():
        out[f"search_{name}_mean_ms"] = statistics.fmean(ms)
        out[f"search_{name}_p50_ms"] = percentile(ms, 50)
        out[f"search_{name}_p95_ms"] = percentile(ms, 95)
    r = searcher.reader
    prefixes = [r.title(d)[:n] for d in range(0, r.n_docs, max(1, r.n_docs // 300)) for n in (1, 2, 4, 8)]
    searcher.suggest("a", 10)                               # builds nothing: arrays are in priors.bin
    ms = []
    for p in prefixes:
        t = time.perf_counter()
        searcher.suggest(p, 10)
        ms.append((time.perf_counter() - t) * 1000)
    one = [(time.perf_counter(), searcher.suggest(p, 10), time.perf_counter()) for p in "abcmst"]
    out.update({"suggest_prefixes": len(prefixes), "suggest_mean_ms": statistics.fmean(ms),
                "suggest_p50_ms": percentile(ms, 50), "suggest_p95_ms": percentile(ms, 95),
                "suggest_max_ms": max(ms),
                "suggest_one_letter_max_ms": max((b - a) * 1000 for a, _, b in one)})
    return out


# --- report ----------------------------------------------------------------------------------------
def _rank(x):
    return "-" if x is None else str(x)


def markdown(r: dict) -> str:
    db, di, ki, lat = r["dbpedia"], r["discernatron"], r["known_items"], r["latency"]
    cfg = r["prior_config"]
    L = ["# bench_priors: popularity priors on the 30k-article corpus", "",
         f"Corpus sha256 {r['corpus_sha256'][:16]}..., {r['n_docs']:,} documents, "
         f"{r['priors']['with_views']} with September 2017 page views (the Discernatron pages), "
         f"share of {r['priors']['total_views']:.2g} views; no links in this corpus.", "",
         f"Prior: {cfg['pageviews_weight']:.3g}·satu(share; k={cfg['pageviews_k']:g}, a={cfg['pageviews_a']:g}) + "
         f"{cfg['inlinks_weight']:.3g}·satu(inlinks; k={cfg['inlinks_k']:g}, a={cfg['inlinks_a']:g}) "
         f"= CirrusSearch's wsum_inclinks_pv weights (3, 10) x {db['scale']:.3f}, the scale picked on "
         "DBpedia-Entity v2.", "",
         "## nDCG@10 without and with priors", "",
         "| judgments | queries | without | with | change |", "|---|---|---|---|---|"]
    off, on = db["off"]["nDCG@10"], db["on"]["nDCG@10"]
    L.append(f"| DBpedia-Entity v2 (all queries; s picked on them) | {db['n_queries']} | {off:.4f} | {on:.4f} | "
             f"{(on - off) * 100:+.2f} pt |")
    L.append(f"| DBpedia-Entity v2, 5-fold CV (s picked on training folds) | {db['n_queries']} | "
             f"{db['cv_test_off']:.4f} | {db['cv_test_on']:.4f} | {(db['cv_test_on'] - db['cv_test_off']) * 100:+.2f} pt |")
    ci = db["cirrus_weights"]["nDCG@10"]
    L.append(f"| DBpedia-Entity v2 with CirrusSearch's weights unscaled (3, 10) | {db['n_queries']} | {off:.4f} | "
             f"{ci:.4f} | {(ci - off) * 100:+.2f} pt |")
    for label in ("all", "reliable"):
        d = di[label]
        for m in ("nDCG@10", "condensed_nDCG@10"):
            a, b = d["off"][m], d["on"][m]
            L.append(f"| Discernatron ({label} judgments), {m.replace('_', ' ')} | {d['n_queries']} | {a:.4f} | "
                     f"{b:.4f} | {(b - a) * 100:+.2f} pt |")
    L += ["", "Discernatron: pages judged 0-3 for real enwiki search queries, restricted to the corpus "
          "(queries with a page scored >= 1). The page-view file holds exactly the judged pages, so "
          "plain nDCG@10 flatters the prior (it lifts judged pages over unjudged ones); condensed "
          "nDCG@10 (unjudged pages dropped from the run) compares the orderings of judged pages only.", "",
          "### Folds (DBpedia-Entity v2)", "", "| fold | s | train with | test without | test with |",
          "|---|---|---|---|---|"]
    for f in db["folds"]:
        L.append(f"| {f['fold']} | {f['scale']:.3f} | {f['train']:.4f} | {f['test_off']:.4f} | {f['test']:.4f} |")
    L += ["", "### Sensitivity: DBpedia nDCG@10 (all queries) by scale s and k_pv", "",
          "| k_pv \\ s | " + " | ".join(f"{s:.3f}" for s in SCALES) + " |", "|---" * (len(SCALES) + 1) + "|"]
    for k, row in db["grid_ndcg10"].items():
        L.append(f"| {k} | " + " | ".join(f"{v:.4f}" for v in row.values()) + " |")
    L += ["", "## Known items: famous pages (most viewed in the corpus)", "",
          "| queries | n | top-1 without | top-1 with | MRR@10 without | MRR@10 with | better | worse |",
          "|---|---|---|---|---|---|---|---|"]
    for name, key in (("full title", "title_queries"), ("one title word", "word_queries"),
                      ("ambiguous head queries", "head_queries")):
        s = ki[key]
        L.append(f"| {name} | {s['n']} | {s['top1_off']} | {s['top1_on']} | {s['mrr10_off']:.3f} | "
                 f"{s['mrr10_on']:.3f} | {s['better']} | {s['worse']} |")
    L += ["", "| query | wanted page | views (Sep 2017) | rank without | rank with |", "|---|---|---|---|---|"]
    for h in ki["head"]:
        L.append(f"| {h['query']} | {h['page']} | {h['views']:,.0f} | {_rank(h['off'])} | {_rank(h['on'])} |")
    changed = [x for x in ki["rows"] if x["kind"] == "word" and x["off"] != x["on"]]
    L += ["", f"One-word queries whose rank changed ({len(changed)}):", "",
          "| query | page | without | with |", "|---|---|---|---|"]
    for x in changed:
        L.append(f"| {x['query']} | {x['page']} | {_rank(x['off'])} | {_rank(x['on'])} |")
    L += ["", "## Latency (one thread, warm)", "", "| measure | value |", "|---|---|",
          "| DBpedia queries, k=10, interleaved x5 | mean / p50 / p95 |",
          f"| search without priors | {lat['search_off_mean_ms']:.3f} / {lat['search_off_p50_ms']:.3f} / "
          f"{lat['search_off_p95_ms']:.3f} ms |",
          f"| search with priors | {lat['search_on_mean_ms']:.3f} / {lat['search_on_p50_ms']:.3f} / "
          f"{lat['search_on_p95_ms']:.3f} ms |",
          f"| suggest ({lat['suggest_prefixes']} title prefixes of 1-8 chars), mean / p95 / max | "
          f"{lat['suggest_mean_ms']:.3f} / {lat['suggest_p95_ms']:.3f} / {lat['suggest_max_ms']:.3f} ms |",
          f"| suggest, one-letter prefixes, max | {lat['suggest_one_letter_max_ms']:.3f} ms |", "",
          f"Machine: {r['machine']['platform']}, {r['machine']['cpus']} CPUs, load {r['machine']['load_avg']}; "
          f"python {r['machine']['python']}, numpy {r['machine']['numpy']}, numba {r['machine']['numba']}.", ""]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=RESULTS / "tmp" / "enwiki30k-priors")
    ap.add_argument("--workers", type=int, default=2, help="build workers if the index is missing")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    from wikisearch.popularity.update import update_priors
    from wikisearch.search.searcher import Searcher

    t0 = time.perf_counter()
    build = ensure_index(args.index, CORPUS, args.workers, RankConfig())
    summary = update_priors(args.index, [PAGEVIEWS], total_views=TOTAL_VIEWS, config=scaled(1 / 3))
    searcher = Searcher(args.index)
    searcher.warmup()
    db = dbpedia(searcher)
    chosen = scaled(db["scale"])
    update_priors(args.index, config=chosen)               # store the tuned weights with the views
    searcher = Searcher(args.index)
    searcher.warmup()
    result = {"benchmark": "bench_priors", "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(),
              "corpus_sha256": corpus_checksum(CORPUS), "n_docs": searcher.n_docs,
              "index": {"path": str(args.index), **build}, "rank_config": searcher.reader.rank_config.to_json(),
              "pageviews_file": PAGEVIEWS.name, "total_views_assumed": TOTAL_VIEWS,
              "priors": {k: summary[k] for k in ("with_views", "views", "total_views", "sources")},
              "prior_config": chosen.to_json(), "dbpedia": db,
              "discernatron": discernatron(searcher, {"off": False, "on": chosen,
                                                      "cirrus_weights": scaled(1.0)},
                                            lambda setting: {"priors": setting}),
              "known_items": known_items(searcher, chosen), "latency": latencies(searcher, chosen)}
    result["seconds"] = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "priors.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (args.out / "priors.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
