"""The query's entity mentioned (benchmarks/entity_mention.py, weighed for the re-ranker by
``relevance.py --select s29-entity``): the kernel against a plain reading, by hand and on the sample
dump's index, with numba and without, and the entity's choice."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.search import _proximity_kernels as PK
from wikisearch.search.rerank import query_terms
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _oracle import oracle_mentions  # noqa: E402
from entity_mention import ENTITY_COLUMNS, entity_columns, mention_features, query_entity  # noqa: E402

BITS = 5


@pytest.mark.parametrize("kernel", [mention_features, mention_features.py_func], ids=["numba", "python"])
def test_mentions_by_hand(kernel):
    """Documents of ordinals, first sentences of 3 tokens: the phrase (4, 7) runs in order at
    token 1 of the first (in its first sentence), at token 5 of the second (after it), reversed in
    the third, split in the fourth; an empty phrase mentions nothing."""
    docs = [[1, 4, 7, 2, 9], [4, 2, 2, 2, 2, 4, 7], [7, 4, 1], [4, 1, 7], [4]]
    counts = np.array([len(d) for d in docs], np.int64)
    starts, words = PK.pack_records(np.array([o for d in docs for o in d], np.int64), counts,
                                    np.minimum(counts, 3), np.int64(BITS), np.int64((1 << BITS) - 1))
    ids = np.arange(len(docs), dtype=np.int64)
    got = kernel(starts, words, np.int64(BITS), ids, np.array([4, 7], np.int64))
    np.testing.assert_array_equal(got, [[1, 1], [1, 0], [0, 0], [0, 0], [0, 0]])
    assert not kernel(starts, words, np.int64(BITS), ids, np.zeros(0, np.int64)).any()
    one = kernel(starts, words, np.int64(BITS), ids, np.array([2], np.int64))
    np.testing.assert_array_equal(one, [[1, 0], [1, 1], [0, 0], [0, 0], [0, 0]])


def test_the_entity_is_the_longest_title_the_query_holds():
    q = [3, 5, 8, 9]
    assert query_entity([[3, 5, 8, 9, 1], [8], [5, 9], [9, 5], []], q) == 2      # longest; ties: earlier
    assert query_entity([[1], [-1], [3, 4]], q) == -1                             # none all in the query
    assert query_entity([[8, 8]], q) == 0                                         # a repeated term


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("entity") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(out)


@pytest.mark.parametrize("query", ["companies founded in sweden", "river spree berlin", "capital of germany",
                                   "physicist chancellor angela merkel", "zzzz qqqq"])
def test_entity_columns_on_the_sample_index_match_the_plain_reading(searcher, query):
    r = searcher.reader
    fwd = searcher.proximity.forward
    docids = np.array([h.docid for h in searcher.search(query, k=30, priors=False)], np.int64)
    ords = query_terms(r, query)
    titles = [[r.term_ordinal(t) for t in r.analyzer.terms(r.title(int(d)))] for d in docids]
    E = entity_columns(fwd, ords, docids, titles)
    assert E.shape == (len(docids), len(ENTITY_COLUMNS))
    e = query_entity(titles, ords)
    if e < 0:
        assert (E == [-1.0, -1.0, 0.0]).all()
        return
    phrase = titles[e]
    assert set(phrase) <= set(ords)
    for i, d in enumerate(docids.tolist()):
        first = int(fwd.words[fwd.starts[d]] >> np.uint64(32))
        assert tuple(E[i, :2]) == oracle_mentions(fwd.ordinals(d).tolist(), first, phrase)
    assert E[e, 0] in (0.0, 1.0) and (E[:, 2] == len(set(phrase)) / len(set(ords))).all()
    np.testing.assert_array_equal(mention_features.py_func(fwd.starts, fwd.words, fwd.bits, docids,
                                                           np.asarray(phrase, np.int64)), E[:, :2])
