"""What a search gives back, from a notebook: the article behind a hit (``hit.text``,
``hit.fields``, ``searcher.doc``), records and DataFrames, pages of hits, batches of queries,
and the package's public names."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import wikisearch
from wikisearch.build import build_index
from wikisearch.errors import InvalidQueryError, MissingExtraError, WikisearchError
from wikisearch.search.results import Document, SearchResult
from wikisearch.search.searcher import Searcher

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("idx") / "sample"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(str(out))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """tests/data/tiny.xml: Lata Mangeshkar with the redirect "Lata", a Russian page, an empty one."""
    out = tmp_path_factory.mktemp("idx") / "tiny"
    build_index([str(DATA / "tiny.xml")], str(out), workers=1)
    return Searcher(str(out))


@pytest.fixture(scope="module")
def no_text(tmp_path_factory):
    out = tmp_path_factory.mktemp("idx") / "nostore"
    build_index([str(DATA / "tiny.xml")], str(out), workers=1, store_text=False)
    return Searcher(str(out))


# --- the article behind a hit ---------------------------------------------------------------------
def test_hit_text_and_fields_come_from_the_stored_text(sample):
    hit = sample.search("swedish furniture", k=1)[0]
    assert hit.title == "IKEA"
    stored = sample.reader.stored_text(hit.docid)
    assert hit.fields == stored
    assert hit.text == stored["opening"] + "\n\n" + stored["body"]
    assert hit.text.startswith("IKEA") and "furniture" in hit.text
    assert set(hit.fields) == set(wikisearch.FIELDS)


def test_hit_text_is_read_only_when_asked_for(sample, monkeypatch):
    calls = []
    real = sample.reader.stored_text
    monkeypatch.setattr(sample.reader, "stored_text", lambda d: calls.append(d) or real(d))
    result = sample.search("berlin", k=5)
    assert calls == []                                   # ranking reads no stored text
    result[1].text
    assert calls == [result[1].docid]


def test_hit_text_without_stored_text_is_a_clear_error(no_text):
    hit = no_text.search("lata", k=1)[0]
    with pytest.raises(WikisearchError, match="stores no text.*--no-store"):
        hit.text
    with pytest.raises(WikisearchError, match="stores no text"):
        hit.fields
    doc = no_text.doc("Lata Mangeshkar")                 # identity still works
    assert doc.title == "Lata Mangeshkar" and not doc.has_text
    assert doc.to_json()["title"] == "Lata Mangeshkar" and "text" not in doc.to_json()
    assert "stores no text" in doc.describe()
    with pytest.raises(WikisearchError, match="stores no text"):
        doc.categories


def test_doc_by_title_redirect_normalised_title_and_page_id(tiny):
    doc = tiny.doc("Lata Mangeshkar")
    assert isinstance(doc, Document) and doc.title == "Lata Mangeshkar"
    assert tiny.doc("Lata").docid == doc.docid                       # a redirect gives its target
    assert tiny.doc("lata_Mangeshkar").docid == doc.docid            # as Wikipedia normalises
    assert tiny.doc("LATA MANGESHKAR").docid == doc.docid            # only the case differs
    assert tiny.doc(doc.page_id).docid == doc.docid                  # an int is a page id
    assert doc.redirects == ["Lata"]
    assert doc.url == "https://en.wikipedia.org/wiki/Lata_Mangeshkar"
    assert tiny.doc("Москва").title == "Москва"


def test_doc_parts(sample):
    doc = sample.doc("Berlin")
    stored = sample.reader.stored_text(doc.docid)
    assert doc.fields == stored
    assert doc.sections == [s for s in stored["heading"].split("\n") if s]
    assert doc.sections[:2] == ["History", "Etymology"]
    assert doc.categories[0] == "Berlin" and "German state capitals" in doc.categories
    assert doc.infobox["name"] == "Berlin" and doc.infobox["subdivision_name"] == "Germany"
    assert doc.opening.startswith("Berlin") and doc.text.startswith(doc.opening)
    j = doc.to_json()
    assert j["infobox"]["name"] == "Berlin" and j["sections"] == doc.sections
    view = doc.describe()
    assert view.splitlines()[0] == "Berlin" and "Infobox:" in view and "Categories (" in view


@pytest.mark.parametrize("key, message", [
    ("No Such Article", "no article titled 'No Such Article'"),
    (987654321, "no article with page id 987654321"),
    ("", "give a title"), (None, "give a title"), (True, "give a title"),
])
def test_doc_not_found_is_a_clear_error(sample, key, message):
    with pytest.raises(WikisearchError, match=message):
        sample.doc(key)


def test_doc_not_found_suggests_titles(sample):
    with pytest.raises(WikisearchError, match="titles starting so: Berlin"):
        sample.doc("Berl")


# --- records, DataFrames, pages ----------------------------------------------------------------------
def test_to_records(sample):
    result = sample.search("berlin wall", k=3)
    rows = result.to_records()
    assert [r["title"] for r in rows] == [h.title for h in result]
    assert list(rows[0]) == ["rank", "title", "score", "url", "page_id", "docid", "matched_fields"]
    assert rows[0]["rank"] == 1 and rows[0]["score"] == result[0].score
    with_text = result.to_records(text=True)
    assert with_text[0]["text"] == result[0].text


def test_to_pandas_without_pandas_is_a_clear_error(sample, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)          # import pandas -> ImportError
    with pytest.raises(MissingExtraError, match="pip install pandas"):
        sample.search("berlin").to_pandas()


def test_to_pandas_makes_one_row_per_hit(sample, monkeypatch):
    made = {}

    class FakeFrame:
        def __init__(self, data, columns):
            made.update(data=data, columns=columns)
    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=FakeFrame))
    result = sample.search("berlin", k=4)
    result.to_pandas()
    assert made["data"] == result.to_records()
    assert made["columns"][:3] == ["rank", "title", "score"]


def test_to_pandas_with_real_pandas(sample):
    # pandas is optional for users; the dev extra installs it, so CI runs this for real
    from conftest import require_import
    pd = require_import("pandas", why="to_pandas() with the real library (the dev extra has it)")
    df = sample.search("berlin", k=4).to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 4 and df["title"].iloc[0] == "Berlin"


def test_a_slice_is_a_result_with_the_same_totals(sample):
    full = sample.search("germany", k=10)
    page = full[3:6]
    assert isinstance(page, SearchResult)
    assert [h.rank for h in page] == [4, 5, 6]
    assert page.total_matches == full.total_matches and page.query == full.query
    assert page.to_json()["hits"] == [h.to_json() for h in full][3:6]
    assert isinstance(full[0], wikisearch.Hit)


# --- batches ---------------------------------------------------------------------------------------
QUERIES = ["berlin", "swedish furniture", "t:merkel", "germany AND chancellor", '"federal republic"',
           "ikea -furniture", "samsung", "zzzznothing", "berlin intitle:berlin"]


@pytest.mark.parametrize("threads", [None, 1, 3])
def test_search_many_is_search_one_by_one_in_order(sample, threads):
    got = sample.search_many(QUERIES, k=5, threads=threads)
    assert len(got) == len(QUERIES)
    for query, result in zip(QUERIES, got):
        want = sample.search(query, k=5)
        assert result.query == query
        assert [(h.docid, h.score, h.rank) for h in result] == [(h.docid, h.score, h.rank) for h in want]
        assert result.total_matches == want.total_matches


def test_search_many_options_and_offset(sample):
    no_priors = sample.search_many(["berlin"], k=3, priors=False, fields=["t"])[0]
    assert [h.docid for h in no_priors] == [h.docid for h in sample.search("berlin", k=3, fields=["t"])]
    paged = sample.search_many(["germany"], k=2, offset=2)[0]
    full = sample.search("germany", k=4)
    assert [(h.docid, h.rank) for h in paged] == [(h.docid, h.rank) for h in full[2:4]]
    assert sample.search_many([], k=3) == []
    with pytest.raises(InvalidQueryError, match="offset"):
        sample.search_many(["x"], offset=-1)
    with pytest.raises(InvalidQueryError, match="threads"):
        sample.search_many(["x"], threads=0)
    with pytest.raises(InvalidQueryError):
        sample.search_many(["berlin", ""])                # an invalid query raises as search does


# --- the package's names -----------------------------------------------------------------------------
def test_dir_shows_the_public_api():
    names = dir(wikisearch)
    for name in ("build_index", "open", "Searcher", "SearchResult", "Hit", "Document", "RankConfig",
                 "sample_dump", "WikisearchError"):
        assert name in names
        assert name in wikisearch.__all__
        assert getattr(wikisearch, name) is not None
    assert wikisearch.Hit is wikisearch.search.results.Hit


def test_search_offset_pages_through_the_ranking():
    import wikisearch
    from wikisearch import build_index, sample_dump
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        s = wikisearch.open(build_index(sample_dump(), f"{tmp}/idx"))
        whole = s.search("berlin", k=6)
        page = s.search("berlin", k=3, offset=3)
        assert [(h.docid, h.score, h.rank) for h in page] == [(h.docid, h.score, h.rank) for h in whole[3:6]]
        assert page.total_matches == whole.total_matches
        with pytest.raises(wikisearch.WikisearchError):
            s.search("berlin", offset=-1)
