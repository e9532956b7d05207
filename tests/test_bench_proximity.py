"""Term proximity from the stored prefixes (benchmarks/bench_proximity.py, weighed for the
re-ranker by ``relevance.py --select proximity`` and not shipped): the features against a
brute-force oracle on the sample dump's index, and by hand."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.search.rerank import query_terms
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _oracle import oracle_proximity_features  # noqa: E402
from bench_proximity import PROX_WINDOW, PROXIMITY_FEATURES, proximity_features, query_terms_idf  # noqa: E402

QUERIES = ["german chancellor physicist", "swedish furniture company founded", "city river spree",
           "computer company armonk new york", "berlin", "merkel cdu party leader europe",
           "berlin wall berlin", "the capital of germany is berlin"]
COL = {f: i for i, f in enumerate(PROXIMITY_FEATURES)}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("proximity") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(out)


# (the oracle tries every window: 4,000 characters cost ~60 s over the queries, so that size runs
# with -m slow; 1,000 and 300 characters run by default)
@pytest.mark.parametrize("chars", [pytest.param(4000, marks=pytest.mark.slow), 1000, 300])
@pytest.mark.parametrize("query", QUERIES)
def test_proximity_features_match_the_oracle(searcher, query, chars):
    r = searcher.reader
    docids = [h.docid for h in searcher.search(query, k=20, priors=False)]
    terms, idf = query_terms_idf(r, query)
    assert [r.term_ordinal(t) for t in terms] == query_terms(r, query)
    P = proximity_features(r, terms, idf, docids, chars)
    want = oracle_proximity_features(r, terms, idf.tolist(), docids, chars, PROX_WINDOW)
    for name, j in COL.items():
        np.testing.assert_allclose(P[:, j], [w[name] for w in want], rtol=1e-12, atol=1e-12, err_msg=name)


def test_proximity_features_by_hand(searcher):
    """The sample dump's Berlin page: its first sentence holds 'capital' and 'Germany'; 'berlin
    capital germany' is all in it, within a 10-token window. No terms or no candidates: rows of 0."""
    r = searcher.reader
    berlin = r.docid_for_title("Berlin")
    first = r.stored_text(berlin)["opening"].split(". ")[0].lower()
    assert "capital" in first and "germany" in first
    terms, _ = query_terms_idf(r, "berlin capital germany")
    P = proximity_features(r, terms, [1.0] * len(terms), [berlin])
    assert P[0, COL["prefix_cov"]] == 1.0 and P[0, COL["first_sentence_cov"]] == 1.0
    assert P[0, COL["prox_window"]] == 1.0
    P = proximity_features(r, terms[1:], [1.0, 1.0], [berlin])
    assert P[0, COL["prox_bigrams"]] in (0.0, 1.0)      # 'capital germany' adjacent, or not
    assert proximity_features(r, [], [], [berlin]).tolist() == [[0.0] * len(PROXIMITY_FEATURES)]
    assert proximity_features(r, terms, [1.0] * len(terms), []).shape == (0, len(PROXIMITY_FEATURES))
