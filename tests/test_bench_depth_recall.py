"""benchmarks/depth_recall.py: where the first stage puts each relevant page, counted by rank band
and query type, on a hand-made ranking whose answer is worked out by hand."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import depth_recall as dr  # noqa: E402


def test_bands_by_hand():
    ranking = list(range(1000, 1300))             # rank r (0-based) holds docid 1000 + r
    queries = {"a": "first query", "b": "second query"}
    qrels = {"a": {1000: 2, 1150: 1, 7: 1, 1001: 0},   # ranks 0 and 150; docid 7 never ranked; grade 0 left out
             "b": {1299: 1, 1100: 2}}                  # ranks 299 and 100
    types = {"a": "X", "b": "Y"}
    seen = []

    def first_stage(text, depth):
        seen.append((text, depth))
        return ranking[:depth]
    res = dr.recall_by_band(first_stage, queries, qrels, types)
    assert seen == [("first query", 300), ("second query", 300)]
    assert list(res) == ["X", "Y", "all"]
    x, y, al = res["X"], res["Y"], res["all"]
    assert (x["relevant"], x["grades"]) == (3, 4)
    assert x["bands"]["1-100"] == {"share": pytest.approx(1 / 3), "grade_share": pytest.approx(2 / 4)}
    assert x["bands"]["101-200"] == {"share": pytest.approx(1 / 3), "grade_share": pytest.approx(1 / 4)}
    assert x["bands"]["201-300"] == {"share": 0.0, "grade_share": 0.0}
    assert y["bands"]["1-100"]["share"] == 0.0
    assert y["bands"]["101-200"] == {"share": pytest.approx(1 / 2), "grade_share": pytest.approx(2 / 3)}
    assert y["bands"]["201-300"] == {"share": pytest.approx(1 / 2), "grade_share": pytest.approx(1 / 3)}
    assert (al["relevant"], al["grades"]) == (5, 7)
    assert al["bands"]["101-200"]["share"] == pytest.approx(2 / 5)
    assert al["bands"]["101-200"]["grade_share"] == pytest.approx(3 / 7)


def test_a_short_ranking_counts_what_it_lacks_as_missed():
    res = dr.recall_by_band(lambda text, depth: [5, 6], {"q": "t"}, {"q": {6: 1, 9: 1}}, {})
    assert res["?"]["bands"]["1-100"]["share"] == pytest.approx(0.5)
    assert sum(b["share"] for b in res["all"]["bands"].values()) == pytest.approx(0.5)
