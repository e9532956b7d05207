"""Proximity from a forward index (benchmarks/bench_forward_proximity.py, session 26; not shipped):
the forward index holds each document's kept prose tokens, and its features equal the stored-text
ones of bench_proximity.py on the sample dump's index."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_forward_proximity import FORWARD_FEATURES, build_forward, forward_features  # noqa: E402
from bench_proximity import PROX_WINDOW, PROXIMITY_FEATURES, proximity_features, query_terms_idf  # noqa: E402

QUERIES = ["german chancellor physicist", "swedish furniture company founded", "city river spree",
           "computer company armonk new york", "berlin", "merkel cdu party leader europe",
           "berlin wall berlin", "the capital of germany is berlin", "zzqqxx berlin"]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("forward") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(out)


@pytest.fixture(scope="module")
def forward(searcher):
    return build_forward(searcher.reader, batch=7)      # (batches that cut the documents unevenly)


def test_forward_index_holds_each_documents_kept_prose_tokens(searcher, forward):
    offsets, ordinals = forward
    r = searcher.reader
    assert offsets.shape == (r.n_docs + 1,) and offsets[0] == 0 and np.all(np.diff(offsets) >= 0)
    assert len(ordinals) == offsets[-1] > 0
    d = r.docid_for_title("Angela Merkel")
    toks = ordinals[offsets[d]:offsets[d + 1]]
    merkel = r.term_ordinal(r.analyzer.terms("Merkel")[0])
    assert merkel in toks.tolist()
    assert np.array_equal(build_forward(r, batch=1000)[1], ordinals)


@pytest.mark.parametrize("query", QUERIES)
def test_forward_features_equal_the_stored_text_ones(searcher, forward, query):
    r = searcher.reader
    offsets, ordinals = forward
    terms, idf = query_terms_idf(r, query)
    if not terms:
        pytest.skip("no term in the index")
    docids = np.arange(r.n_docs, dtype=np.int64)
    want = proximity_features(r, terms, idf, docids)[:, :len(FORWARD_FEATURES)]
    got = forward_features(offsets, ordinals, docids, np.asarray(r.term_ordinals(terms), np.int64),
                           np.asarray(idf, np.float64), PROX_WINDOW)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert FORWARD_FEATURES == PROXIMITY_FEATURES[:4]


def test_the_comparison_is_not_vacuous(searcher, forward):
    """Over the queries, every feature takes values strictly between its extremes somewhere."""
    r = searcher.reader
    offsets, ordinals = forward
    docids = np.arange(r.n_docs, dtype=np.int64)
    rows = []
    for q in QUERIES:
        terms, idf = query_terms_idf(r, q)
        if terms:
            rows.append(forward_features(offsets, ordinals, docids, np.asarray(r.term_ordinals(terms), np.int64),
                                         np.asarray(idf, np.float64), PROX_WINDOW))
    P = np.concatenate(rows)
    assert all(np.any((P[:, f] > 0) & (P[:, f] < 1)) for f in range(P.shape[1]))
    assert np.any(P[:, 3] == 1.0) and np.any(P[:, 0] == 1.0)
