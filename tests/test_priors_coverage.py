"""Priors that could hurt silently: ``update_priors`` reports how many documents have page views
and warns when few do; ``remove_priors`` takes them away again."""
from __future__ import annotations

import pytest

import wikisearch
from wikisearch.build import build_index
from wikisearch.errors import WikisearchError
from wikisearch.popularity.update import LOW_COVERAGE, remove_priors, update_priors
from wikisearch.search.searcher import Searcher


@pytest.fixture
def index(tmp_path):
    return build_index([wikisearch.sample_dump()], tmp_path / "idx")


def _views(tmp_path, titles):
    path = tmp_path / "views.txt"
    path.write_text("".join(f"en {t.replace(' ', '_')} {100 + i} 0\n" for i, t in enumerate(titles)))
    return path


def test_low_coverage_warns(index, tmp_path):
    s = update_priors(index, [_views(tmp_path, ["Berlin", "IKEA"])], fmt="pageviews")
    assert s["with_views"] == 2 and s["views_coverage"] == pytest.approx(2 / 24)
    assert len(s["warnings"]) == 1 and "only 2 of 24 documents (8.3%) have page views" in s["warnings"][0]


def test_enough_coverage_is_silent(index, tmp_path):
    titles = Searcher(index).reader.titles()
    n = int(len(titles) * LOW_COVERAGE) + 1
    s = update_priors(index, [_views(tmp_path, titles[:n])], fmt="pageviews")
    assert s["with_views"] == n and s["warnings"] == []


def test_no_views_at_all_is_no_warning(index):
    s = update_priors(index, [])                          # in-links only: nothing lifted over others
    assert s["with_views"] == 0 and s["warnings"] == []


def test_remove(index, tmp_path):
    update_priors(index, [_views(tmp_path, ["Berlin"])], fmt="pageviews")
    assert Searcher(index).priors is not None
    before = {p.name: p.read_bytes() for p in index.iterdir() if p.name != "priors.bin"}
    assert remove_priors(index) == index / "priors.bin"
    assert Searcher(index).priors is None
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before     # the index is untouched
    assert remove_priors(index) is None
    with pytest.raises(WikisearchError, match="no index"):
        remove_priors(tmp_path / "nope")
