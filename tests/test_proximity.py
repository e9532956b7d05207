"""Term proximity for the re-ranker (wikisearch.search.proximity): the build's forward.bin holds
each document's kept prose tokens; its features equal the stored text's (the oracle path) to the
bit and a brute-force oracle's; with and without numba; same bytes whatever the workers; a damaged
record or table is refused in one line; an index without forward.bin re-ranks the same, from its
stored text, and says so."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.errors import CorruptIndexError
from wikisearch.index.reader import IndexReader
from wikisearch.search import _proximity_kernels as PK
from wikisearch.search.proximity import (FILE, PROX_WINDOW, PROXIMITY_FEATURES, ForwardIndex, Proximity,
                                         bits_for, stored_proximity, with_gaps)
from wikisearch.search.rank import idf as idf_of
from wikisearch.search.rerank import (FEATURES, PROXIMITY_COLUMNS, SHAPE_FEATURES, TreeModel, proximity,
                                      query_terms, rerank)
from wikisearch.search.searcher import Searcher
from wikisearch.config import RankConfig

sys.path.insert(0, str(Path(__file__).parent))
from _oracle import oracle_proximity_features, run_with_and_without_jit  # noqa: E402

QUERIES = ["german chancellor physicist", "swedish furniture company founded", "city river spree",
           "computer company armonk new york", "berlin", "merkel cdu party leader europe",
           "berlin wall berlin", "the capital of germany is berlin", "zzqqxx berlin"]
COL = {f: i for i, f in enumerate(PROXIMITY_FEATURES)}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("proximity") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return out


@pytest.fixture(scope="module")
def searcher(index):
    return Searcher(index)


def _terms_idf(r, query):
    ords = query_terms(r, query)
    return ords, np.array([idf_of(r.n_docs, r.doc_freq(o), "bm25f") for o in ords], np.float64)


def test_the_build_writes_forward_bin_into_the_manifest(index, searcher):
    r = searcher.reader
    assert FILE in r.manifest["files"]
    fw = ForwardIndex(Path(r.path) / FILE, r.n_docs, r.n_terms)
    assert fw.starts.shape == (r.n_docs + 1,)
    assert int(fw.bits) == bits_for(r.n_terms)
    assert searcher.proximity.features(np.arange(2), [0], np.ones(1)).shape == (2, 5)
    assert searcher.proximity.forward is not None and searcher.proximity.warning is None


def test_a_record_holds_the_documents_kept_prose_tokens_in_order(searcher):
    from wikisearch.search.snippets import prose_buffer
    r = searcher.reader
    fw = searcher.proximity.forward
    for title in ("Angela Merkel", "Berlin"):
        d = r.docid_for_title(title)
        joined, _ = prose_buffer([r.stored_prefix(d, 4000)], 4000)
        want = [r.term_ordinal(t) for t in r.analyzer.analyze_slow(joined.decode())]
        got = fw.ordinals(d).tolist()
        assert got == want and len(got) > 50


@pytest.mark.parametrize("query", QUERIES)
def test_forward_features_equal_the_stored_text_ones_to_the_bit(searcher, query):
    r = searcher.reader
    ords, idf = _terms_idf(r, query)
    docids = np.arange(r.n_docs)[::-1].copy()                 # every document, in any order
    A = searcher.proximity.forward.features(docids, ords, idf)
    B = stored_proximity(r, ords, idf, docids)
    assert A.shape == (r.n_docs, 5)
    assert np.array_equal(A, B)
    if ords:
        assert A[:, COL["prefix_cov"]].max() > 0


@pytest.mark.parametrize("query", ["german chancellor physicist", "berlin wall berlin", "city river spree"])
def test_features_match_the_brute_force_oracle(searcher, query):
    r = searcher.reader
    ords, idf = _terms_idf(r, query)
    docids = np.array(sorted({h.docid for h in searcher.search(query, k=8)}), np.int64)
    got = searcher.proximity.forward.features(docids, ords, idf)
    want = oracle_proximity_features(r, [r.term(o) for o in ords], idf, docids, 4000, PROX_WINDOW)
    for c, row in enumerate(want):
        assert np.allclose(got[c], [row[f] for f in PROXIMITY_FEATURES], rtol=1e-12, atol=1e-12), (query, c)


def test_no_terms_no_candidates_and_a_term_the_shard_lacks(searcher):
    fw = searcher.proximity.forward
    assert fw.features(np.zeros(0, np.int64), [1, 2], np.ones(2)).shape == (0, 5)
    assert not fw.features(np.arange(3), [], np.zeros(0)).any()
    r = searcher.reader
    ords, idf = _terms_idf(r, "berlin wall")
    with_missing = fw.features(np.arange(r.n_docs), ords + [-1], np.append(idf, 2.0))
    assert np.array_equal(with_missing, stored_proximity(r, ords + [-1], np.append(idf, 2.0), np.arange(r.n_docs)))
    assert with_missing[:, COL["prefix_cov"]].max() < 1.0      # the missing term's idf counts against


def test_gaps_are_each_column_minus_the_best_candidates():
    P = np.array([[0.5, 1.0, 0.0, 0.0, 0.2], [0.25, 0.5, 0.1, 0.0, 0.4]])
    G = with_gaps(P)
    assert G.shape == (2, 10)
    assert np.array_equal(G[:, 5:], P - P.max(axis=0))
    assert with_gaps(np.zeros((0, 5))).shape == (0, 10)


def test_pack_and_unpack_by_hand_across_word_boundaries():
    ords = np.array([5, 0, 6, -1, 3, 1, 2, 6, 6, 0, 5, 4, 3, 2, 1, 0, 6, 6, 6, 6, 6, 1, 2], np.int64)
    counts = np.array([3, 0, 20], np.int64)
    starts, words = PK.pack_records(ords, counts, np.array([2, 0, 7], np.int64), np.int64(3), np.int64(7))
    assert starts.tolist() == [0, 3, 5, 5 + 2 + 1]            # 20 tokens of 3 bits: one word
    assert PK.check_records(starts, words, np.int64(3), np.arange(3)) == -1
    assert PK.unpack_record(starts, words, np.int64(3), np.int64(0)).tolist() == [5, 0, 6]
    assert PK.unpack_record(starts, words, np.int64(3), np.int64(1)).tolist() == []
    assert PK.unpack_record(starts, words, np.int64(3), np.int64(2)).tolist() == [7] + ords[4:].tolist()
    starts, words = PK.pack_records(np.arange(30, dtype=np.int64), np.array([30], np.int64),
                                    np.array([30], np.int64), np.int64(5), np.int64(31))
    assert PK.unpack_record(starts, words, np.int64(5), np.int64(0)).tolist() == list(range(30))   # 150 bits
    for w in range(len(words)):                                  # any damaged word is seen
        bad = words.copy()
        bad[w] ^= np.uint64(1 << (w % 64))
        assert PK.check_records(starts, bad, np.int64(5), np.array([0])) == 0


def test_kernels_with_and_without_jit(index):
    code = f"""
import json, numpy as np
from wikisearch.search.searcher import Searcher
from wikisearch.search.proximity import stored_proximity, forward_records
from wikisearch.search.rerank import query_terms
from wikisearch.search.rank import idf
s = Searcher({str(index)!r}); r = s.reader
sizes, words = forward_records(r, r.analyzer, 0, r.n_docs, batch=5)
out = {{"sizes": sizes.tolist(), "words": [int(w) for w in words[:400]], "n": int(len(words))}}
for q in {QUERIES[:4]!r}:
    o = query_terms(r, q)
    f = np.array([idf(r.n_docs, r.doc_freq(t), "bm25f") for t in o])
    out[q] = s.proximity.features(np.arange(r.n_docs), o, f).tolist()
print(json.dumps(out))
"""
    plain, jitted = run_with_and_without_jit(code)
    assert plain == jitted


def test_records_do_not_depend_on_how_documents_are_batched(searcher):
    from wikisearch.search.proximity import forward_records
    r = searcher.reader
    a = forward_records(r, r.analyzer, 0, r.n_docs, batch=7)
    b = forward_records(r, r.analyzer, 0, r.n_docs, batch=1000)
    c = [forward_records(r, r.analyzer, lo, min(lo + 5, r.n_docs)) for lo in range(0, r.n_docs, 5)]
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(np.concatenate([x[1] for x in c]), a[1])
    fw = searcher.proximity.forward
    assert np.array_equal(np.diff(fw.starts), a[0]) and np.array_equal(np.asarray(fw.words), a[1])


def test_records_do_not_depend_on_the_remembered_terms(searcher, monkeypatch):
    """The ordinals remembered across batches are a cache: with room for a few only (dropped at
    every batch), the records are the same, and every lookup goes to the dictionary."""
    from wikisearch.search import proximity
    r = searcher.reader
    whole = proximity.forward_records(r, r.analyzer, 0, r.n_docs, batch=3)
    asked = []
    lookup = type(r).term_ordinals
    monkeypatch.setattr(type(r), "term_ordinals", lambda self, terms: asked.extend(terms) or lookup(self, terms))
    monkeypatch.setattr(proximity, "_KNOWN_LIMIT", 4)
    small = proximity.forward_records(r, r.analyzer, 0, r.n_docs, batch=3)
    assert np.array_equal(whole[0], small[0]) and np.array_equal(whole[1], small[1])
    assert len(asked) > len(set(asked))            # words looked up again after being dropped
    monkeypatch.setattr(proximity, "_KNOWN_LIMIT", 1 << 18)
    asked.clear()
    proximity.forward_records(r, r.analyzer, 0, r.n_docs, batch=3)
    assert len(asked) == len(set(asked))           # each word looked up once


def test_same_forward_bin_with_two_workers(index, tmp_path):
    from wikisearch.build import build_index
    out = build_index([wikisearch.sample_dump()], str(tmp_path / "w2"), workers=2)
    assert (Path(out) / FILE).read_bytes() == (IndexReader(index).path / FILE).read_bytes()


def _copy(index, tmp_path) -> Path:
    src = IndexReader(index).path
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_a_damaged_record_is_refused_in_one_line(index, tmp_path):
    dst = _copy(index, tmp_path)
    s = Searcher(dst)
    s.proximity.features(np.arange(1), [0], np.ones(1))
    fw = s.proximity.forward
    d = 3
    at = fw.container.offsets["words"] + int(fw.starts[d] + 2) * 8      # a packed word of document 3
    del s, fw
    data = bytearray((dst / FILE).read_bytes())
    data[at] ^= 0x10
    (dst / FILE).write_bytes(bytes(data))
    s = Searcher(dst)                     # (a small file: its whole CRC is checked when opened)
    with pytest.raises(CorruptIndexError, match="forward.bin: checksum mismatch"):
        s.proximity.features(np.array([0]), [0], np.ones(1))
    r = IndexReader(dst)                  # a large one's records are checked as they are read
    fw = ForwardIndex(dst / FILE, r.n_docs, r.n_terms, verify=False)
    ok = fw.features(np.array([0, 1, 2]), [0], np.ones(1))     # other documents still read
    assert ok.shape == (3, 5)
    with pytest.raises(CorruptIndexError, match=f"forward.bin: record of document {d} is damaged"):
        fw.features(np.array([1, d]), [0], np.ones(1))


def test_a_damaged_record_table_is_refused_on_first_use(index, tmp_path):
    dst = _copy(index, tmp_path)
    fw = ForwardIndex(dst / FILE, IndexReader(dst).n_docs, IndexReader(dst).n_terms)
    at = fw.container.offsets["starts"] + 8 * 5
    del fw
    data = bytearray((dst / FILE).read_bytes())
    data[at] ^= 0x01
    (dst / FILE).write_bytes(bytes(data))
    s = Searcher(dst)
    with pytest.raises(CorruptIndexError, match="forward.bin"):
        s.proximity.features(np.array([0]), [0], np.ones(1))


def test_a_forward_bin_of_another_index_is_refused(index, tmp_path):
    r = IndexReader(index)
    with pytest.raises(CorruptIndexError, match="does not match"):
        ForwardIndex(Path(r.path) / FILE, r.n_docs + 1, r.n_terms)


def test_an_index_without_forward_bin_reranks_the_same_from_its_stored_text(index, tmp_path, searcher):
    dst = _copy(index, tmp_path)
    s = Searcher(dst)
    s.reader.manifest["files"].pop(FILE)        # as an index built before forward.bin existed
    (dst / FILE).unlink()
    for q in QUERIES[:5]:
        a, b = (rerank(x, q, k=10, model=_proximity_model("prox_density_gap", -0.1)) for x in (searcher, s))
        assert [(h.docid, h.score) for h in a] == [(h.docid, h.score) for h in b]
        assert not any("forward.bin" in w for w in a.warnings)
        assert any("no forward.bin" in w for w in b.warnings)
    assert s.proximity.forward is None


def test_in_memory_index_reads_the_stored_text_without_a_warning(searcher):
    p = Proximity(searcher.reader)
    p.reader = type("R", (), {"manifest": None, "path": None})()
    p._open()
    assert p.forward is None and p.warning is None


def test_the_rerankers_proximity_columns(searcher):
    r = searcher.reader
    q = "german chancellor physicist"
    docids = np.array([h.docid for h in searcher.search(q, k=20)], np.int64)
    P = proximity(searcher, query_terms(r, q), docids, RankConfig())
    assert P.shape == (len(docids), len(PROXIMITY_COLUMNS))
    assert np.array_equal(P[:, :5], stored_proximity(r, *_terms_idf(r, q), docids))
    assert np.all(P[:, 5:] <= 0) and np.all(P[:, 5:].max(axis=0) == 0)


def _proximity_model(feature="prox_bigrams", threshold=0.5):
    """One tree, one split on a proximity column, written by hand."""
    names = FEATURES + SHAPE_FEATURES + PROXIMITY_COLUMNS
    return TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(names), "depth": 100,
                      "trees": [{"feature": [names.index(feature)], "threshold": [threshold], "left": [~0],
                                 "right": [~1], "value": [0.0, 1.0]}]})


def test_rerank_with_a_proximity_model_reads_the_proximity_columns(searcher):
    model = _proximity_model()
    assert model.proximity and model.shape and not model.dense
    q = "german chancellor"
    res = rerank(searcher, q, k=10, model=model)
    r = searcher.reader
    ords, idf = _terms_idf(r, q)
    first = [h.docid for h in searcher.search(q, k=100, priors=None)]
    P = stored_proximity(r, ords, idf, np.array(first, np.int64))
    want = sorted(range(len(first)), key=lambda i: (-float(P[i, COL["prox_bigrams"]] > 0.5), i))
    assert [h.docid for h in res] == [first[i] for i in want[:10]]


def test_no_forward_builds_without_it_and_reranks_the_same(index, tmp_path, searcher):
    from wikisearch.build import build_index
    out = build_index([wikisearch.sample_dump()], str(tmp_path / "nf"), workers=1, forward=False)
    r = IndexReader(out)
    assert FILE not in r.manifest["files"] and not (Path(r.path) / FILE).exists()
    assert r.manifest["settings"]["forward"] is False
    assert "forward" not in IndexReader(index).manifest["settings"]
    s = Searcher(out)
    model = _proximity_model("prox_window_gap", -0.2)
    a, b = rerank(searcher, "city river spree", k=10, model=model), rerank(s, "city river spree", k=10, model=model)
    assert [(h.docid, h.score) for h in a] == [(h.docid, h.score) for h in b]
    assert any("built with --no-forward" in w for w in b.warnings)
    for name in ("postings.bin", "terms.bin", "docs.bin", "store.bin"):      # the rest is the same bytes
        assert (Path(r.path) / name).read_bytes() == (IndexReader(index).path / name).read_bytes()


def test_cli_no_forward_and_rerank_warning(tmp_path):
    from click.testing import CliRunner
    from wikisearch.cli import main
    out = tmp_path / "idx"
    res = CliRunner().invoke(main, ["index", wikisearch.sample_dump(), "-o", str(out), "-q", "--no-forward",
                                    "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert not (IndexReader(out).path / FILE).exists()


def test_an_index_without_text_says_its_proximity_is_zero(tmp_path):
    from wikisearch.build import build_index
    out = build_index([wikisearch.sample_dump()], str(tmp_path / "ns"), workers=1, store_text=False)
    s = Searcher(out)
    assert FILE not in s.reader.manifest["files"]
    res = rerank(s, "city river spree", k=5, model=_proximity_model())
    assert len(res) == 5 and any("keeps no text" in w for w in res.warnings)
    assert not s.proximity.features(np.arange(s.n_docs), [0, 1], np.ones(2)).any()
