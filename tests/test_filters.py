"""Wikipedia's keywords ``intitle:`` ``incategory:`` ``linksto:`` are filters: they restrict the
results and add nothing to scores (``t:`` ``c:`` ``l:`` ... stay scored words). The exhaustive
oracle (tests/_oracle.py) checks them in test_search.py's random queries; here, what they mean."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.build import build_index
from wikisearch.popularity.priors import Priors
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
from _memindex import MemoryIndex  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("idx") / "sample"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(str(out))


def _passing(searcher, filter_text) -> set[int]:
    return {h.docid for h in searcher.search(filter_text, k=searcher.n_docs)}


@pytest.mark.parametrize("words, filter_text", [
    ("germany", "linksto:Berlin"),
    ("chancellor germany", 'incategory:"German state capitals"'),
    ("company", "intitle:ikea"),
    ("city OR capital", "incategory:Berlin"),
    ("capital AND germany", "linksto:Germany"),
    ('"federal republic"', "linksto:Germany"),
    ("germany -berlin", "linksto:Germany"),
])
def test_a_filter_restricts_without_changing_scores(sample, words, filter_text):
    allowed = _passing(sample, filter_text)
    assert allowed, filter_text
    want = [(h.docid, h.score) for h in sample.search(words, k=sample.n_docs) if h.docid in allowed]
    got = sample.search(f"{words} {filter_text}", k=sample.n_docs)
    assert [(h.docid, h.score) for h in got] == want
    assert got.total_matches == len(want)
    assert sample.search(f"{filter_text} {words}", k=sample.n_docs).to_records() == got.to_records()


def test_filters_alone_list_what_they_let_through_unscored(sample):
    got = sample.search("linksto:Germany", k=sample.n_docs)
    assert len(got) >= 3
    assert all(h.score == 0.0 for h in got)
    assert [h.docid for h in got] == sorted(h.docid for h in got)    # ties: index order
    assert all("link" in h.matched_fields for h in got)


def test_a_field_word_still_scores(sample):
    """``l:germany`` ranks by BM25F in the link field; ``linksto:Germany`` does not rank."""
    scored = sample.search("l:germany", k=sample.n_docs)
    assert len({h.score for h in scored}) > 1
    assert {h.docid for h in scored} == _passing(sample, "linksto:Germany")


def test_two_filters_both_apply(sample):
    both = _passing(sample, "linksto:Germany incategory:Berlin")
    assert both == _passing(sample, "linksto:Germany") & _passing(sample, "incategory:Berlin")


def test_filters_alone_follow_the_popularity_prior():
    docs = [{"title": f"Page {i}", "body": "x", "link": "Target"} for i in range(5)]
    views = np.array([1.0, 50.0, 0.0, 900.0, 10.0])
    s = Searcher(MemoryIndex(docs), priors=Priors(views, np.zeros(5, np.uint32), total_views=1e3))
    got = s.search("linksto:target")
    assert [h.docid for h in got] == [3, 1, 4, 0, 2]
    assert [h.docid for h in s.search("linksto:target", priors=False)] == [0, 1, 2, 3, 4]


def test_a_filter_on_a_field_without_data_warns(tmp_path):
    """WikiExtractor output has no categories or links: say so instead of returning nothing."""
    out = tmp_path / "wx"
    build_index([str(DATA / "dump_wikiextractor.jsonl")], str(out), workers=1)
    s = Searcher(str(out))
    assert s.search("anarchism")
    r = s.search("anarchism incategory:philosophy")
    assert len(r) == 0
    assert any("no category data" in w and "'philosophy'" in w for w in r.warnings), r.warnings
    r = s.search("anarchism linksto:anarchism")
    assert any("no link data" in w for w in r.warnings)
    assert not s.search("anarchism intitle:anarchism").warnings     # titles are always there


def test_the_parsed_query_keeps_its_filters(sample):
    r = sample.search("germany linksto:Berlin")
    assert str(r.parsed) == "germani linksto:berlin"                 # analysed (stemmed) terms
    assert r.to_json()["parsed"] == str(r.parsed)
