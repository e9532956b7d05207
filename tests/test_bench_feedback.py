"""Pseudo-relevance feedback from the forward index (benchmarks/feedback.py, weighed for the
re-ranker by ``relevance.py --select s29-feedback`` and not kept): the kernel against a plain
reading of its definition, by hand and on the sample dump's index, with numba and without."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.search import _proximity_kernels as PK
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _oracle import oracle_feedback  # noqa: E402
from feedback import feedback_features  # noqa: E402

BITS = 5
SENTINEL = (1 << BITS) - 1


def _records(docs):
    """(starts, words) of hand-made records (each document's ordinals; first sentence: all)."""
    counts = np.array([len(d) for d in docs], np.int64)
    flat = np.array([o for d in docs for o in d], np.int64)
    return PK.pack_records(flat, counts, counts.copy(), np.int64(BITS), np.int64(SENTINEL))


@pytest.mark.parametrize("kernel", [feedback_features, feedback_features.py_func], ids=["numba", "python"])
def test_feedback_by_hand(kernel):
    """Head of two: terms 2 (both head documents, 2 of 4 in all) and 3 (both, 3 of 4) qualify; 1
    and 9 are in one head document only, 5 in none. One term: 2, held by the head only. Two terms:
    document 2 holds 3's weight of the pair. Repeats and the sentinel count for nothing."""
    docs = [[1, 2, 3, 3, 3], [9, 2, 3, SENTINEL], [3, 3], [5]]
    starts, words = _records(docs)
    ids = np.arange(4, dtype=np.int64)
    one = kernel(starts, words, np.int64(BITS), ids, np.int64(2), np.int64(1))
    np.testing.assert_array_equal(one, [1.0, 1.0, 0.0, 0.0])
    two = kernel(starts, words, np.int64(BITS), ids, np.int64(2), np.int64(2))
    w2, w3 = math.log(5 / 2.5), math.log(5 / 3.5)
    np.testing.assert_allclose(two, [1.0, 1.0, w3 / (w2 + w3), 0.0], rtol=1e-15)
    # a head of one, no terms, no candidates: zeros
    assert not kernel(starts, words, np.int64(BITS), ids, np.int64(1), np.int64(5)).any()
    assert not kernel(starts, words, np.int64(BITS), ids, np.int64(2), np.int64(0)).any()
    assert kernel(starts, words, np.int64(BITS), ids[:0], np.int64(2), np.int64(5)).shape == (0,)
    # the candidates' order decides the head: the last two first share no term; the last three, 3
    back = ids[::-1].copy()
    assert not kernel(starts, words, np.int64(BITS), back, np.int64(2), np.int64(5)).any()
    assert kernel(starts, words, np.int64(BITS), back, np.int64(3), np.int64(5)).tolist() == [0.0, 1.0, 1.0, 1.0]
    # ... and, like the rest, matches the plain reading
    for top, n in ((2, 1), (2, 2), (3, 5), (4, 1), (9, 9)):
        got = kernel(starts, words, np.int64(BITS), ids, np.int64(top), np.int64(n))
        np.testing.assert_allclose(got, oracle_feedback(docs, top, n, SENTINEL), rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("feedback") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(out)


@pytest.mark.parametrize("query", ["german chancellor physicist", "swedish furniture company founded",
                                   "city river spree", "berlin", "the capital of germany is berlin"])
def test_feedback_on_the_sample_index_matches_the_plain_reading(searcher, query):
    fwd = searcher.proximity.forward
    assert fwd is not None
    docids = np.array([h.docid for h in searcher.search(query, k=30, priors=False)], np.int64)
    assert len(docids) >= 3
    records = [fwd.ordinals(int(d)) for d in docids]
    sentinel = (1 << int(fwd.bits)) - 1
    for top, n in ((10, 20), (5, 20), (3, 2)):
        want = oracle_feedback(records, top, n, sentinel)
        for kernel in (feedback_features, feedback_features.py_func):
            got = kernel(fwd.starts, fwd.words, fwd.bits, docids, np.int64(top), np.int64(n))
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        assert max(want) > 0
