"""Re-ranker (wikisearch.search.rerank): features against a brute-force oracle, the numpy tree
evaluator against LightGBM, re-ranking as a permutation of the untouched first stage, the shipped
model, the committed known-item set, ``wikisearch eval --rerank`` and ``wikisearch query --rerank``
(paging, snippets and "did you mean" as the first stage gives them; mistyped options)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import wikisearch
from wikisearch.cli import main
from wikisearch.config import RankConfig
from wikisearch.errors import InvalidQueryError, WikisearchError
from wikisearch.search.rerank import (DEFAULT_DENSE_MODEL, DEFAULT_MODEL, FEATURES, PROXIMITY_COLUMNS,
                                      SHAPE_FEATURES, TreeModel, features, load_model, query_terms, rerank,
                                      shape_features)
from wikisearch.search.query import parse_query
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
from _oracle import oracle_rerank_features, oracle_tree_predict, run_with_and_without_jit  # noqa: E402
from conftest import ROOT, cli_lines, require_import  # noqa: E402

QUERIES = ["german chancellor physicist", "swedish furniture company founded", "city river spree",
           "computer company armonk new york", "berlin", "merkel cdu party leader europe"]
COL = {f: i for i, f in enumerate(FEATURES)}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("rerank") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return out


@pytest.fixture(scope="module")
def searcher(index):
    return Searcher(index)


def _hand_model(feature: str, threshold: float, low: float, high: float) -> TreeModel:
    """One tree, one split, written by hand."""
    return TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(FEATURES),
                      "depth": 100, "trees": [{"feature": [COL[feature]], "threshold": [threshold],
                                               "left": [~0], "right": [~1], "value": [low, high]}]})


@pytest.mark.parametrize("rank", [None, RankConfig(k1=1.2, b=(0.75,) * 9)])
@pytest.mark.parametrize("query", QUERIES)
def test_features_match_the_oracle(searcher, query, rank):
    r = searcher.reader
    rank = rank or r.rank_config
    hits = searcher.search(query, k=20, rank=rank, priors=False)
    docids = [h.docid for h in hits]
    ords = query_terms(r, query)
    terms = [t for t in dict.fromkeys(k[0] for k in parse_query(query, r.analyzer).scoring_terms())
             if r.term_ordinal(t) >= 0]
    assert [r.term_ordinal(t) for t in terms] == ords
    X = features(r, ords, docids, rank)
    want = oracle_rerank_features(r, terms, docids, rank)
    assert X[:, COL["bm25f"]].tolist() == [h.score for h in hits]       # the first stage's, to the bit
    for name in want[0]:
        np.testing.assert_allclose(X[:, COL[name]], [w[name] for w in want], rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    assert X[:, COL["n_terms"]].tolist() == [len(ords)] * len(docids)
    assert X[:, COL["log_rank"]].tolist() == np.log(np.arange(1, len(docids) + 1)).tolist()
    exact = (X[:, COL["cov_title"]] >= 1 - 1e-12) & (X[:, COL["title_precision"]] >= 1)
    assert X[:, COL["title_exact"]].tolist() == exact.astype(float).tolist()


def test_features_kernel_with_and_without_jit(index):
    """candidate_features compiled and as plain Python give the same features, to the bit."""
    code = ("import json\nfrom wikisearch.search.searcher import Searcher\n"
            "from wikisearch.search.rerank import features, query_terms, prior_values\n"
            f"s = Searcher({str(index)!r})\nout = []\n"
            f"for q in {QUERIES!r}:\n"
            "    ids = [h.docid for h in s.search(q, k=30)]\n"
            "    out.append(features(s.reader, query_terms(s.reader, q), ids, s.reader.rank_config,\n"
            "                        prior_values(s, None)).tolist())\n"
            "print(json.dumps(out))")
    with_jit, without = run_with_and_without_jit(code)
    assert with_jit == without and any(len(x) > 1 for x in with_jit)


def test_title_exact_by_hand(searcher):
    r = searcher.reader
    d = r.docid_for_title("Angela Merkel")
    X = features(r, query_terms(r, "angela merkel"), [d], r.rank_config)
    assert X[0, COL["cov_title"]] == pytest.approx(1.0)
    assert X[0, COL["title_precision"]] == 1.0 and X[0, COL["title_exact"]] == 1.0
    X = features(r, query_terms(r, "merkel"), [d], r.rank_config)
    assert X[0, COL["title_precision"]] == 0.5 and X[0, COL["title_exact"]] == 0.0


def test_relative_title_features_by_hand(searcher):
    """Two candidates in first-stage order, the exact title second: the features that compare a
    title with the other candidates' mark the second one, whatever the first's scores."""
    r = searcher.reader
    exact = r.docid_for_title("Berlin")
    other = next(h.docid for h in searcher.search("berlin", k=20, priors=False) if h.docid != exact)
    X = features(r, query_terms(r, "berlin"), [other, exact], r.rank_config)
    ct, tp = X[0, COL["cov_title"]], X[0, COL["title_precision"]]
    assert ct < 1.0 and X[0, COL["title_exact"]] == 0.0 and X[1, COL["title_exact"]] == 1.0
    assert X[:, COL["title_exact_first"]].tolist() == [0.0, 1.0]
    assert X[:, COL["n_title_exact"]].tolist() == [1.0, 1.0]
    assert X[1, COL["title_dice"]] == pytest.approx(1.0) and X[1, COL["title_dice_gap"]] == 0.0
    assert X[0, COL["title_dice"]] == pytest.approx(2 * ct * tp / (ct + tp) if ct + tp else 0.0)
    assert X[0, COL["cov_title_gap"]] == pytest.approx(ct - 1.0) and X[1, COL["cov_title_gap"]] == 0.0
    b = X[:, COL["bm25f"]]
    assert X[:, COL["bm25f_ratio"]].tolist() == (b / b.max()).tolist()
    X = features(r, query_terms(r, "berlin"), [exact, other], r.rank_config)
    assert X[:, COL["title_exact_first"]].tolist() == [1.0, 0.0]


def test_exact_title_goes_first_by_hand(searcher):
    """With exact_title_first, the page titled exactly as the query leads whatever the model says;
    without it, the model's order (here: the hand model puts every title-covering page below the rest)."""
    r = searcher.reader
    q = "berlin"
    first = [h.docid for h in searcher.search(q, k=100, priors=False)]
    d = r.docid_for_title("Berlin")
    assert d in first and len(first) > 2
    spec = _hand_model("cov_title", 0.5, 1.0, 0.0).spec         # title covers the query: pushed down
    plain = [h.docid for h in rerank(searcher, q, k=100, priors=False, model=TreeModel(spec))]
    exact = [h.docid for h in rerank(searcher, q, k=100, priors=False,
                                     model=TreeModel({**spec, "exact_title_first": True}))]
    X = features(r, query_terms(r, q), first, r.rank_config)
    low = [x for x, f in zip(first, X) if f[COL["cov_title"]] > 0.5]
    assert plain == [x for x in first if x not in low] + low
    assert exact[0] == d and exact[1:] == [x for x in plain if x != d]


def test_tree_model_matches_lightgbm():
    lgb = require_import("lightgbm", why="the tree model is checked against LightGBM's own predict")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, len(FEATURES)))
    X[:, 5] = rng.integers(0, 3, size=600)                  # ties on thresholds
    y = (X[:, 0] + X[:, 5] + rng.normal(size=600) > 1).astype(int) + (X[:, 1] > 1)
    params = {"objective": "lambdarank", "num_leaves": 7, "min_data_in_leaf": 5, "num_threads": 1,
              "deterministic": True, "force_row_wise": True, "seed": 1, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(X, y, group=[20] * 30), num_boost_round=25)
    tm = TreeModel.from_lightgbm(booster)
    Z = np.vstack([X, rng.normal(size=(200, len(FEATURES))) * 3])
    np.testing.assert_allclose(tm.predict(Z), booster.predict(Z), rtol=0, atol=1e-12)
    tm2 = TreeModel(json.loads(json.dumps(tm.spec)))                 # through the file format
    assert tm2.predict(Z).tolist() == tm.predict(Z).tolist()
    assert tm.predict(Z).tolist() == oracle_tree_predict(tm.spec, Z).tolist()   # kernel, to the bit


def test_training_gives_the_same_model_bytes_twice(tmp_path, monkeypatch):
    """benchmarks/relevance.py's training (LGB_PARAMS: fixed seed, deterministic, one thread) run
    twice on the same rows writes byte-identical model files; another seed changes them (the check
    can fail)."""
    require_import("lightgbm", why="the re-ranker is trained with LightGBM")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    relevance = require_import("relevance", why="benchmarks/relevance.py trains the shipped model")
    rng = np.random.default_rng(5)
    cands, qrels = {}, {}
    for q in range(40):
        X = rng.normal(size=(30, len(FEATURES)))
        docids = np.arange(q * 30, q * 30 + 30, dtype=np.int64)
        good = (X[:, 0] + X[:, COL["cov_title"]] + rng.normal(size=30) * 0.5).argsort()[-3:]
        cands[str(q)], qrels[str(q)] = (docids, X), {int(docids[i]): 1 for i in good}
    parts = [(cands, qrels, list(cands))]
    paths = []
    for i, extra in enumerate(({}, {}, {"seed": 18, "bagging_fraction": 0.5, "bagging_freq": 1})):
        booster = relevance.train(parts, params={**extra, "rounds": 20, "min_data_in_leaf": 5})
        paths.append(tmp_path / f"m{i}.json")
        TreeModel.from_lightgbm(booster).save(paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_training_part_weights(tmp_path, monkeypatch):
    """relevance.train's ``part_weights`` (``--select``'s "set_weight"): all ones is the default;
    the weights are relative (all doubled: the same model bytes); weighting one part down changes
    the model; one weight per part or an error."""
    require_import("lightgbm", why="the re-ranker is trained with LightGBM")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    relevance = require_import("relevance", why="benchmarks/relevance.py trains the shipped model")
    rng = np.random.default_rng(6)
    parts = []
    for p, col in enumerate((0, COL["cov_title"])):          # two parts that reward different features
        cands, qrels = {}, {}
        for q in range(30):
            X = rng.normal(size=(30, len(FEATURES)))
            docids = np.arange(q * 30, q * 30 + 30, dtype=np.int64)
            good = (X[:, col] + rng.normal(size=30) * 0.3).argsort()[-3:]
            cands[f"{p}:{q}"], qrels[f"{p}:{q}"] = (docids, X), {int(docids[i]): 1 for i in good}
        parts.append((cands, qrels, list(cands)))

    def model_bytes(weights):
        booster = relevance.train(parts, params={"rounds": 20, "min_data_in_leaf": 5}, part_weights=weights)
        path = tmp_path / "m.json"
        TreeModel.from_lightgbm(booster).save(path)
        return path.read_bytes()
    plain = model_bytes(None)
    assert model_bytes([1.0, 1.0]) == plain
    assert model_bytes([2.0, 2.0]) == plain
    assert model_bytes([1.0, 0.25]) != plain
    with pytest.raises(ValueError):
        model_bytes([1.0])


def test_shipped_model_kernel_matches_numpy_oracle_with_and_without_jit():
    rng = np.random.default_rng(5)
    m = load_model()
    X = rng.normal(size=(300, m.n_features)) * rng.choice([0.1, 1, 10], size=m.n_features)
    X[:50] = 0.0
    assert m.predict(X).tolist() == oracle_tree_predict(m.spec, X).tolist()
    code = ("import numpy as np\nfrom wikisearch.search.rerank import load_model\n"
            "X = np.random.default_rng(5).normal(size=(64, load_model().n_features))\n"
            "import json; print(json.dumps(load_model().predict(X).tolist()))")
    with_jit, without = run_with_and_without_jit(code)
    assert with_jit == without


def _random_tree(rng, n_leaves, n_features):
    """A random binary tree with ``n_leaves`` leaves in the model file's layout, its nodes and
    leaves numbered in a shuffled order (not left to right), so that QuickScorer's renumbering is
    exercised."""
    n_nodes = n_leaves - 1
    node_ids = rng.permutation(n_nodes) if n_nodes else np.zeros(0, np.int64)
    leaf_ids = rng.permutation(n_leaves)
    feat, thr = rng.integers(0, n_features, n_nodes), np.round(rng.normal(size=n_nodes), 1)
    left, right = [0] * n_nodes, [0] * n_nodes
    counter = {"node": 0, "leaf": 0}

    def build(leaves):                      # returns the child reference of a subtree with ``leaves``
        if leaves == 1:
            i = counter["leaf"]
            counter["leaf"] += 1
            return ~int(leaf_ids[i])
        i = int(node_ids[counter["node"]])
        counter["node"] += 1
        k = int(rng.integers(1, leaves))
        left[i], right[i] = build(k), build(leaves - k)
        return i
    if n_nodes:
        root = build(n_leaves)
        # the root must be node 0: swap ids
        swap = {root: 0, 0: root}
        left = [swap.get(c, c) if c >= 0 else c for c in left]
        right = [swap.get(c, c) if c >= 0 else c for c in right]
        perm = list(range(n_nodes))
        perm[0], perm[root] = root, 0
        feat, thr = feat[perm], thr[perm]
        left, right = [left[j] for j in perm], [right[j] for j in perm]
    return {"feature": [int(f) for f in feat], "threshold": [float(t) for t in thr], "left": left,
            "right": right, "value": [float(v) for v in np.round(rng.normal(size=n_leaves), 3)]}


def test_quickscorer_matches_the_tree_walk_and_the_oracle():
    """TreeModel.predict (QuickScorer: the nodes by feature and threshold, leaves as bits) gives
    the tree walk's and the numpy oracle's sums to the bit: random trees of 1 to 31 leaves in
    shuffled node order, rows at the thresholds exactly, row counts around the kernel's blocks,
    and values that are not numbers (they go right, as the walk sends them)."""
    from wikisearch.search import _rerank_kernels as RK
    rng = np.random.default_rng(25)
    n = len(FEATURES)
    trees = [_random_tree(rng, int(rng.integers(1, 32)), n) for _ in range(60)] + [_random_tree(rng, 31, n)]
    m = TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(FEATURES), "trees": trees})
    assert m._quick is not None
    for rows in (1, RK.QUICK_ROWS - 1, RK.QUICK_ROWS, RK.QUICK_ROWS + 1, 3 * RK.QUICK_ROWS + 7):
        X = np.round(rng.normal(size=(rows, n)), 1)         # (often equal to a threshold)
        X[rng.random(size=X.shape) < 0.02] = np.nan
        walk = RK.predict_trees(X, m._node_start, m._leaf_start, *m._arrays)
        assert m.predict(X).tolist() == walk.tolist() == oracle_tree_predict(m.spec, X).tolist()
    shipped = load_model()
    X = rng.normal(size=(257, shipped.n_features)) * rng.choice([0.01, 1, 10], size=shipped.n_features)
    assert shipped._quick is not None
    assert shipped.predict(X).tolist() == RK.predict_trees(
        X, shipped._node_start, shipped._leaf_start, *shipped._arrays).tolist()


def test_a_tree_with_more_leaves_than_quickscorer_takes_is_walked():
    rng = np.random.default_rng(26)
    n = len(FEATURES)
    m = TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(FEATURES),
                   "trees": [_random_tree(rng, 5, n), _random_tree(rng, 40, n)]})
    assert m._quick is None
    X = np.round(rng.normal(size=(70, n)), 1)
    assert m.predict(X).tolist() == oracle_tree_predict(m.spec, X).tolist()


@pytest.mark.parametrize("damage, says", [
    (lambda t: t.update(left=[t["left"][0]] + t["left"][1:], right=[0] + t["right"][1:]), "malformed"),   # a loop
    (lambda t: t.update(left=[5] + t["left"][1:]), "malformed"),                                            # out of range
    (lambda t: t.update(value=t["value"] + [1.0]), "malformed"),                                            # a leaf too many
    (lambda t: t.update(threshold=[float("nan")] + t["threshold"][1:]), "not a number"),
])
@pytest.mark.parametrize("leaves", [6, 40])              # (QuickScorer's, and one the walk takes)
def test_a_damaged_tree_is_refused_in_one_line(damage, says, leaves):
    """A model file is user input (``--rerank-model``): a tree that the kernels could loop on or
    read past is refused when read, whichever kernel would walk it."""
    rng = np.random.default_rng(27)
    tree = _random_tree(rng, leaves, len(FEATURES))
    damage(tree)
    with pytest.raises(WikisearchError, match=says):
        TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(FEATURES), "trees": [tree]})


def test_a_deep_tree_is_read_without_recursion():
    """A chain of 3,000 nodes (deeper than Python's recursion limit) is checked and walked."""
    n = 3000
    tree = {"feature": [0] * n, "threshold": [float(i) for i in range(n)], "left": [~i for i in range(n)],
            "right": [i + 1 for i in range(n - 1)] + [~n], "value": [float(i) for i in range(n + 1)]}
    m = TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(FEATURES), "trees": [tree]})
    assert m._quick is None
    X = np.zeros((4, len(FEATURES)))
    X[:, 0] = [-1.0, 0.5, 10.5, 5000.0]                     # leaf 0, 1, 11, and the last
    assert m.predict(X).tolist() == [0.0, 1.0, 11.0, float(n)] == oracle_tree_predict(m.spec, X).tolist()


def test_rerank_is_a_permutation_of_the_untouched_first_stage(searcher):
    model = _hand_model("cov_title", 0.5, 0.0, 1.0)
    for q in QUERIES:
        before = [(h.docid, h.score) for h in searcher.search(q, k=100, priors=False)]
        out = rerank(searcher, q, k=100, priors=False, model=model)
        after = [(h.docid, h.score) for h in searcher.search(q, k=100, priors=False)]
        assert before == after                                     # the first stage is unchanged
        assert sorted(h.docid for h in out) == sorted(d for d, _ in before)
        assert [h.rank for h in out] == list(range(1, len(out) + 1))
        assert out.flags["rerank"] is True
        # by hand: documents whose title covers over half the query's idf first, then first-stage order
        X = features(searcher.reader, query_terms(searcher.reader, q), [d for d, _ in before],
                     searcher.reader.rank_config)
        covered = [d for (d, _), x in zip(before, X) if x[COL["cov_title"]] > 0.5]
        rest = [d for (d, _), x in zip(before, X) if not x[COL["cov_title"]] > 0.5]
        assert [h.docid for h in out] == covered + rest
        assert [h.docid for h in rerank(searcher, q, k=3, priors=False, model=model)] == (covered + rest)[:3]


def test_shape_features_by_hand(searcher):
    """The query-level columns: words (runs with a letter or digit), the share of them the analyzer
    keeps no term of, a first word that asks, the second candidate's score_ratio; the same on every row."""
    an = searcher.reader.analyzer
    X = np.zeros((3, len(FEATURES)))
    X[:, COL["score_ratio"]] = [1.0, 0.75, 0.5]
    S = shape_features(an, "How are the glacier caves formed ?", X)
    assert an.terms("are") == [] and an.terms("the") == [] and an.terms("how") == ["how"]
    assert S.shape == (3, len(SHAPE_FEATURES)) and (S == S[0]).all()
    assert S[0].tolist() == [6.0, 2 / 6, 1.0, 0.75]
    assert shape_features(an, "Sixth planet from the Sun", X)[0].tolist() == [5.0, 1 / 5, 0.0, 0.75]
    assert shape_features(an, "'Who' wrote it", X[:1])[0].tolist() == [3.0, 1 / 3, 1.0, 0.0]
    assert shape_features(an, "  , ;", X)[0].tolist() == [0.0, 0.0, 0.0, 0.75]
    # one analysis of all the words gives what analysing each word alone gives
    for q in ("O'Neil's 1984 ___ the", "a French mathematician, physicist, and Catholic writer"):
        words = [w for w in q.split() if any(c.isalnum() for c in w)]
        assert shape_features(an, q, X)[0, 1] == sum(not an.terms(w) for w in words) / len(words)


def test_rerank_with_a_shape_model_reads_the_query_shape(searcher):
    """A model on FEATURES + SHAPE_FEATURES: rerank() appends the columns (one split on q_words:
    scores differ between a short and a long query, and the order is the first stage's either way)."""
    names = FEATURES + SHAPE_FEATURES
    model = TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(names), "depth": 100,
                       "trees": [{"feature": [names.index("q_words")], "threshold": [2.5], "left": [~0],
                                  "right": [~1], "value": [1.0, 2.0]}]})
    assert model.shape and not model.dense and model.n_features == len(names)
    for q, want in (("berlin wall", 1.0), ("the capital city of germany", 2.0)):
        first = [h.docid for h in searcher.search(q, k=100, priors=False)]
        out = rerank(searcher, q, k=100, priors=False, model=model)
        assert [h.docid for h in out] == first and {h.score for h in out} == {want}


def test_rerank_depth_keeps_the_tail_in_first_stage_order(searcher):
    model = _hand_model("title_precision", 0.0, 0.0, 1.0)
    q = "city river spree"
    first = [h.docid for h in searcher.search(q, k=20, priors=False)]
    out = [h.docid for h in rerank(searcher, q, k=20, priors=False, model=model, depth=5)]
    assert sorted(out[:5]) == sorted(first[:5]) and out[5:] == first[5:]


def test_shipped_model_and_bad_files(searcher, tmp_path):
    m = load_model()
    assert tuple(m.spec["features"]) == FEATURES + SHAPE_FEATURES + PROXIMITY_COLUMNS
    assert m.shape and m.proximity and not m.dense and m.n_trees > 10
    assert m.depth == 100
    hits = rerank(searcher, "german chancellor", k=5)
    assert len(hits) == 5 and hits[0].title
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    with pytest.raises(WikisearchError, match="not valid JSON"):
        load_model(bad)
    spec = json.loads(DEFAULT_MODEL.read_text())
    spec["features"] = spec["features"][:-1]
    bad.write_text(json.dumps(spec))
    with pytest.raises(WikisearchError, match="other features"):
        load_model(bad)
    with pytest.raises(WikisearchError, match="no re-ranking model"):
        load_model(tmp_path / "missing.json")


def test_eval_rerank_cli(index, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("1\tswedish furniture company\n2\tgerman chancellor physicist\n")
    qrels = tmp_path / "qrels"
    qrels.write_text("1 0 IKEA 1\n2 0 Angela Merkel 2\n")
    res = CliRunner().invoke(main, ["eval", "-i", str(index), "--queries", str(queries),
                                    "--qrels", str(qrels), "--rerank", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads("\n".join(cli_lines(res)))
    assert report["n_queries"] == 2 and report["measures"]["nDCG@10"] > 0


def _known_item_files(name: str):
    """A committed generated set (benchmarks/data/NAME): {qid: query}, {qid: split}, {qid: [titles]}."""
    folder = ROOT / "benchmarks" / "data" / name
    queries = dict(l.split("\t") for l in (folder / "queries.tsv").read_text().splitlines())
    split = dict(l.split("\t") for l in (folder / "split.tsv").read_text().splitlines())
    qrels = {}
    for line in (folder / "qrels.txt").read_text().splitlines():
        qid, _, rest = line.partition(" 0 ")
        qrels.setdefault(qid, []).append(rest.rsplit(" ", 1)[0])
    return queries, split, qrels


def test_known_item_set_is_descriptive():
    """The committed generated set: 6-10 words, none sharing a term with the page's title, a
    balanced train / held-out split, one page per query."""
    from wikisearch.analysis.analyzer import Analyzer
    an = Analyzer()
    queries, split, qrels = _known_item_files("known-item")
    assert set(queries) == set(split) == set(qrels) and len(queries) >= 500
    assert sorted(set(split.values())) == ["heldout", "train"]
    assert abs(sum(v == "train" for v in split.values()) - len(split) / 2) <= 1
    for q, text in queries.items():
        assert 6 <= len(text.split()) <= 10, text
        assert len(qrels[q]) == 1
        assert not set(an.terms(text)) & set(an.terms(qrels[q][0])), (text, qrels[q])


def test_noisy_known_item_set_is_descriptive_and_apart():
    """The committed additional set (benchmarks/data/known-item-noisy): 6-10 distinct words, none
    sharing a term with the page's title, all held out, one page per query, and none of its pages
    in the first known-item set (nothing trains on it, and the two sets never share a page)."""
    from wikisearch.analysis.analyzer import Analyzer
    an = Analyzer()
    queries, split, qrels = _known_item_files("known-item-noisy")
    assert set(queries) == set(split) == set(qrels) and len(queries) >= 500
    assert set(split.values()) == {"heldout"}
    first = {t for ts in _known_item_files("known-item")[2].values() for t in ts}
    for q, text in queries.items():
        words = text.split()
        assert 6 <= len(words) <= 10 and len(set(an.terms(text))) == len(words), text
        assert len(qrels[q]) == 1 and qrels[q][0] not in first
        assert not set(an.terms(text)) & set(an.terms(qrels[q][0])), (text, qrels[q])


def test_prior_feature_off_with_priors_off_and_k_zero(searcher):
    """``priors=False``: the first stage ranks by text alone and the ``prior`` feature is 0."""
    from wikisearch.search.rerank import prior_values
    assert prior_values(searcher, False) is None
    assert rerank(searcher, "berlin", k=0, priors=False) == []


@pytest.mark.parametrize("query", QUERIES + ["berlin intitle:merkel", "t:ikea -sweden", '"new york" computer'])
def test_query_terms_of_text_and_of_the_first_stage_parse_agree(searcher, query):
    r = searcher.reader
    assert query_terms(r, searcher.search(query, k=1).parsed) == query_terms(r, query)


def test_prior_weight_adds_the_prior_outside_the_trees(searcher, monkeypatch):
    """A model's ``prior_weight`` w: candidates are ordered by the trees' score + w * prior (by hand:
    one tree puts title-covering pages first; a prior of 1 on the last candidate, which the tree
    puts last, lifts it above them with w = 2 and not with w = 0); a negative w is refused."""
    import wikisearch.search.rerank as rr
    q = "berlin"
    first = [h.docid for h in searcher.search(q, k=100, priors=False)]
    spec = _hand_model("cov_title", 0.5, 0.0, 1.0).spec
    X = features(searcher.reader, query_terms(searcher.reader, q), first, searcher.reader.rank_config)
    covered = [d for d, x in zip(first, X) if x[COL["cov_title"]] > 0.5]
    rest = [d for d, x in zip(first, X) if not x[COL["cov_title"]] > 0.5]
    assert covered and len(rest) > 1
    lifted = rest[-1]
    prior = np.zeros(int(searcher.reader.n_docs))
    prior[lifted] = 1.0
    monkeypatch.setattr(rr, "prior_values", lambda s, p: prior)
    plain = [h.docid for h in rerank(searcher, q, k=100, priors=False, model=TreeModel(spec))]
    assert plain == covered + rest
    m = TreeModel({**spec, "prior_weight": 2.0})
    out = rerank(searcher, q, k=100, priors=False, model=m)
    assert [h.docid for h in out] == [lifted] + covered + rest[:-1]
    assert out[0].score == pytest.approx(2.0) and out[1].score == pytest.approx(1.0)
    Xp = features(searcher.reader, query_terms(searcher.reader, q), first, searcher.reader.rank_config, prior)
    assert m.score(Xp).tolist() == (m.predict(Xp) + 2.0 * Xp[:, COL["prior"]]).tolist()
    assert TreeModel({**spec, "prior_weight": 0.5}).score(Xp)[first.index(lifted)] == pytest.approx(0.5)
    for bad in (-1.0, float("nan")):
        with pytest.raises(WikisearchError, match="prior_weight"):
            TreeModel({**spec, "prior_weight": bad})



def test_session20_scoring_rules_by_hand(monkeypatch):
    """benchmarks/relevance.py's scoring rules outside the trees (``--select session20``, not
    shipped), on three candidates written by hand: bm25f 4, 3, 1; prior 0, 1, 0.5; a one-split
    tree scores the first 1 (cov_title 1) and the others 0; the third has ``title_exact_first``.
    ``prior_term`` "raw" is the prior (0, 1, 0.5); "first_stage" is the prior over the first
    stage's best score max(4 + 0, 3 + 1, 1 + 0.5) = 4: (0, 0.25, 0.125). Orders: raw w 2 lifts the
    second (2 > 1); the first-stage share at w 2 does not (0.5 < 1) and at w 5 does (1.25 > 1);
    an exact-title bonus 1.5 lifts the third (1.5 + 0 > 1); w 0 is the trees' order."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    relevance = require_import("relevance", why="benchmarks/relevance.py holds the scoring rules")
    F = np.zeros((3, len(FEATURES)))
    F[:, COL["bm25f"]] = [4.0, 3.0, 1.0]
    F[:, COL["prior"]] = [0.0, 1.0, 0.5]
    F[:, COL["cov_title"]] = [1.0, 0.0, 0.0]
    F[:, COL["title_exact_first"]] = [0.0, 0.0, 1.0]
    assert relevance.prior_term(F, "raw").tolist() == [0.0, 1.0, 0.5]
    assert relevance.prior_term(F, "first_stage").tolist() == [0.0, 0.25, 0.125]
    assert relevance.prior_term(np.zeros((2, len(FEATURES))), "first_stage").tolist() == [0.0, 0.0]
    with pytest.raises(ValueError):
        relevance.prior_term(F, "log")
    m = _hand_model("cov_title", 0.5, 0.0, 1.0)
    cands = {"q": (np.array([10, 11, 12], np.int64), F)}

    def order(**kw):
        return relevance.reranked(m, cands, ["q"], **kw)["q"].tolist()
    assert order(prior_weight=0.0) == [10, 11, 12]
    assert order(prior_weight=2.0) == [11, 10, 12]
    assert order(prior_weight=2.0, prior_scale="first_stage") == [10, 11, 12]
    assert order(prior_weight=5.0, prior_scale="first_stage") == [11, 10, 12]
    assert order(prior_weight=0.0, exact_bonus=1.5) == [12, 10, 11]
    assert order(prior_weight=0.0, exact_bonus=0.5) == [10, 12, 11]

# --- dense similarity (the hybrid re-ranker's extra features) -------------------------------------
def test_dense_features_by_hand():
    """cosine, gap to the best, ln rank (ties in first-stage order), and a candidate without a vector
    taking the median of the others' cosines with its flag set."""
    from wikisearch.search.rerank import DENSE_FEATURES, dense_features
    D = dense_features([0.5, 0.9, 0.7, 0.5], [True, False, True, True])
    assert DENSE_FEATURES == ("dense_cos", "dense_cos_gap", "dense_log_rank", "dense_missing")
    assert D[:, 0].tolist() == [0.5, 0.5, 0.7, 0.5]                   # median of 0.5, 0.7, 0.5
    assert D[:, 1] == pytest.approx([-0.2, -0.2, 0.0, -0.2])
    assert D[:, 2] == pytest.approx(np.log([2, 3, 1, 4]))              # ties: first-stage order
    assert D[:, 3].tolist() == [0, 1, 0, 0]
    none = dense_features([0.3, 0.4], [False, False])                  # nobody has a vector
    assert none[:, 0].tolist() == [0.0, 0.0] and none[:, 3].tolist() == [1, 1]
    assert dense_features([], []).shape == (0, len(DENSE_FEATURES))


def test_dense_model_needs_dense_similarity(searcher):
    """A model over FEATURES + DENSE_FEATURES reads the dense columns where they are given, and
    refuses to re-rank without them; the lexical model ignores them."""
    from wikisearch.search.rerank import DENSE_FEATURES, dense_features
    names = list(FEATURES + DENSE_FEATURES)
    spec = {"format": "wikisearch-rerank", "version": 1, "features": names, "depth": 100,
            "trees": [{"feature": [names.index("dense_cos")], "threshold": [0.5], "left": [~0],
                       "right": [~1], "value": [0.0, 1.0]}]}
    model = TreeModel(spec)
    assert model.dense and not load_model().dense
    q = "german chancellor"
    with pytest.raises(WikisearchError, match="dense similarity"):
        rerank(searcher, q, k=5, model=model)
    first = searcher.search(q, k=100)
    docids = np.array([h.docid for h in first], np.int64)
    lifted = int(docids[-1])                      # the last candidate alone is similar: it goes first
    seen = []

    def similarity(d):
        seen.append(np.array(d))
        return np.where(np.asarray(d) == lifted, 0.9, 0.1), np.ones(len(d), bool)
    got = rerank(searcher, q, k=len(first), model=model, dense_similarity=similarity)
    assert [h.docid for h in got] == [lifted] + [d for d in docids.tolist() if d != lifted]
    assert seen[0].tolist() == docids.tolist()
    lexical = rerank(searcher, q, k=5, dense_similarity=similarity)     # the lexical model: unused
    assert [h.docid for h in lexical] == [h.docid for h in rerank(searcher, q, k=5)]
    with pytest.raises(WikisearchError, match=f"reads {len(names)} features"):
        model.predict(np.zeros((3, len(FEATURES))))
    bad = dict(spec, features=names[:-1])
    with pytest.raises(WikisearchError, match="other features"):
        TreeModel(bad)
    assert dense_features([0.2], [True]).shape == (1, len(DENSE_FEATURES))


def test_dense_shape_model_reads_dense_then_shape_columns(searcher):
    """A model over FEATURES + DENSE_FEATURES + SHAPE_FEATURES (the hybrid model's rows since
    session 23): rerank() appends the dense columns, then the query's shape, in that order; one
    split on dense_cos and one on q_words, so a candidate's score says which columns it was read
    from; a model with the two blocks the other way round is refused."""
    from wikisearch.search.rerank import DENSE_FEATURES, MODEL_COLUMNS, dense_features
    names = list(FEATURES + DENSE_FEATURES + SHAPE_FEATURES)
    spec = {"format": "wikisearch-rerank", "version": 1, "features": names, "depth": 100,
            "trees": [{"feature": [names.index("dense_cos")], "threshold": [0.5], "left": [~0],
                       "right": [~1], "value": [0.0, 1.0]},
                      {"feature": [names.index("q_words")], "threshold": [2.5], "left": [~0],
                       "right": [~1], "value": [10.0, 20.0]}]}
    model = TreeModel(spec)
    assert model.dense and model.shape and model.n_features == len(names) and tuple(names) in MODEL_COLUMNS
    with pytest.raises(WikisearchError, match="dense similarity"):
        rerank(searcher, "german chancellor", k=5, model=model)
    for q, base in (("german chancellor", 10.0), ("the chancellor of germany", 20.0)):
        first = [h.docid for h in searcher.search(q, k=100)]
        lifted = first[-1]

        def similarity(d, lifted=lifted):
            return np.where(np.asarray(d) == lifted, 0.9, 0.1), np.ones(len(d), bool)
        got = rerank(searcher, q, k=len(first), model=model, dense_similarity=similarity)
        assert [h.docid for h in got] == [lifted] + [d for d in first if d != lifted]
        assert [h.score for h in got] == [base + 1.0] + [base] * (len(first) - 1)
    X = np.zeros((2, len(FEATURES)))
    assert model.predict(np.hstack([X, dense_features([0.9, 0.1], [True, True]),
                                    shape_features(searcher.reader.analyzer, "a b c", X)])).tolist() == [21.0, 20.0]


def test_dense_model_with_proximity_reads_dense_shape_then_proximity(searcher):
    """A hybrid model over FEATURES + DENSE_FEATURES + SHAPE_FEATURES + PROXIMITY_COLUMNS (weighed in
    session 28): rerank() appends the dense columns, the query's shape, then the proximity columns
    from forward.bin; one split on each block, so a candidate's score says which columns it read."""
    from wikisearch.search.rerank import DENSE_FEATURES, MODEL_COLUMNS, proximity, query_terms
    names = list(FEATURES + DENSE_FEATURES + SHAPE_FEATURES + PROXIMITY_COLUMNS)
    assert tuple(names) in MODEL_COLUMNS
    spec = {"format": "wikisearch-rerank", "version": 1, "features": names, "depth": 100,
            "trees": [{"feature": [names.index("dense_cos")], "threshold": [0.5], "left": [~0],
                       "right": [~1], "value": [0.0, 1.0]},
                      {"feature": [names.index("q_words")], "threshold": [2.5], "left": [~0],
                       "right": [~1], "value": [10.0, 20.0]},
                      {"feature": [names.index("prefix_cov")], "threshold": [0.99], "left": [~0],
                       "right": [~1], "value": [0.0, 100.0]}]}
    model = TreeModel(spec)
    assert model.dense and model.shape and model.proximity
    q = "german chancellor"
    first = searcher.search(q, k=100)
    docids = np.array([h.docid for h in first], np.int64)
    lifted = int(docids[-1])
    P = proximity(searcher, query_terms(searcher.reader, q), docids, first.rank_config)
    full = P[:, PROXIMITY_COLUMNS.index("prefix_cov")] > 0.99
    assert 0 < full.sum() < len(docids)          # (the split sorts this query's candidates)

    def similarity(d):
        return np.where(np.asarray(d) == lifted, 0.9, 0.1), np.ones(len(d), bool)
    got = rerank(searcher, q, k=len(docids), model=model, dense_similarity=similarity)
    want = {int(d): 10.0 + (d == lifted) + 100.0 * f for d, f in zip(docids.tolist(), full)}
    assert {h.docid: h.score for h in got} == want
    assert [h.docid for h in got] == sorted(want, key=lambda d: (-want[d], docids.tolist().index(d)))
    with pytest.raises(WikisearchError, match="other features"):
        TreeModel(dict(spec, features=list(FEATURES + SHAPE_FEATURES + DENSE_FEATURES)))


# --- the re-ranker where users meet it: `wikisearch query --rerank`, paging, snippets, spelling ---
PAGE_QUERIES = ["german chancellor physicist", "swedish furniture company founded", "berlin wall"]


@pytest.mark.parametrize("query", PAGE_QUERIES)
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


def test_rerank_model_option_uses_the_given_model(index, searcher, tmp_path):
    """``query --rerank-model FILE`` and ``eval --rerank-model FILE`` re-rank with that file (here a
    hand model that reverses the shipped one's order on title coverage), implying --rerank; a
    missing, damaged or dense model, or a mode that cannot re-rank, is one line and exit 1 or 2."""
    q = "german chancellor physicist"
    model = _hand_model("cov_title", 0.5, 1.0, 0.0)              # title covers the query: pushed down
    path = tmp_path / "mine.json"
    model.save(path)
    want = [h.title for h in rerank(searcher, q, k=5, model=model)]
    shipped = [h.title for h in rerank(searcher, q, k=5)]
    assert want != shipped                                       # (the check can fail)
    for extra in ([], ["--rerank"]):
        r = CliRunner().invoke(main, ["query", "-i", str(index), q, "--rerank-model", str(path), "--json",
                                      "-k", "5", *extra])
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert out["flags"]["rerank"] is True and [h["title"] for h in out["hits"]] == want
    queries, qrels = tmp_path / "q.tsv", tmp_path / "qrels"
    queries.write_text(f"1\t{q}\n")
    i = next(i for i, (a, b) in enumerate(zip(want, shipped)) if a != b)
    qrels.write_text(f"1 0 {want[i]} 1\n")                      # a page the two models rank apart
    got = {}
    for name, opts in (("mine", ["--rerank-model", str(path)]), ("shipped", ["--rerank"])):
        r = CliRunner().invoke(main, ["eval", "-i", str(index), "--queries", str(queries), "--qrels", str(qrels),
                                      "--json", *opts])
        assert r.exit_code == 0, r.output
        got[name] = json.loads("\n".join(cli_lines(r)))["measures"]["nDCG@10"]
    assert got["mine"] == pytest.approx(1 / np.log2(i + 2)) and got["shipped"] != got["mine"]
    damaged = tmp_path / "damaged.json"
    spec = json.loads(path.read_text())
    spec["trees"][0]["right"] = [0]                              # a loop
    damaged.write_text(json.dumps(spec))
    dense = tmp_path / "dense.json"
    dense.write_text(DEFAULT_DENSE_MODEL.read_text())
    for args, code, says in [
            (["--rerank-model", str(tmp_path / "none.json")], 2, "does not exist"),
            (["--rerank-model", str(damaged)], 1, "malformed"),
            (["--rerank-model", str(dense)], 2, "reads dense similarity: use it with --mode hybrid"),
            (["--rerank-model", str(path), "--mode", "dense"], 2, "dense mode has no first stage"),
            (["--rerank-model", str(path), "--mode", "hybrid", "--fusion", "rrf"], 2, "only with --fusion rerank"),
            (["--rerank-model", str(path), "--mode", "hybrid"], 2, "reads no dense similarity")]:
        for cmd in (["query", "-i", str(index), q], ["eval", "-i", str(index), "--queries", str(queries),
                                                     "--qrels", str(qrels)]):
            r = CliRunner().invoke(main, cmd + args)
            assert r.exit_code == code and says in r.output, (cmd, args, r.output)
            assert "Traceback" not in r.output


def test_reranking_behind_another_first_stage_says_so(index, searcher):
    """The model file records the first stage it was trained behind; re-ranking behind other
    settings (another model, k1, weights) still works but says that its order may be worse, in
    the result's warnings and on the CLI's stderr; the model's own settings, or a model file that
    does not say, give no warning."""
    q = "german chancellor physicist"
    model = load_model()
    assert model.first_stage == searcher.reader.rank_config
    assert rerank(searcher, q, k=3).warnings == []
    for rank, names in [(searcher.reader.rank_config.replace(model="tfidf"), "model differs"),
                        (searcher.reader.rank_config.replace(k1=1.2, b=(0.75,) * 9), "k1, b differ")]:
        got = rerank(searcher, q, k=3, rank=rank)
        assert [w for w in got.warnings if "re-ranking model" in w] == [
            f"the re-ranking model was trained behind other first-stage settings ({names}): its order "
            "may be worse than measured"]
    bare = TreeModel({k: v for k, v in model.spec.items() if k != "first_stage"})
    assert rerank(searcher, q, k=3, rank=searcher.reader.rank_config.replace(model="tfidf"), model=bare).warnings == []
    r = CliRunner().invoke(main, ["query", "-i", str(index), q, "--rerank", "--model", "tfidf"])
    assert r.exit_code == 0 and "Warning: the re-ranking model was trained behind" in r.output


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


def test_rerank_over_shards_and_what_it_refuses(tmp_path):
    """Shards re-rank (tests/test_sharded.py: as one index would); a model that reads dense
    similarity does not over shards, and something other than a searcher is refused in one line."""
    from wikisearch.build import build_index
    out = build_index([wikisearch.sample_dump()], str(tmp_path / "shards"), workers=1, shards=2,
                      block_bytes=200_000)
    sharded = wikisearch.open(out)
    assert not isinstance(sharded, Searcher)
    hits = rerank(sharded, "german chancellor", k=5)
    assert hits and hits.flags.get("rerank") and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    r = CliRunner().invoke(main, ["query", "-i", str(out), "german chancellor", "--rerank", "--json"])
    assert r.exit_code == 0 and [h["page_id"] for h in json.loads(r.stdout)["hits"]][:5] == \
        [h.page_id for h in hits]
    with pytest.raises(InvalidQueryError, match="one index, not shards"):
        rerank(sharded, "german chancellor", model=load_model(DEFAULT_DENSE_MODEL),
               dense_similarity=lambda d: (np.zeros(len(d)), np.ones(len(d), bool)))
    with pytest.raises(InvalidQueryError, match="not str"):
        rerank(str(out), "german chancellor")


# --- the re-ranker's fast paths against the plain ones they replace (session 26) -----------------
FIRST_STAGE_QUERIES = QUERIES + ["t:berlin b:wall", '"angela merkel" chancellor', "berlin -wall",
                                 "berlin AND wall", "zzqqxxnothing", "angla merkel", "berln"]


@pytest.mark.parametrize("correct", [False, True])
@pytest.mark.parametrize("query", FIRST_STAGE_QUERIES)
def test_first_stage_is_what_search_finds(searcher, query, correct):
    """Searcher.first_stage: search's top k as arrays, and the same query, totals, warnings, flags
    and spelling; hits() of its arrays equal search's hits."""
    for k in (1, 7, 100):
        want = searcher.search(query, k=k, correct=correct)
        got = searcher.first_stage(query, k, correct=correct)
        assert len(got) == 0 and want.top is None
        docids, scores, masks = got.top
        assert docids.dtype == np.int64 and scores.dtype == np.float64 and masks.dtype == np.int64
        assert docids.tolist() == [h.docid for h in want]
        assert scores.tolist() == [h.score for h in want]
        assert searcher.hits(docids, scores, masks) == list(want)
        assert searcher.hits(docids[2:], scores[2:], masks[2:], 3) == list(want)[2:]
        assert (got.query, str(got.parsed), got.warnings, got.flags, got.suggestion, got.rewritten_query,
                got.total_matches, got.total_relation) == \
               (want.query, str(want.parsed), want.warnings, want.flags, want.suggestion, want.rewritten_query,
                want.total_matches, want.total_relation)
    if query == "berln" and correct:           # (the sample finds nothing for it: rewritten)
        assert got.rewritten_query == "berlin" and len(got.top[0])


def test_first_stage_refuses_what_search_refuses(searcher):
    for q, k in (("the", 10), ("berlin", -1), ("", 10)):
        with pytest.raises(InvalidQueryError) as want:
            searcher.search(q, k=k)
        with pytest.raises(InvalidQueryError) as got:
            searcher.first_stage(q, k)
        assert str(got.value) == str(want.value)


def test_feature_kernel_equals_numpy_to_the_bit(searcher):
    """features() (one kernel fills the matrix) against features_numpy() (numpy, column group by
    column group, as sharded search fills it): the same bytes, with and without a prior, in any
    candidate order, for one candidate, none, and a query with no term in the index."""
    from wikisearch.search.rerank import features_numpy
    r = searcher.reader
    rng = np.random.default_rng(26)
    prior = np.where(rng.random(r.n_docs) < 0.5, rng.random(r.n_docs) * 3, 0.0)
    seen = 0
    for q in FIRST_STAGE_QUERIES:
        first = searcher.first_stage(q, 100)
        ords = query_terms(r, first.parsed or q, searcher.term_ordinal)
        d = first.top[0]
        for docids in (d, d[::-1], d[:1], d[:0], rng.permutation(r.n_docs)[:40]):
            for p in (None, prior):
                for postings in (None, searcher.candidate_postings):
                    for o in (ords, []):
                        A = features(r, o, docids, first.rank_config, p, postings)
                        B = features_numpy(r, o, docids, first.rank_config, p, postings)
                        assert A.shape == B.shape and A.tobytes() == B.tobytes(), q
                        seen += len(docids) > 1 and len(o) > 0 and np.any(A[:, COL["title_exact_first"]] > 0)
    assert seen                                 # (an exact title among the candidates was covered)


def test_shape_features_through_the_searchers_word_cache(searcher):
    """shape_features with the searcher's word cache (filled by parsing the query) equals it
    without one, also for words the parser analyses otherwise (underscores) or never saw."""
    X = np.zeros((3, len(FEATURES)))
    X[1, COL["score_ratio"]] = 0.5
    an = searcher.reader.analyzer
    for q in ["How are the glacier caves formed ?", "angela_merkel of the CDU", "the of and berlin", "berlin wall",
              "'Who' wrote it", "Über straße 1960s"]:
        searcher.search(q, k=1)
        cache = searcher.word_cache
        assert shape_features(an, q, X, cache).tolist() == shape_features(an, q, X).tolist()
        assert shape_features(an, q, X, {}).tolist() == shape_features(an, q, X).tolist()
