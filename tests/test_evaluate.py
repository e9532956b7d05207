"""evaluate: loaders, DBpedia names, restriction to the index, measures against hand values."""
import sys
from pathlib import Path

import pytest

from wikisearch.errors import WikisearchError
from wikisearch.evaluate import doc_title, evaluate, format_report, load_qrels, load_queries, restrict_qrels
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
from _memindex import MemoryIndex  # noqa: E402
from conftest import shared_path  # noqa: E402

DOCS = [{"title": "Bank of America", "body": "a bank in america"},
        {"title": "Café & Bar", "body": "coffee bar"},
        {"title": "Wells Fargo", "body": "another bank"},
        {"title": "Coffee", "body": "a drink, coffee beans"}]


@pytest.fixture(scope="module")
def searcher():
    return Searcher(MemoryIndex(DOCS))


def test_doc_title():
    assert doc_title("<dbpedia:Bank_of_America>") == "Bank of America"
    assert doc_title("<dbpedia:Caf%C3%A9_&amp;_Bar>") == "Café & Bar"
    assert doc_title("<dbpedia:AC/DC>") == "AC/DC"
    assert doc_title("Plain_Title") == "Plain Title"


def test_loaders(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("q1\tbank america\n\n# comment\nq2\tcoffee\n")
    assert load_queries(q) == {"q1": "bank america", "q2": "coffee"}
    r = tmp_path / "qrels.txt"
    r.write_text("q1 Q0 <dbpedia:Bank_of_America> 2\nq1\tQ0\t<dbpedia:Wells_Fargo>\t1\nq2 0 x 0\n")
    assert load_qrels(r) == {"q1": {"<dbpedia:Bank_of_America>": 2, "<dbpedia:Wells_Fargo>": 1},
                             "q2": {"x": 0}}
    (tmp_path / "bad.txt").write_text("q1 no tab\n")
    with pytest.raises(WikisearchError, match="qid<TAB>"):
        load_queries(tmp_path / "bad.txt")
    (tmp_path / "badq.txt").write_text("q1 0 doc high\n")
    with pytest.raises(WikisearchError, match="not an integer"):
        load_qrels(tmp_path / "badq.txt")


def test_restrict_to_index(searcher):
    qrels = {"q1": {"<dbpedia:Bank_of_America>": 2, "<dbpedia:Not_In_Index>": 1},
             "q2": {"<dbpedia:Not_In_Index>": 2},             # nothing relevant left: dropped
             "q3": {"<dbpedia:Coffee>": 0}}                    # no relevant at all: dropped
    assert restrict_qrels(qrels, searcher.reader) == {"q1": {"Bank of America": 2}}


def test_measures_by_hand(searcher):
    queries = {"q1": "bank", "q2": "coffee", "q3": "the", "q4": "unjudged"}
    qrels = {"q1": {"<dbpedia:Wells_Fargo>": 1, "<dbpedia:Bank_of_America>": 2},
             "q2": {"<dbpedia:Café_&amp;_Bar>": 1},
             "q3": {"<dbpedia:Coffee>": 1}}                    # only a stopword: empty run, zeros
    hits = {q: [h.title for h in searcher.search(t, k=10)] for q, t in queries.items() if q != "q3"}
    r = evaluate(searcher, queries, qrels, k=100)
    assert r["n_queries"] == 3 and r["n_skipped"] == 1
    pq = r["per_query"]
    # q1: both relevant docs are the only matches, in the ideal order (grade 2, then grade 1), so
    # nDCG is 1 whatever the gain (test_ndcg_gain_is_linear tells the gains apart)
    assert hits["q1"] == ["Bank of America", "Wells Fargo"]
    assert pq["q1"]["nDCG@10"] == pytest.approx(1.0)
    assert pq["q1"]["R@100"] == 1.0 and pq["q1"]["RR@10"] == 1.0
    rank = hits["q2"].index("Café & Bar") + 1
    assert pq["q2"]["RR@10"] == pytest.approx(1 / rank)
    assert pq["q3"] == {"nDCG@10": 0.0, "RR@10": 0.0, "R@100": 0.0}
    mean = (pq["q1"]["nDCG@10"] + pq["q2"]["nDCG@10"]) / 3
    assert r["measures"]["nDCG@10"] == pytest.approx(mean)
    assert "MRR@10" in format_report(r)


def test_ndcg_gain_is_linear(searcher):
    """nDCG@10 is trec_eval's (ir_measures -> pytrec_eval ndcg_cut): the gain of a document is its
    grade (linear), not 2**grade - 1 (exponential). The grade-1 document ranks above the grade-2 one:
      DCG  = 1/log2(2) + 2/log2(3) = 1 + 1.261860 = 2.261860
      IDCG = 2/log2(2) + 1/log2(3) = 2 + 0.630930 = 2.630930
      nDCG = 2.261860 / 2.630930 = 0.859719
    (exponential gain: (1 + 3/log2(3)) / (3 + 1/log2(3)) = 2.892789 / 3.630930 = 0.796708)."""
    assert [h.title for h in searcher.search("bank", k=10)] == ["Bank of America", "Wells Fargo"]
    qrels = {"q1": {"<dbpedia:Bank_of_America>": 1, "<dbpedia:Wells_Fargo>": 2}}
    r = evaluate(searcher, {"q1": "bank"}, qrels, k=100)
    assert r["per_query"]["q1"]["nDCG@10"] == pytest.approx(0.859719, abs=1e-6)
    assert r["measures"]["nDCG@10"] == pytest.approx(0.859719, abs=1e-6)
    assert r["per_query"]["q1"]["RR@10"] == 1.0 and r["per_query"]["q1"]["R@100"] == 1.0


def test_page_id_key(searcher):
    qrels = {"q1": {"1000": 2, "1002": 1}}                    # MemoryIndex page ids are 1000 + docid
    r = evaluate(searcher, {"q1": "bank"}, qrels, key="page_id")
    assert r["per_query"]["q1"]["R@100"] == 1.0
    with pytest.raises(WikisearchError, match="key must be"):
        evaluate(searcher, {"q1": "bank"}, qrels, key="url")


def test_real_dbpedia_files_load():
    judgments = shared_path("judgments", "dbpedia-entity-v2")
    queries = load_queries(judgments / "queries-v2.txt")
    qrels = load_qrels(judgments / "qrels-v2.txt")
    assert len(queries) == 467
    assert sum(len(v) for v in qrels.values()) == 49280


def test_coverage_is_reported(searcher):
    queries = {"q1": "bank", "q2": "coffee", "q9": "no judgments"}
    qrels = {"q1": {"<dbpedia:Bank_of_America>": 2, "<dbpedia:Not_In_Index>": 1},
             "q2": {"<dbpedia:Coffee>": 1}, "q5": {"<dbpedia:Wells_Fargo>": 1}}
    r = evaluate(searcher, queries, qrels)
    assert r["coverage"] == {"queries_given": 3, "queries_judged": 2, "judged_documents": 4,
                             "judged_documents_in_index": 3}
    assert "2 of 3 queries evaluated (2 judged); 3 of 4 judged documents" in format_report(r)


def test_nothing_measured_is_an_error_that_says_why(searcher):
    from wikisearch.evaluate import check_coverage
    titles = {"q1": {"<dbpedia:Bank_of_America>": 2}}
    r = evaluate(searcher, {"q1": "bank"}, titles, key="page_id")
    assert r["n_queries"] == 0
    with pytest.raises(WikisearchError, match="none of the 1 judged documents.*by titles.*--key title"):
        check_coverage(r, "page_id", titles)
    ids = {"q1": {"424242": 1}}
    r = evaluate(searcher, {"q1": "bank"}, ids, key="title")
    with pytest.raises(WikisearchError, match="by page ids.*--key page_id"):
        check_coverage(r, "title", ids)
    r = evaluate(searcher, {"other": "bank"}, titles)
    with pytest.raises(WikisearchError, match="query ids .* differ"):
        check_coverage(r, "title", titles)
    check_coverage(evaluate(searcher, {"q1": "bank"}, titles), "title", titles)   # fine: no error


def test_priors_can_be_left_out(searcher, monkeypatch):
    seen = []
    real = searcher.search
    monkeypatch.setattr(searcher, "search", lambda *a, **kw: seen.append(kw.get("priors")) or real(*a, **kw))
    evaluate(searcher, {"q1": "bank"}, {"q1": {"<dbpedia:Bank_of_America>": 2}}, priors=False)
    assert seen == [False]
