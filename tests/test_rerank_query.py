"""The re-ranker where users meet it: ``wikisearch query --rerank`` and ``rerank(...)``'s paging,
snippets and "did you mean" (the same as the first stage's, on the re-ordered hits); and the query
command's own options told apart from query words."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import wikisearch
from wikisearch.cli import main
from wikisearch.errors import InvalidQueryError
from wikisearch.search.rerank import rerank
from wikisearch.search.searcher import Searcher

QUERIES = ["german chancellor physicist", "swedish furniture company founded", "berlin wall"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("rerank-query") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return out


@pytest.fixture(scope="module")
def searcher(index):
    return Searcher(index)


def _ids(result):
    return [(h.docid, h.rank) for h in result]


@pytest.mark.parametrize("query", QUERIES)
def test_rerank_pages_are_slices_of_one_ranking(searcher, query):
    whole = rerank(searcher, query, k=100)          # every match (the sample has 24 pages)
    for offset, k in [(0, 3), (3, 3), (5, 4), (11, 5), (30, 2)]:
        page = rerank(searcher, query, k=k, offset=offset)
        assert [h.docid for h in page] == [h.docid for h in whole][offset:offset + k]
        assert [h.rank for h in page] == list(range(offset + 1, offset + 1 + len(page)))
        assert page.flags["rerank"] is True
    with pytest.raises(InvalidQueryError, match="offset"):
        rerank(searcher, query, offset=-1)


def test_rerank_snippets_are_the_first_stages_for_the_same_page(searcher):
    q = "swedish furniture company"
    reranked = rerank(searcher, q, k=5, snippets=True, snippet_chars=80)
    plain = {h.docid: h for h in searcher.search(q, k=50, snippets=True, snippet_chars=80)}
    assert len(reranked) == 5
    for h in reranked:
        assert h.snippet is not None and h.snippet.text == plain[h.docid].snippet.text
        assert str(h.matched_via) == str(plain[h.docid].matched_via)
    assert all(h.snippet is None for h in rerank(searcher, q, k=5))
    with pytest.raises(InvalidQueryError, match="snippet_chars"):
        rerank(searcher, q, snippets=True, snippet_chars=0)


def test_rerank_keeps_the_first_stages_spelling(searcher):
    typo = rerank(searcher, "angla merkel", k=3, correct=True)
    first = searcher.search("angla merkel", k=3, correct=True)
    assert (typo.suggestion, typo.rewritten_query) == (first.suggestion, first.rewritten_query)
    assert typo.suggestion or typo.rewritten_query


def test_query_rerank_cli_prints_the_reranked_hits(index, searcher):
    q = "german chancellor physicist"
    r = CliRunner().invoke(main, ["query", "-i", str(index), q, "--rerank", "--json", "-k", "4"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["flags"]["rerank"] is True
    want = rerank(searcher, q, k=4, snippets=True)
    assert [h["title"] for h in out["hits"]] == [h.title for h in want]
    assert [h["score"] for h in out["hits"]] == pytest.approx([h.score for h in want])
    paged = json.loads(CliRunner().invoke(main, ["query", "-i", str(index), q, "--rerank", "--json",
                                                  "-k", "2", "--offset", "2"]).stdout)
    assert [h["title"] for h in paged["hits"]] == [h.title for h in want][2:4]
    table = CliRunner().invoke(main, ["query", "-i", str(index), q, "--rerank", "-k", "2"])
    assert table.exit_code == 0 and f"1. {want[0].title}" in table.output


def test_rerank_is_for_lexical_search(index):
    r = CliRunner().invoke(main, ["query", "-i", str(index), "berlin", "--rerank", "--mode", "hybrid"])
    assert r.exit_code == 2 and "--rerank re-ranks lexical results" in r.output


def test_a_mistyped_long_option_is_an_error_not_query_text(index):
    r = CliRunner().invoke(main, ["query", "-i", str(index), "berlin", "--rernk"])
    assert r.exit_code == 2, r.output
    assert "No such option: --rernk" in r.output and "--rerank" in r.output
    assert "wikisearch query -- --rernk" in r.output           # how to search for it
    # after "--" it is query text (a negated word, here)
    r = CliRunner().invoke(main, ["query", "-i", str(index), "--json", "--", "berlin", "--rernk"])
    assert r.exit_code == 0 and json.loads(r.stdout)["hits"]
    # a flag's second name is an option too (it was once searched for as "-snippets")
    on = CliRunner().invoke(main, ["query", "-i", str(index), "berlin", "--json", "-k", "2"])
    off = CliRunner().invoke(main, ["query", "-i", str(index), "berlin", "--json", "-k", "2", "--no-snippets"])
    assert off.exit_code == 0
    on, off = json.loads(on.stdout), json.loads(off.stdout)
    assert on["parsed"] == off["parsed"] and [h["title"] for h in on["hits"]] == [h["title"] for h in off["hits"]]
    assert on["hits"][0].get("snippet") and not off["hits"][0].get("snippet")
    # a single dash is still a negated word
    neg = CliRunner().invoke(main, ["query", "-i", str(index), "berlin", "-wall", "--json"])
    assert neg.exit_code == 0 and "-wall" in json.loads(neg.stdout)["parsed"]
