"""Sharded search: an index built as N shards, searched as one, answers exactly like the single
index over the same documents (scores bit for bit, top-k, totals), on random queries of every
kind; shards opened by list, by their directory and by `query -i A -i B`."""
import json
import random

import numpy as np
import pytest
from click.testing import CliRunner

import wikisearch
from conftest import SHARED_DATA, requires_shared
from wikisearch.build import build_index
from wikisearch.cli import main
from wikisearch.config import RankConfig
from wikisearch.errors import WikisearchError
from wikisearch.search.sharded import ShardedSearcher, shard_paths

ENWIK8 = SHARED_DATA / "enwiki-xml" / "enwik8-head-4MB.xml.bz2"
BLOCK = 250_000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    single = build_index([ENWIK8], root / "single", block_bytes=BLOCK)
    sharded = build_index([ENWIK8], root / "sharded", block_bytes=BLOCK, shards=3)
    return single, sharded


def _queries(searcher, n: int, seed: int) -> list[str]:
    """Random queries of every kind from words of random documents' titles."""
    rng = random.Random(seed)
    r = searcher.reader
    words = sorted({w for d in rng.sample(range(r.n_docs), 80) for w in r.title(d).split()
                    if w.isalpha() and len(w) > 2})
    out = []
    for _ in range(n):
        a, b, c = rng.sample(words, 3)
        out.append(rng.choice([a, f"{a} {b}", f"{a} {b} {c}", f"{a} AND {b}", f"{a} OR {b} -{c}",
                               f't:{a} {b}', f'"{a} {b}"', f"intitle:{a} {b}", f"c:{a} b:{b}"]))
    return out


def _same(ra, rb) -> None:
    assert [(h.page_id, h.score, h.matched_fields) for h in ra] == \
           [(h.page_id, h.score, h.matched_fields) for h in rb], ra.query
    assert [h.title for h in ra] == [h.title for h in rb]
    assert (ra.total_matches, ra.total_relation) == (rb.total_matches, rb.total_relation)


@requires_shared(ENWIK8)
def test_shards_answer_like_one_index(built):
    single, sharded = built
    one = wikisearch.open(single)
    many = wikisearch.open(sharded)
    assert isinstance(many, ShardedSearcher) and len(many.shards) == 3
    assert many.n_docs == one.n_docs
    assert all(s.n_docs > 0 for s in many.shards)
    np.testing.assert_array_equal(many.collection.avg_field_lengths, one.reader.avg_field_lengths)
    tfidf = RankConfig(model="tfidf", k1=0.9)
    for q in _queries(one, 60, seed=5):
        for k, rank in ((10, None), (3, tfidf), (50, None)):
            # (no spelling correction: a shard knows only its own words; see sharded.py)
            _same(one.search(q, k=k, rank=rank, correct=False), many.search(q, k=k, rank=rank))
    _same(one.search("the history", k=5, offset=7, correct=False),
          many.search("the history", k=5, offset=7, snippets=True))


@requires_shared(ENWIK8)
def test_rerank_over_shards_answers_like_one_index(built):
    """The re-ranker over shards (each shard's candidates' features with the collection's
    statistics) gives the single index's re-ranked hits: the same pages, scores bit for bit,
    snippets and matched-via, by the library and by `query --rerank`."""
    from wikisearch.search.rerank import (features, proximity, query_terms, rerank, sharded_features,
                                          sharded_proximity)
    single, sharded = built
    one = wikisearch.open(single)
    many = wikisearch.open(sharded)
    queries = _queries(one, 40, seed=11) + ["computer science history", "the history of the united states"]
    for q in queries:
        a, b = rerank(one, q, k=20), rerank(many, q, k=20)
        _same(a, b)
        assert [h.matched_via for h in a] == [h.matched_via for h in b]
    q = queries[-1]
    first_one, first_many = one.search(q, k=100), many.search(q, k=100)
    X = features(one.reader, query_terms(one.reader, q), [h.docid for h in first_one], one.reader.rank_config)
    Y = sharded_features(many, q, [h.docid for h in first_many], [many.shard_of(h) for h in first_many],
                         many.reader.rank_config)
    assert len({many.shard_of(h) for h in first_many}) > 1 and np.array_equal(X, Y)
    # term proximity (each shard's forward.bin, its own term numbers, the collection's idf)
    P = proximity(one, query_terms(one.reader, q), [h.docid for h in first_one], one.reader.rank_config)
    Q = sharded_proximity(many, q, [h.docid for h in first_many], [many.shard_of(h) for h in first_many],
                          many.reader.rank_config)
    assert np.array_equal(P, Q) and P[:, 0].max() > 0
    a = rerank(one, "the history", k=5, offset=7, snippets=True)
    b = rerank(many, "the history", k=5, offset=7, snippets=True)
    _same(a, b)
    assert [h.snippet.to_json() for h in a] == [h.snippet.to_json() for h in b] and a[0].snippet.text
    args = ["query", q, "--json", "-k", "7", "--no-correct", "--rerank"]
    ra = CliRunner().invoke(main, args + ["-i", str(single)])
    rb = CliRunner().invoke(main, args + ["-i", str(sharded)])
    assert ra.exit_code == 0 and rb.exit_code == 0, (ra.output, rb.output)
    ha, hb = json.loads(ra.stdout)["hits"], json.loads(rb.stdout)["hits"]
    assert len(ha) == 7 and [(h["page_id"], h["score"]) for h in ha] == [(h["page_id"], h["score"]) for h in hb]


@requires_shared(ENWIK8)
def test_eval_over_shards_counts_every_shards_documents(built, tmp_path):
    """`wikisearch eval -i SHARDS` (and ``evaluate`` over a ShardedSearcher) keeps the judgments of
    documents in every shard, not the first's alone, and measures what the single index measures,
    re-ranked or not, by title and by page id."""
    from wikisearch.evaluate import evaluate, restrict_qrels
    single, sharded = built
    one = wikisearch.open(single)
    many = wikisearch.open(sharded)
    rng = random.Random(4)
    r = one.reader
    words = {d: [w for w in r.title(d).split() if w.isalpha() and len(w) > 2][:2] for d in range(r.n_docs)}
    docs = rng.sample([d for d, w in words.items() if w], 60)
    queries = {f"q{i}": " ".join(words[d]) for i, d in enumerate(docs)}
    by_title = {f"q{i}": {r.title(d).replace(" ", "_"): 1} for i, d in enumerate(docs)}
    by_id = {f"q{i}": {str(r.page_id(d)): 1} for i, d in enumerate(docs)}
    assert len({many.shard_of(h) for q in queries.values() for h in many.search(q, k=1)}) == 3
    first_only = restrict_qrels(by_title, many.shards[0].reader)
    assert 0 < len(first_only) < len(by_title)       # what restricting by the first shard lost
    for qrels, key in ((by_title, "title"), (by_id, "page_id")):
        for rerank in (None, True):
            a = evaluate(one, queries, qrels, key=key, rerank=rerank, priors=False)
            b = evaluate(many, queries, qrels, key=key, rerank=rerank, priors=False)
            assert a["n_queries"] == b["n_queries"] == len(queries)
            assert a["per_query"] == b["per_query"] and a["measures"] == b["measures"], (key, rerank)
    (tmp_path / "q.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in queries.items()))
    (tmp_path / "qrels").write_text("".join(f"{q} 0 {d} 1\n" for q, j in by_title.items() for d in j))
    out = [CliRunner().invoke(main, ["eval", "-i", str(i), "--queries", str(tmp_path / "q.tsv"), "--qrels",
                                     str(tmp_path / "qrels"), "--json", "--no-priors"]) for i in (single, sharded)]
    assert all(o.exit_code == 0 for o in out), [o.output for o in out]
    ra, rb = (json.loads(o.stdout) for o in out)
    assert ra["metrics"] == rb["metrics"] and ra["n_queries"] == rb["n_queries"] == len(queries)
    bad = CliRunner().invoke(main, ["eval", "-i", str(sharded), "--queries", str(tmp_path / "q.tsv"),
                                    "--qrels", str(tmp_path / "qrels"), "--mode", "hybrid"])
    assert bad.exit_code == 1 and "holds shards: dense and hybrid modes take one index" in bad.output


@requires_shared(ENWIK8)
def test_one_index_commands_say_a_directory_holds_shards(built):
    """A command that reads one index, given a directory of shards, says so (not "an interrupted
    build?"), and one shard of it opens as an index."""
    from wikisearch.errors import IndexNotFoundError
    from wikisearch.index.reader import IndexReader
    _single, sharded = built
    with pytest.raises(IndexNotFoundError, match="holds the shards of an index"):
        IndexReader(sharded)
    r = CliRunner().invoke(main, ["inspect", "-i", str(sharded), "--term", "history"])
    assert r.exit_code == 1 and "holds the shards of an index" in r.output and "interrupted" not in r.output
    assert IndexReader(shard_paths(sharded)[0]).n_docs > 0


@requires_shared(ENWIK8)
def test_document_frequencies_add_up(built):
    single, sharded = built
    one = wikisearch.open(single)
    many = wikisearch.open(sharded)
    r = one.reader
    rng = random.Random(2)
    for o in rng.sample(range(r.n_terms), 300):
        assert many.collection.doc_freq(r.term(o)) == r.doc_freq(o)
    assert many.collection.doc_freq("zzzznotaterm") == 0


@requires_shared(ENWIK8)
def test_shards_by_list_directory_and_cli(built):
    single, sharded = built
    dirs = shard_paths(sharded)
    assert [d.name for d in dirs] == ["shard-000", "shard-001", "shard-002"]
    by_list = wikisearch.open([str(d) for d in dirs])
    by_dir = wikisearch.open(sharded)
    q = "computer science history"
    _same(by_list.search(q, k=20), by_dir.search(q, k=20))
    runner = CliRunner()
    args = ["query", q, "--json", "-k", "7", "--no-correct"]
    a = runner.invoke(main, args + ["-i", str(single)])
    b = runner.invoke(main, args + [x for d in dirs for x in ("-i", str(d))])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    ha, hb = json.loads(a.stdout)["hits"], json.loads(b.stdout)["hits"]
    assert len(ha) == 7 and [(h["page_id"], h["score"]) for h in ha] == [(h["page_id"], h["score"]) for h in hb]
    # the document table is split, not copied: each article is in one shard
    pages = [set(np.asarray(s.reader.page_ids).tolist()) for s in by_dir.shards]
    assert sum(map(len, pages)) == len(set().union(*pages)) == by_dir.n_docs


def test_shards_need_as_many_blocks(tmp_path):
    with pytest.raises(WikisearchError, match="--shards 4 needs at least 4 dump blocks"):
        build_index([wikisearch.sample_dump()], tmp_path / "x", shards=4)
    assert not (tmp_path / "x").exists()


def test_shards_built_differently_are_refused(tmp_path):
    a = build_index([wikisearch.sample_dump()], tmp_path / "a")
    b = build_index([wikisearch.sample_dump()], tmp_path / "b", stem=False)
    with pytest.raises(WikisearchError, match="different analyzer settings"):
        wikisearch.open([a, b])
