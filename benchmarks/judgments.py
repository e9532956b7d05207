"""Discernatron judgments (real Wikipedia search queries, graded pages) for benchmarks: loading,
nDCG@10 with graded gains, and one evaluation loop shared by bench_priors.py and tune_rank.py."""
from __future__ import annotations

import csv
import math
import statistics

from bench_query import DATA

DISCERNATRON = DATA / "judgments" / "discernatron-2017"


def discernatron_judgments(reader, reliable_only: bool):
    """{qid: text}, {qid: {page id: mean score 0-3}} for judged pages in the index, queries with a
    page scored >= 1."""
    present = {int(p) for p in reader.page_ids}
    with open(DISCERNATRON / "search_queries.tsv", newline="", encoding="utf-8") as f:
        queries = {r["query_id"]: r["query"] for r in csv.DictReader(f, delimiter="\t")}
    qrels: dict = {}
    with open(DISCERNATRON / "discernatron_scores.tsv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if int(r["page_id"]) in present and (r["reliable"] == "TRUE" or not reliable_only):
                qrels.setdefault(r["query_id"], {})[int(r["page_id"])] = float(r["score"])
    return queries, {q: j for q, j in qrels.items() if q in queries and max(j.values()) >= 1.0}


def ndcg10(run: list, judged: dict, condensed: bool = False) -> float:
    """nDCG@10 with the graded scores as linear gains (trec_eval's); condensed: unjudged pages
    removed from the run first (Sakai 2007), for sparse judgments."""
    if condensed:
        run = [p for p in run if p in judged]
    dcg = sum(judged.get(p, 0.0) / math.log2(i + 2) for i, p in enumerate(run[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


def discernatron(searcher, settings: dict, search_kwargs) -> dict:
    """nDCG@10 (plain and condensed) on all and on reliable judgments, for each named setting;
    ``search_kwargs(setting)`` gives the ``Searcher.search`` keywords of a setting."""
    from wikisearch.errors import InvalidQueryError
    out = {}
    for label, reliable in (("all", False), ("reliable", True)):
        queries, qrels = discernatron_judgments(searcher.reader, reliable)
        res = {"n_queries": len(qrels), "n_judged": sum(len(j) for j in qrels.values())}
        for name, setting in settings.items():
            runs = {}
            for q in qrels:
                try:
                    runs[q] = [h.page_id for h in searcher.search(queries[q], k=100, **search_kwargs(setting))]
                except InvalidQueryError:
                    runs[q] = []
            res[name] = {"nDCG@10": statistics.fmean(ndcg10(runs[q], qrels[q]) for q in qrels),
                         "condensed_nDCG@10": statistics.fmean(ndcg10(runs[q], qrels[q], True) for q in qrels)}
        out[label] = res
    return out
