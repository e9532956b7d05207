"""The shipped ranking defaults are exactly what benchmarks/tune_rank.py found (issue #11).

RankConfig()'s defaults must equal the "final" config of the committed benchmarks/results/tune_rank.json:
if the script is rerun and finds something else, or someone edits the defaults by hand, this fails.
"""
import json
from pathlib import Path

from wikisearch.config import RankConfig

RESULT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "tune_rank.json"


def test_rank_defaults_are_the_tuning_result():
    final = json.loads(RESULT.read_text(encoding="utf-8"))["final"]
    assert final == RankConfig().to_json()
    assert RankConfig.from_json(final) == RankConfig()


def test_tuning_result_is_cross_validated_from_the_documented_start():
    report = json.loads(RESULT.read_text(encoding="utf-8"))
    start = report["start"]
    assert start["k1"] == 1.2
    assert start["weights"] == {"title": 20.0, "redirect": 15.0, "opening": 3.0, "heading": 5.0, "body": 1.0,
                                "infobox": 0.5, "category": 8.0, "link": 0.5, "reference": 0.5}
    assert len(report["folds"]) == 5
    n = sum(f["n_test"] for f in report["folds"])
    held_out = sum(f["test"] * f["n_test"] for f in report["folds"]) / n
    assert abs(held_out - report["cv_test_ndcg"]) < 1e-12
    for cfg in [f["config"] for f in report["folds"]] + [report["final"]]:   # redirect = 0.75 x title
        assert cfg["weights"]["redirect"] == 0.75 * cfg["weights"]["title"]
        assert cfg["b"]["redirect"] == cfg["b"]["title"]
