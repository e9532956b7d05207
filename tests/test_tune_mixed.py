"""benchmarks/tune_mixed.py (issue 17): its nDCG@10 is ir_measures', its weighted objective is the
mean of the sets' means, and its committed results compare against the shipped first stage."""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, require_import  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


@pytest.fixture
def tune_mixed(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return require_import("tune_mixed", why="benchmarks/tune_mixed.py")


def test_ndcg10_equals_ir_measures(tune_mixed):
    """Graded judgments, unjudged and irrelevant pages, runs shorter and longer than 10: the
    script's nDCG@10 (the ascent's objective) equals ir_measures' nDCG@10 (relevance.py's)."""
    irm = require_import("ir_measures", why="relevance.py measures with it")
    rng = np.random.default_rng(17)
    runs, qrels = {}, {}
    for q in range(60):
        docs = rng.permutation(200)[: int(rng.integers(1, 25))].tolist()
        judged = rng.permutation(200)[: int(rng.integers(1, 15))].tolist()
        qrels[str(q)] = {int(d): int(rng.integers(0, 3)) for d in judged}
        if not any(r > 0 for r in qrels[str(q)].values()):
            qrels[str(q)][judged[0]] = 1
        runs[str(q)] = [int(d) for d in docs]
    m = irm.parse_measure("nDCG@10")
    want = {r.query_id: r.value for r in irm.iter_calc(
        [m], {q: {str(d): r for d, r in j.items()} for q, j in qrels.items()},
        {q: {str(d): float(len(v) - i) for i, d in enumerate(v)} for q, v in runs.items()})}
    for q in runs:
        assert tune_mixed.ndcg10(runs[q], qrels[q]) == pytest.approx(want[q], abs=1e-12)
    assert tune_mixed.ndcg10([], {1: 2}) == 0.0


def test_weighted_objective_is_the_mean_of_the_sets_means(tune_mixed):
    """weights() turns {set: qids} into per-query weights whose sum is the mean over sets of each set's
    mean; split by a predicate (``shape``'s two ascents), the two halves add up to it."""
    rng = np.random.default_rng(3)
    parts = {"a": [f"a{i}" for i in range(7)], "b": [f"b{i}" for i in range(31)], "c": [f"c{i}" for i in range(2)]}
    score = {q: float(rng.random()) for qids in parts.values() for q in qids}
    want = statistics.fmean(statistics.fmean(score[q] for q in qids) for qids in parts.values())
    got = sum(w * score[q] for q, w in tune_mixed.weights(parts))
    assert got == pytest.approx(want, abs=1e-12)
    long = {q for q in score if q.endswith(("1", "3"))}
    halves = [sum(w * score[q] for q, w in tune_mixed.weights(parts, keep)) for keep in
              (lambda q: q in long, lambda q: q not in long)]
    assert sum(halves) == pytest.approx(want, abs=1e-12)
    assert 0 < halves[0] < want


def test_committed_results_compare_against_the_shipped_first_stage():
    """The held-out comparison's 'shipped' side is the shipped first stage: its figures equal
    relevance.json's lexical and priors rows (tune_rank.json's fold settings, RankConfig()); the
    inner validation's choice is the highest criterion; the candidate's fold settings keep the
    redirect = 0.75 x title rule."""
    tm = json.loads((RESULTS / "tune_mixed.json").read_text())
    ho = json.loads((RESULTS / "tune_mixed-heldout-mixed.json").read_text())
    rel = json.loads((RESULTS / "relevance.json").read_text())["sets"]
    crit = {k: v["inner"]["criterion"] for k, v in tm["objectives"].items()}
    assert max(crit, key=crit.get) in ("mixed", "shape") and crit["mixed"] - crit["dbpedia"] > 0.003
    assert ho["objective"] == "mixed"
    for stage in ("lexical", "priors"):
        for m in ("nDCG@10", "Success@1", "RR@10"):
            assert ho["heldout"]["shipped"][f"dbpedia/all/{stage}"][m] == pytest.approx(rel["dbpedia"]["all"][stage][m], abs=1e-9)
            for n in ("wikiqa", "known-item", "known-item-noisy"):
                assert ho["heldout"]["shipped"][f"{n}/{stage}"][m] == pytest.approx(rel[n]["heldout"][stage][m], abs=1e-9)
        assert ho["heldout"]["shipped"][f"discernatron-all/{stage}"]["nDCG@10"] == \
            pytest.approx(rel["discernatron"]["all"][stage]["nDCG@10"], abs=1e-9)
    for cfg in [*ho["folds"].values(), ho["final"]]:
        assert cfg["weights"]["redirect"] == 0.75 * cfg["weights"]["title"]
        assert cfg["b"]["redirect"] == cfg["b"]["title"]
