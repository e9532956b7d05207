"""Effectiveness of a run file, computed the same way for every engine (ir_measures).

Runs are scored by rank, not by the engines' own scores: ``ir_measures`` (like trec_eval) sorts by
score, and ties would otherwise be broken by document id instead of the order the engine returned.
A query with no results, or missing from the run, counts as 0.
"""
from __future__ import annotations

from pathlib import Path

MEASURES = ("nDCG@10", "RR@10", "R@100")
#: Names used in the results: RR@10 is reported as MRR@10 (its mean over queries).
LABELS = {"nDCG@10": "ndcg@10", "RR@10": "mrr@10", "R@100": "recall@100"}


def read_run(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text().splitlines():
        qid, _, doc, rank, _score, _name = line.split()
        run.setdefault(qid, {})[doc] = 10_000.0 - int(rank)
    return run


def evaluate(run_path: Path, qrels: dict[str, dict[str, int]]) -> dict:
    """Mean nDCG@10, MRR@10 and Recall@100 over every query of ``qrels``, plus per-query values."""
    import ir_measures

    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    run = read_run(run_path)
    per_query = {LABELS[m]: {q: 0.0 for q in qrels} for m in MEASURES}
    present = {q: run[q] for q in qrels if run.get(q)}
    if present:
        for metric in ir_measures.iter_calc(measures, qrels, present):
            per_query[LABELS[str(metric.measure)]][metric.query_id] = float(metric.value)
    n = max(len(qrels), 1)
    out = {label: sum(values.values()) / n for label, values in per_query.items()}
    out["per_query"] = per_query
    return out
