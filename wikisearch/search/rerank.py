"""rerank: a second stage that re-orders the first stage's top hits with a small learned model.

>>> s = open("idx")                                              # doctest: +SKIP
>>> [h.title for h in rerank(s, "gas giant planet with a great red spot", k=3)]   # doctest: +SKIP

The first stage (``Searcher.search``: BM25F, exact top-k) is untouched: :func:`rerank` asks it for
its top ``depth`` hits (100 by default) and sorts those by a gradient-boosted tree ensemble
(LightGBM lambdarank, trained by ``benchmarks/relevance.py`` on training queries only) over
:data:`FEATURES` of each (query, document) pair, all read from the postings, the field lengths and
the priors the index already has:

- ``bm25f``: the first stage's text score (the query's own ranking settings, no prior);
  ``score_ratio``: the first stage's whole score (text + prior, what it ranked by) over the best
  candidate's, and ``log_rank`` (ln of the first-stage rank);
- ``bm25_<field>``: BM25 of the query over one field alone (k1 1.2, the field's b, weight 1);
  ``title`` counts the title and its redirect aliases as one field; ``bm25_<field>_ratio``: the
  same over the best candidate's (how a candidate stands in this query's list, whatever the scale
  of the query's scores);
- ``cov_<field>``: the share of the query's idf mass that occurs in the field (title coverage:
  how much of the query the title covers, rather than whether any single word is in it);
- ``title_precision``: the share of the title's terms that are query terms, ``title_exact``
  (every query term in the title and every title term in the query);
- ``n_terms`` and ``idf_mean`` (the query's), ``len_title``, ``log_len_body``, and ``prior`` (the
  popularity prior the first stage added; 0 without ``priors.bin`` or with priors off);
- how a candidate's title stands among the other candidates' titles for this query:
  ``cov_title_gap`` (its ``cov_title`` minus the best candidate's), ``title_dice`` (the harmonic
  mean of ``cov_title`` and ``title_precision``: the query covers the title and the title the
  query) and ``title_dice_gap`` (minus the best candidate's), ``title_exact_first`` (the candidate
  ranked highest by the first stage among those with ``title_exact``), ``n_title_exact`` (how many
  candidates have it), and ``bm25f_ratio`` (``bm25f`` over the best candidate's: the text score
  alone, where ``score_ratio`` carries the prior too).

The shipped model also reads :data:`SHAPE_FEATURES` after them, the same on every candidate of a
query (:func:`shape_features`): its words, the share of them the analyzer drops, whether its first word
asks a question, and the second candidate's ``score_ratio``, so that its trees can tell a query that
describes a page ('sixth planet from the sun') from one that names it or asks about it; it was
trained on descriptions people wrote too (session 22, ``benchmarks/results/relevance.md``).

The text features come from one numba kernel (:func:`_rerank_kernels.candidate_features`) that
walks each query term's postings of the candidates once; ``rerank`` reads those postings a block
at a time (``Searcher.candidate_postings``: only the blocks that hold a candidate are decoded), so
what the features cost follows the candidates, not the lengths of the terms' lists.

The candidates are sorted by the model's score plus the model's ``prior_weight`` times the
popularity prior (a term outside the trees: the training sets have too few pages with page views
for the trees to learn what a prior is worth; 0 in a model file without it), except that with the model's
``exact_title_first`` (the shipped model does not ask for it) a candidate whose title is exactly the query goes
first (:func:`rerank_order`).

With a dense directory of the index's pages, hybrid search (``wikisearch.dense``'s
``HybridSearcher.search(rerank=True)``) re-ranks with a second model,
``wikisearch/data/rerank-model-dense.json``, that also reads :data:`DENSE_FEATURES` (the cosine of
the query's vector and each candidate's lead vector, :func:`dense_features`) between those and
the query's shape, then (session 28) the proximity columns as the lexical model does
(:data:`MODEL_COLUMNS`); the cosines come from the caller
(``dense_similarity``), so this module imports nothing of ``dense/``.

The model file (``wikisearch/data/rerank-model.json``) holds the trees as flat arrays, evaluated
here by a numba kernel (:class:`TreeModel`: QuickScorer, which reads the nodes by feature and
threshold instead of walking each tree; LightGBM is needed only to train, and by the test that
compares the two). Hits past ``depth`` keep their first-stage order after the re-ranked ones.
Deterministic: the same index, query and model give the same order (ties: first-stage rank).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from wikisearch.config import FIELD_ID, N_FIELDS, PriorConfig, RankConfig
from wikisearch.errors import InvalidQueryError, WikisearchError
from wikisearch.search import _rerank_kernels as RK
from wikisearch.search import _search_kernels as K
from wikisearch.search.proximity import PROXIMITY_FEATURES, PROXIMITY_GAPS, with_gaps
from wikisearch.search.query import analyze_words, parse_query
from wikisearch.search.rank import idf as idf_of, kernel_lengths, kernel_params
from wikisearch.search.results import SearchResult
from wikisearch.search.searcher import Searcher
from wikisearch.search.sharded import ShardedSearcher

#: Depth of the first stage the model re-orders.
DEPTH = 100
MODEL_FORMAT = "wikisearch-rerank"
MODEL_VERSION = 1
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "data" / "rerank-model.json"
#: The model with dense similarity (:data:`DENSE_FEATURES`), for hybrid search.
DEFAULT_DENSE_MODEL = DEFAULT_MODEL.with_name("rerank-model-dense.json")

#: Field groups with features of their own (title: the title and its redirect aliases).
FIELD_GROUPS = (("title", ("title", "redirect")), ("opening", ("opening",)), ("heading", ("heading",)),
                ("body", ("body",)), ("reference", ("reference",)))
FEATURES = (("bm25f", "score_ratio", "log_rank")
            + tuple(f"bm25_{g}" for g, _ in FIELD_GROUPS)
            + tuple(f"bm25_{g}_ratio" for g, _ in FIELD_GROUPS)
            + tuple(f"cov_{g}" for g, _ in FIELD_GROUPS) + ("cov_all",)
            + ("title_precision", "title_exact", "n_terms", "idf_mean", "len_title", "log_len_body", "prior")
            + ("cov_title_gap", "title_dice", "title_dice_gap", "title_exact_first", "n_title_exact", "bm25f_ratio"))
#: The dense-similarity features a second model adds after :data:`FEATURES` (a dense directory of
#: the same pages; computed by the caller, :func:`dense_features` from raw cosines):
#: ``dense_cos`` (cosine of the query's vector and the candidate's lead vector), ``dense_cos_gap``
#: (minus the best candidate's), ``dense_log_rank`` (ln of its rank by cosine among the candidates)
#: and ``dense_missing`` (1 for a candidate without a vector: its cosine is taken as the median of
#: the others', so that it is neither lifted nor sunk).
DENSE_FEATURES = ("dense_cos", "dense_cos_gap", "dense_log_rank", "dense_missing")
#: Query-level features the lexical model reads after :data:`FEATURES` (the same on every candidate
#: of a query: :func:`shape_features`), so that its trees can tell a description or a question from
#: a name, and a sure first stage from an unsure one: ``q_words`` (the query's words: runs between
#: spaces with a letter or digit), ``q_stop_share`` (the share of those words the analyzer keeps no
#: term of), ``q_question`` (1 when the first word is one of :data:`QUESTION_WORDS`) and
#: ``top2_ratio`` (the second candidate's ``score_ratio``; 0 with one candidate).
SHAPE_FEATURES = ("q_words", "q_stop_share", "q_question", "top2_ratio")
#: First words that make a query a question or a request (``q_question``).
QUESTION_WORDS = frozenset("what who whom whose which when where why how is are was were do does did can "
                           "list give name show find tell".split())
#: Term proximity in each candidate's prose prefix and each minus the best candidate's
#: (:mod:`wikisearch.search.proximity`): the lexical model reads them after the query's shape.
PROXIMITY_COLUMNS = PROXIMITY_FEATURES + PROXIMITY_GAPS
#: The rows a model may read: :data:`FEATURES`, then :data:`DENSE_FEATURES` (hybrid search), then
#: :data:`SHAPE_FEATURES` (the shipped models), then :data:`PROXIMITY_COLUMNS` (the shipped lexical
#: model; a hybrid model may read them too), in this order.
MODEL_COLUMNS = (FEATURES, FEATURES + DENSE_FEATURES, FEATURES + SHAPE_FEATURES,
                 FEATURES + DENSE_FEATURES + SHAPE_FEATURES, FEATURES + SHAPE_FEATURES + PROXIMITY_COLUMNS,
                 FEATURES + DENSE_FEATURES + SHAPE_FEATURES + PROXIMITY_COLUMNS)
_FIELD_K1 = 1.2
_COL = {name: i for i, name in enumerate(FEATURES + DENSE_FEATURES)}
#: Each field's group (index into FIELD_GROUPS; -1: none) and the feature columns per group.
_GROUP = np.full(N_FIELDS, -1, np.int64)
for _g, (_, _fields) in enumerate(FIELD_GROUPS):
    _GROUP[[FIELD_ID[f] for f in _fields]] = _g
_TITLE_GROUP = 0
_BM25 = np.array([_COL[f"bm25_{g}"] for g, _ in FIELD_GROUPS])
_RATIO = np.array([_COL[f"bm25_{g}_ratio"] for g, _ in FIELD_GROUPS])
_COV = np.array([_COL[f"cov_{g}"] for g, _ in FIELD_GROUPS])
#: The columns ``_rerank_kernels.feature_rows`` fills, in the order it takes them.
_ROW_COLS = np.array([_COL[c] for c in ("bm25f", "score_ratio", "log_rank", "cov_all", "title_precision",
                                        "title_exact", "n_terms", "idf_mean", "len_title", "log_len_body", "prior",
                                        "cov_title_gap", "title_dice", "title_dice_gap", "title_exact_first",
                                        "n_title_exact", "bm25f_ratio")], np.int64)


def query_terms(reader, query, ordinal=None) -> list[int]:
    """Ordinals of the distinct terms of ``query`` (text, or a parsed :class:`Query`) that score
    (filters and exclusions left out) and that the index holds, in order of first appearance.
    ``ordinal(term)``: the lookup (default ``reader.term_ordinal``; a searcher's remembers)."""
    ordinal = ordinal or reader.term_ordinal
    out: list[int] = []
    for term in query_term_texts(reader.analyzer, query):
        o = ordinal(term)
        if o >= 0 and o not in out:
            out.append(o)
    return out


def query_term_texts(analyzer, query) -> list[str]:
    """The distinct terms of ``query`` (text, or a parsed :class:`Query`) that score (filters and
    exclusions left out), in order of first appearance."""
    q = parse_query(query, analyzer) if isinstance(query, str) else query
    filter_only = set(q.filter_only_terms())
    return list(dict.fromkeys(key[0] for key in q.scoring_terms() if key not in filter_only))


def features(reader, ordinals: list[int], docids, rank: RankConfig, prior=None, postings=None) -> np.ndarray:
    """float64[C, len(FEATURES)]: the features of documents ``docids`` (first-stage order) for a
    query whose terms have ``ordinals``. ``prior``: per-document prior values (or None).
    ``postings(ordinals, sorted candidates) -> (offsets, docids, masks, tfs)`` or None: the terms'
    postings of those documents (``Searcher.candidate_postings``: a block at a time); without it,
    or where it gives None, each list is decoded whole (the same features: a test compares).
    The matrix is filled by one kernel (``_rerank_kernels.feature_rows``); :func:`features_numpy`
    fills the same matrix with numpy (a test compares them to the bit)."""
    docids = np.asarray(docids, np.int64)
    C, T = len(docids), len(ordinals)
    X = np.zeros((C, len(FEATURES)), np.float64)
    if C == 0:
        return X
    got = _candidate_arrays(reader, ordinals, docids, rank, postings) if T else None
    if got is None:
        order, bm25f, hit, gs, gm, gc, total = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                                                np.zeros((0, len(FIELD_GROUPS))), np.zeros((0, len(FIELD_GROUPS))),
                                                np.zeros((0, len(FIELD_GROUPS)), np.int64), 0.0)
    else:
        order, bm25f, hit, gs, gm, gc, total = got
    field_lengths = reader.field_lengths
    RK.feature_rows(X, order, bm25f, hit, gs, gm, gc, float(total), np.int64(T),
                    np.ascontiguousarray(field_lengths[docids, FIELD_ID["title"]], np.int64),
                    np.log1p(field_lengths[docids, FIELD_ID["body"]].astype(np.float64)),
                    np.asarray(prior, np.float64)[docids] if prior is not None else np.zeros(C),
                    _log_ranks(C), _ROW_COLS, _BM25, _RATIO, _COV)
    return X


def features_numpy(reader, ordinals: list[int], docids, rank: RankConfig, prior=None, postings=None) -> np.ndarray:
    """:func:`features` filled with numpy, column group by column group (the oracle its kernel is
    compared to; sharded search fills its matrix so, a shard's rows at a time)."""
    X = _document_features(reader, ordinals, docids, rank, prior, postings)
    _candidate_set_features(X, len(ordinals) > 0)
    return X


def _log_ranks(C: int) -> np.ndarray:
    """ln(1), ..., ln(C): the ``log_rank`` column (numpy's log, as :func:`_candidate_set_features`
    takes it; kept for the depths asked for)."""
    got = _LOG_RANKS.get(C)
    if got is None:
        if len(_LOG_RANKS) > 64:
            _LOG_RANKS.clear()
        got = _LOG_RANKS[C] = np.log(np.arange(1, C + 1, dtype=np.float64))
    return got


_LOG_RANKS: dict = {}


def sharded_features(searcher, query, docids, shard_of, rank: RankConfig, priors=None) -> np.ndarray:
    """:func:`features` of the first-stage candidates of a ``ShardedSearcher``: candidate i is
    document ``docids[i]`` of shard ``shard_of[i]``. Each shard's candidates are scored with the
    statistics of the whole collection, as sharded search scores them (its document count, the
    terms' summed document frequencies, the average field lengths of all the documents), so the
    matrix is the one a single index of the same documents gives (a test compares), but for the
    prior, which stays per shard as in sharded search."""
    terms, idf = _collection_terms(searcher, query, rank)
    avg = np.asarray(searcher.collection.avg_field_lengths, np.float64)
    X = _per_shard(searcher, docids, shard_of, terms, len(FEATURES), lambda shard, rows, ordinals: _document_features(
        shard.reader, ordinals, rows, rank, prior_values(shard, priors), shard.candidate_postings, idf, avg))
    _candidate_set_features(X, len(terms) > 0)
    return X


def _per_shard(searcher, docids, shard_of, terms: list[str], width: int, rows_of) -> np.ndarray:
    """float64[C, width]: each shard's candidates' rows, ``rows_of(shard, its docids, the terms'
    ordinals in the shard)``, in candidate order."""
    docids = np.asarray(docids, np.int64)
    shard_of = np.asarray(shard_of, np.int64)
    M = np.zeros((len(docids), width), np.float64)
    for i, shard in enumerate(searcher.shards):
        rows = np.flatnonzero(shard_of == i)
        if len(rows):
            M[rows] = rows_of(shard, docids[rows], [shard.term_ordinal(t) for t in terms])
    return M


def proximity(searcher, ordinals: list[int], docids, rank: RankConfig) -> np.ndarray:
    """float64[C, len(PROXIMITY_COLUMNS)]: term proximity in each of ``docids``' prose prefix for a
    query whose terms have ``ordinals`` (:func:`query_terms`), each term weighed by its idf
    (``rank``'s model), read from the index's forward index when it has one, else from its stored
    text (``searcher.proximity``: the same numbers)."""
    return with_gaps(searcher.proximity.features(docids, ordinals, _query_idf(searcher.reader, ordinals, rank)))


def _query_idf(reader, ordinals: list[int], rank: RankConfig) -> np.ndarray:
    """float64[T]: each query term's idf in ``reader``'s index, by ``rank``'s model."""
    n = int(reader.n_docs)
    return np.array([idf_of(n, reader.doc_freq(o), rank.model) for o in ordinals], np.float64)


def _collection_terms(searcher, query, rank: RankConfig) -> tuple[list[str], np.ndarray]:
    """The query's scoring terms that some shard of a ``ShardedSearcher`` holds, and their idf by
    the collection's statistics (``rank``'s model)."""
    coll = searcher.collection
    df = {t: coll.doc_freq(t) for t in query_term_texts(searcher.reader.analyzer, query)}
    terms = [t for t, n in df.items() if n > 0]
    return terms, np.array([idf_of(coll.n_docs, df[t], rank.model) for t in terms], np.float64)


def sharded_proximity(searcher, query, docids, shard_of, rank: RankConfig) -> np.ndarray:
    """:func:`proximity` of the candidates of a ``ShardedSearcher`` (candidate i: document
    ``docids[i]`` of shard ``shard_of[i]``), with the collection's idf and each shard's term
    ordinals: the matrix one index of the same documents gives."""
    terms, idf = _collection_terms(searcher, query, rank)
    return with_gaps(_per_shard(searcher, docids, shard_of, terms, len(PROXIMITY_FEATURES),
                                lambda shard, rows, ordinals: shard.proximity.features(rows, ordinals, idf)))


def _candidate_arrays(reader, ordinals, docids, rank: RankConfig, postings, idf=None, avg=None):
    """``(order, bm25f, matched, gscore, gmatched, gcount, total)``: ``_rerank_kernels.
    candidate_features``' arrays for the candidates in docid order (``order``: their rows) and the
    query's idf summed, for a query with terms (``ordinals``; -1: a term this index lacks, a
    shard's: the collection has it). ``idf`` (one per term) and ``avg`` (average field lengths):
    the collection's, by default this index's."""
    T = len(ordinals)
    order = np.argsort(docids, kind="stable")
    cands = docids[order].astype(np.int32)
    present = [t for t, o in enumerate(ordinals) if o >= 0]
    got = postings([ordinals[t] for t in present], cands) if postings is not None else None
    if got is not None:
        offs, d, m, tf = got
    else:
        parts = [reader.postings(ordinals[t]) for t in present]
        offs = np.zeros(len(present) + 1, np.int64)
        np.cumsum([len(p[0]) for p in parts], out=offs[1:])
        d = np.concatenate([p[0] for p in parts] or [np.zeros(0, np.int32)]).astype(np.int32, copy=False)
        m = np.concatenate([p[1] for p in parts] or [np.zeros(0, np.uint16)])
        tf = np.concatenate([p[2] for p in parts] or [np.zeros(0, np.uint32)])
    counts = np.zeros(T, np.int64)             # (a term this index lacks: an empty list)
    counts[present] = np.diff(offs)
    offsets = np.zeros(T + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if idf is None:
        idf = _query_idf(reader, ordinals, rank)
    avg = np.asarray(reader.avg_field_lengths if avg is None else avg, np.float64)
    w, na, nc, k1, model = kernel_params(rank, avg)
    _, na1, nc1, _, _ = kernel_params(RankConfig(k1=_FIELD_K1, weights=(1.0,) * N_FIELDS, b=rank.b), avg)
    bm25f, hit, gs, gm, gc = RK.candidate_features(
        cands, offsets, d, m, K.tf_positions(m), tf, idf, kernel_lengths(reader.field_lengths), w, na, nc,
        k1, model, _GROUP, np.int64(len(FIELD_GROUPS)), na1, nc1, _FIELD_K1)
    return order, bm25f, hit, gs, gm, gc, idf.sum()


def _document_features(reader, ordinals, docids, rank: RankConfig, prior, postings, idf=None,
                       avg=None) -> np.ndarray:
    """The features of each candidate alone (:func:`features`' matrix without the columns that
    compare a candidate with the others: :func:`_candidate_set_features` fills those), with numpy.
    An ordinal -1 is a term this index lacks (a shard's: the collection has it). ``idf`` (one per
    term) and ``avg`` (average field lengths): the collection's, by default this index's."""
    docids = np.asarray(docids, np.int64)
    C, T = len(docids), len(ordinals)
    X = np.zeros((C, len(FEATURES)), np.float64)
    if C == 0:
        return X
    col = _COL
    field_lengths = reader.field_lengths
    prior_d = np.asarray(prior, np.float64)[docids] if prior is not None else np.zeros(C)
    if T:
        order, bm25f, hit, gs, gm, gc, total = _candidate_arrays(reader, ordinals, docids, rank, postings, idf, avg)
        cands = docids[order]
        X[order, col["bm25f"]] = bm25f
        X[order, col["cov_all"]] = hit / total
        X[order[:, None], _BM25[None, :]] = gs
        X[order[:, None], _COV[None, :]] = gm / total
        X[order, col["title_precision"]] = np.minimum(1.0, gc[:, _TITLE_GROUP] / np.maximum(
            field_lengths[cands, FIELD_ID["title"]].astype(np.float64), 1.0))
        X[:, col["idf_mean"]] = total / T
    X[:, col["title_exact"]] = (X[:, col["cov_title"]] >= 1.0 - 1e-12) & (X[:, col["title_precision"]] >= 1.0)
    X[:, col["n_terms"]] = T
    X[:, col["len_title"]] = field_lengths[docids, FIELD_ID["title"]]
    X[:, col["log_len_body"]] = np.log1p(field_lengths[docids, FIELD_ID["body"]].astype(np.float64))
    X[:, col["prior"]] = prior_d
    return X


def _candidate_set_features(X: np.ndarray, scored: bool) -> None:
    """Fill the columns of ``X`` (rows in first-stage order, :func:`_document_features` filled)
    that compare a candidate with the others of its query: the per-field BM25 and the first
    stage's score over the best candidate's (``scored``: the query has a term the index holds;
    else they stay 0), ``log_rank`` and :func:`_relative_title_features`."""
    col = _COL
    C = len(X)
    if C == 0:
        return
    if scored:
        gs = X[:, _BM25]
        top = gs.max(axis=0)
        X[:, _RATIO] = np.where(top > 0, gs / np.where(top > 0, top, 1.0), 0.0)
        first = X[:, col["bm25f"]] + X[:, col["prior"]]
        best = first.max()
        X[:, col["score_ratio"]] = first / best if best > 0 else 0.0
    X[:, col["log_rank"]] = np.log(np.arange(1, C + 1, dtype=np.float64))
    _relative_title_features(X)


def _relative_title_features(X: np.ndarray) -> None:
    """Fill the features that compare a candidate with the other candidates of its query (rows in
    first-stage order): ``cov_title_gap``, ``title_dice``, ``title_dice_gap``, ``title_exact_first``,
    ``n_title_exact``, ``bm25f_ratio``."""
    col = _COL
    ct, tp = X[:, col["cov_title"]], X[:, col["title_precision"]]
    dice = np.where(ct + tp > 0, 2.0 * ct * tp / np.maximum(ct + tp, 1e-300), 0.0)
    X[:, col["cov_title_gap"]] = ct - ct.max()
    X[:, col["title_dice"]] = dice
    X[:, col["title_dice_gap"]] = dice - dice.max()
    exact = X[:, col["title_exact"]] > 0
    if exact.any():
        X[int(np.argmax(exact)), col["title_exact_first"]] = 1.0
    X[:, col["n_title_exact"]] = float(exact.sum())
    b = X[:, col["bm25f"]]
    best = b.max()
    X[:, col["bm25f_ratio"]] = b / best if best > 0 else 0.0


def shape_features(analyzer, text: str, X: np.ndarray, word_cache: dict | None = None) -> np.ndarray:
    """float64[C, len(SHAPE_FEATURES)]: :data:`SHAPE_FEATURES` of query ``text`` for the C candidates
    whose :data:`FEATURES` rows are ``X``. A word is dropped when ``analyzer`` keeps no token of it
    (each word analysed alone, in one call; ``word_cache``: the searcher's cache of words' terms,
    which parsing the query has just filled: :func:`~wikisearch.search.query.analyze_words`)."""
    words = [w for w in str(text).split() if any(c.isalnum() for c in w)]
    dropped = sum(not terms for terms in analyze_words(analyzer, words, word_cache))
    row = np.array([len(words), dropped / len(words) if words else 0.0,
                    float(bool(words) and words[0].lower().strip("\"'") in QUESTION_WORDS),
                    X[1, _COL["score_ratio"]] if len(X) > 1 else 0.0], np.float64)
    return np.repeat(row[None, :], len(X), axis=0)


def dense_features(cos, has) -> np.ndarray:
    """float64[C, len(DENSE_FEATURES)] from the candidates' cosines ``cos`` (first-stage order) and
    ``has`` (whether a candidate has a vector; ``cos`` is ignored where it has not). A candidate
    without a vector gets the median cosine of those with one (0.0 if none has), ``dense_missing``
    1; ranks by cosine are 1-based, ties in first-stage order."""
    cos = np.asarray(cos, np.float64)
    has = np.asarray(has, bool)
    C = len(cos)
    D = np.zeros((C, len(DENSE_FEATURES)), np.float64)
    if C == 0:
        return D
    fill = float(np.median(cos[has])) if has.any() else 0.0
    c = np.where(has, cos, fill)
    rank = np.empty(C, np.float64)
    rank[np.lexsort((np.arange(C), -c))] = np.arange(1, C + 1)
    D[:, 0] = c
    D[:, 1] = c - c.max()
    D[:, 2] = np.log(rank)
    D[:, 3] = ~has
    return D


def rerank_order(scores: np.ndarray, X: np.ndarray, exact_title_first: bool) -> np.ndarray:
    """The candidates' new order (indices into the rows of ``X``): by the model's ``scores``, high
    first, ties in first-stage order; with ``exact_title_first``, the candidates whose title (or a
    redirect alias) is exactly the query's terms (``title_exact``) go before all others, as
    Wikipedia's search box sends such a query to that page. The model cannot learn this itself:
    on the training sets an exact title occurs for a dozen queries, under a leaf's minimum size."""
    keys = [np.arange(len(scores)), -np.asarray(scores, np.float64)]
    if exact_title_first:
        keys.append(-X[:, _COL["title_exact"]])
    return np.lexsort(keys)


class TreeModel:
    """A sum of regression trees (LightGBM's, flattened), evaluated by a numba kernel.

    Each tree is arrays over its internal nodes: ``feature``, ``threshold``, ``left``, ``right``
    (a child ``c >= 0`` is internal node c, ``c < 0`` is leaf ``~c``) and ``value`` over its
    leaves. A row goes left when its feature value is ``<= threshold`` (features are finite).
    :meth:`predict` uses QuickScorer (``_rerank_kernels.predict_quickscorer``) when every tree has
    at most :data:`QUICK_LEAVES` leaves (the shipped models: 15), else walks the trees
    (``predict_trees``); both give the same sums to the bit. A tree that is not one binary tree
    over its leaves is refused when the model is read."""

    def __init__(self, spec: dict):
        if spec.get("format") != MODEL_FORMAT or spec.get("version") != MODEL_VERSION:
            raise WikisearchError(f"not a {MODEL_FORMAT} model of version {MODEL_VERSION}")
        names = tuple(spec["features"])
        if names not in MODEL_COLUMNS:
            raise WikisearchError("the re-ranking model was trained on other features: retrain it "
                                  "(python benchmarks/relevance.py --train)")
        self.spec = spec
        #: The model reads :data:`DENSE_FEATURES` after :data:`FEATURES` (rows need both).
        self.dense = DENSE_FEATURES[0] in names
        #: The model reads :data:`SHAPE_FEATURES` (after the dense ones where it reads those).
        self.shape = SHAPE_FEATURES[0] in names
        #: The model reads :data:`PROXIMITY_COLUMNS` last.
        self.proximity = PROXIMITY_FEATURES[0] in names
        self.n_features = len(names)
        self.depth = int(spec.get("depth", DEPTH))
        self.exact_title_first = bool(spec.get("exact_title_first", False))
        self.prior_weight = float(spec.get("prior_weight", 0.0))
        if not (np.isfinite(self.prior_weight) and self.prior_weight >= 0):
            raise WikisearchError(f"re-ranking model's prior_weight must be a number >= 0, not {self.prior_weight}")
        trees = spec["trees"]
        self.n_trees = len(trees)
        self._node_start = np.zeros(len(trees) + 1, np.int64)
        self._leaf_start = np.zeros(len(trees) + 1, np.int64)
        np.cumsum([len(t["feature"]) for t in trees], out=self._node_start[1:])
        np.cumsum([len(t["value"]) for t in trees], out=self._leaf_start[1:])

        def cat(key, dtype):
            return np.ascontiguousarray(np.concatenate([np.asarray(t[key], dtype) for t in trees])
                                        if trees else np.zeros(0, dtype))
        self._arrays = (cat("feature", np.int64), cat("threshold", np.float64), cat("left", np.int64),
                        cat("right", np.int64), cat("value", np.float64))
        if len(self._arrays[0]) and not (0 <= self._arrays[0].min() and self._arrays[0].max() < self.n_features):
            raise WikisearchError("re-ranking model names a feature it does not have")
        if np.isnan(self._arrays[1]).any():
            raise WikisearchError("re-ranking model has a tree with a threshold that is not a number")
        #: QuickScorer's arrays (:func:`_rerank_kernels.predict_quickscorer`), or None when a tree
        #: has more than QUICK_LEAVES leaves (then each row walks the trees: ``predict_trees``).
        self._quick = _quickscorer_arrays(trees, self.n_features)
        stage = spec.get("first_stage")
        #: The first stage's settings the model was trained behind (None: not recorded).
        self.first_stage = RankConfig.from_json(stage) if isinstance(stage, dict) else None
        self._behind: dict = {}                 # RankConfig -> None, or a warning for it

    def mismatch(self, rank: RankConfig) -> str | None:
        """A warning when ``rank`` (the first stage's settings of a query) is not the first stage
        the model was trained behind: its features (the first stage's score, ranks, ratios) then
        come from another ranking than the trees learnt from, and the order may be worse. None
        when they agree or the model file does not say."""
        if self.first_stage is None or rank == self.first_stage:
            return None
        if rank not in self._behind:
            diff = [k for k, v in rank.to_json().items() if self.first_stage.to_json()[k] != v]
            self._behind[rank] = (f"the re-ranking model was trained behind other first-stage settings "
                                  f"({', '.join(diff)} {'differs' if len(diff) == 1 else 'differ'}): its "
                                  f"order may be worse than measured")
        return self._behind[rank]

    @classmethod
    def from_lightgbm(cls, booster, features=FEATURES, **meta) -> "TreeModel":
        """Flatten a trained ``lightgbm.Booster`` (trained on ``features``: one of
        :data:`MODEL_COLUMNS`)."""
        dump = booster.dump_model()
        trees = []
        for info in dump["tree_info"]:
            feat, thr, left, right, value = [], [], [], [], []

            def walk(node):
                if "leaf_value" in node or "leaf_index" in node:
                    value.append(float(node.get("leaf_value", 0.0)))
                    return ~(len(value) - 1)
                if node.get("decision_type", "<=") != "<=":
                    raise WikisearchError(f"unsupported split {node.get('decision_type')}")
                i = len(feat)
                feat.append(int(node["split_feature"]))
                thr.append(float(node["threshold"]))
                left.append(0)
                right.append(0)
                left[i] = walk(node["left_child"])
                right[i] = walk(node["right_child"])
                return i
            walk(info["tree_structure"])
            trees.append({"feature": feat, "threshold": thr, "left": left, "right": right, "value": value})
        spec = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "features": list(features),
                "depth": DEPTH, **meta, "trees": trees}
        return cls(spec)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The model's score of each row of ``X`` (float64[n, the model's number of features])."""
        X = np.ascontiguousarray(X, np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise WikisearchError(f"the re-ranking model reads {self.n_features} features a row, not "
                                  f"{X.shape[1] if X.ndim == 2 else X.shape}"
                                  + (" (it needs dense similarity: re-rank in hybrid mode)" if self.dense else ""))
        if self._quick is not None:
            return RK.predict_quickscorer(X, *self._quick)
        return RK.predict_trees(X, self._node_start, self._leaf_start, *self._arrays)

    def score(self, X: np.ndarray) -> np.ndarray:
        """What :func:`rerank` orders by: :meth:`predict` plus ``prior_weight`` times the ``prior``
        feature (the popularity prior, added outside the trees)."""
        s = self.predict(X)
        if self.prior_weight:
            s = s + self.prior_weight * np.asarray(X, np.float64)[:, _COL["prior"]]
        return s

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.spec, separators=(",", ":")) + "\n", encoding="utf-8")


#: The most leaves a tree may have for :func:`_rerank_kernels.predict_quickscorer` (its exit leaf's
#: bit found by a 32-bit de Bruijn product).
QUICK_LEAVES = 31


def _tree_spans(t: int, tree) -> tuple[list[int], list[tuple[int, int]]]:
    """Tree ``t``'s leaves left to right and, per internal node, the ``(first, end)`` of that order
    that its left child's leaves take. Raises :class:`WikisearchError` for a tree whose nodes do
    not form one binary tree over its leaves (a child out of range, a node or leaf reached twice or
    never), which walking could loop on or read past; iterative, for trees of any depth."""
    feat, thr, left, right, val = tree["feature"], tree["threshold"], tree["left"], tree["right"], tree["value"]
    n_nodes, n_leaves = len(feat), len(val)
    if not (len(thr) == len(left) == len(right) == n_nodes) or n_leaves != n_nodes + 1:
        raise WikisearchError(f"re-ranking model's tree {t} is malformed: {n_nodes} nodes, {n_leaves} leaves")
    if not n_nodes:
        return [0], []
    order: list[int] = []                           # leaves, left to right
    leaf_seen = [False] * n_leaves
    span: list = [None] * n_nodes
    seen = [False] * n_nodes
    stack = [(0, 0)]                                # (child, state): 0 entering a node, 1 after its left
    while stack:
        c, state = stack.pop()
        if state == 1:                              # the left subtree's leaves end here
            span[c] = (span[c], len(order))
            continue
        if c < 0:
            if not 0 <= ~c < n_leaves or leaf_seen[~c]:
                raise WikisearchError(f"re-ranking model's tree {t} is malformed: leaf {~c}")
            leaf_seen[~c] = True
            order.append(~c)
            continue
        if c >= n_nodes or seen[c]:
            raise WikisearchError(f"re-ranking model's tree {t} is malformed: node {c}")
        seen[c] = True
        span[c] = len(order)                        # (first; the end is set after the left subtree)
        stack += [(int(right[c]), 0), (c, 1), (int(left[c]), 0)]
    if len(order) != n_leaves:
        raise WikisearchError(f"re-ranking model's tree {t} is malformed: unreachable nodes")
    return order, span


def _quickscorer_arrays(trees, n_features):
    """``(feat_start, threshold, tree, mask, leaf_start, value, debruijn_table, rows)`` for
    :func:`_rerank_kernels.predict_quickscorer`, or None if a tree has more than
    :data:`QUICK_LEAVES` leaves. Each tree's leaves are renumbered left to right (``value``
    follows); a node's ``mask`` clears the bits of the leaves under its left child. Every tree is
    checked by :func:`_tree_spans` first, whichever kernel will walk it."""
    shapes = [_tree_spans(t, tr) for t, tr in enumerate(trees)]
    if any(len(order) > QUICK_LEAVES for order, _ in shapes):
        return None
    feats, thrs, owner, masks, values = [], [], [], [], []
    leaf_start = [0]
    for t, (tr, (order, span)) in enumerate(zip(trees, shapes)):
        for j, (lo, hi) in enumerate(span):
            feats.append(tr["feature"][j])
            thrs.append(tr["threshold"][j])
            owner.append(t)
            masks.append(~(((1 << (hi - lo)) - 1) << lo))
        values.extend(tr["value"][i] for i in order)
        leaf_start.append(len(values))
    feats_a = np.asarray(feats, np.int64)
    thr_a = np.asarray(thrs, np.float64)
    by = np.lexsort((thr_a, feats_a))               # by feature, then threshold
    feat_start = np.zeros(n_features + 1, np.int64)
    np.cumsum(np.bincount(feats_a, minlength=n_features), out=feat_start[1:])
    return (feat_start, np.ascontiguousarray(thr_a[by]), np.asarray(owner, np.int64)[by],
            np.asarray(masks, np.int64)[by], np.asarray(leaf_start, np.int64), np.asarray(values, np.float64),
            RK.DEBRUIJN_TABLE, np.int64(RK.QUICK_ROWS))


_MODELS: dict = {}


def load_model(path=None) -> TreeModel:
    """The re-ranking model at ``path`` (default: the one shipped with the package), cached."""
    path = Path(path) if path is not None else DEFAULT_MODEL
    key = str(path.resolve())
    if key not in _MODELS:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WikisearchError(f"no re-ranking model at {path}") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise WikisearchError(f"re-ranking model {path} is not valid JSON: {e}") from None
        _MODELS[key] = TreeModel(spec)
    return _MODELS[key]


def prior_values(searcher, priors) -> np.ndarray | None:
    """The per-document prior the ``prior`` feature reads: the index's priors with the given
    settings (None or True: stored settings; a PriorConfig), or None without priors.bin or with
    ``priors=False`` (the first stage ranks by text alone, and the feature is 0)."""
    stored = searcher.priors
    if stored is None or priors is False:
        return None
    return stored.scores(priors if isinstance(priors, PriorConfig) else stored.config)


def rerank(searcher, query: str, k: int = 10, *, rank: RankConfig | None = None, fields=None,
           priors=None, model: TreeModel | None = None, depth: int | None = None,
           dense_similarity=None, offset: int = 0, snippets: bool = False,
           snippet_chars: int | None = None, correct: bool = False) -> SearchResult:
    """The first stage's top ``depth`` hits for ``query`` re-ordered by ``model`` (default: the
    shipped one), then its hits past ``depth``; ``k`` hits in all, from the ``offset``-th on. A
    re-ranked hit's ``score`` is the model's (:meth:`TreeModel.score`: the trees plus its weight
    times the prior). ``searcher``: a :class:`Searcher`, or a ``ShardedSearcher`` (its candidates'
    features read from their shards with the collection's statistics: :func:`sharded_features`;
    the same hits and scores as one index of the same documents). ``rank``, ``fields``, ``priors``
    and ``correct`` go to the first stage
    (``Searcher.search``: its "did you mean" and rewritten query come back on the result);
    ``snippets`` and ``snippet_chars`` as there, made for the hits returned.
    ``dense_similarity(docids) -> (cosines, has_vector)``: the query's similarity to each candidate,
    which a model with :data:`DENSE_FEATURES` needs (``wikisearch.dense``'s hybrid search gives
    it); a model without them ignores it."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
        raise InvalidQueryError(f"offset must be a non-negative integer, not {offset!r}")
    sharded = isinstance(searcher, ShardedSearcher)
    if not sharded and not isinstance(searcher, Searcher):
        raise InvalidQueryError(f"the re-ranker searches a Searcher or a ShardedSearcher "
                                f"(wikisearch.open), not {type(searcher).__name__}")
    t0 = time.perf_counter()
    model = model or load_model()
    if model.dense and dense_similarity is None:
        raise WikisearchError("this re-ranking model reads dense similarity: re-rank in hybrid mode "
                              "(a dense directory of the index's pages), or use the lexical model")
    if model.dense and sharded:
        raise InvalidQueryError("hybrid re-ranking searches one index, not shards")
    depth = model.depth if depth is None else int(depth)
    want = max(int(k) + int(offset), depth)
    if sharded:
        first = searcher.search(query, k=want, rank=rank, fields=fields, priors=priors, correct=correct)
        shown = list(first)
        every = np.array([h.docid for h in shown], np.int64)
    else:                                   # (arrays: hits are made of the k shown only)
        first = searcher.first_stage(query, want, rank=rank, fields=fields, priors=priors, correct=correct)
        every, first_scores, masks = first.top
    n_head = min(depth, len(every))
    order, scores, notes = np.arange(n_head), None, []
    if n_head > 1:
        rank_cfg = first.rank_config
        docids = every[:n_head]
        if sharded:
            shard_of = [searcher.shard_of(h) for h in shown[:n_head]]
            X = sharded_features(searcher, first.parsed or query, docids, shard_of, rank_cfg, priors)
        else:
            ordinals = query_terms(searcher.reader, first.parsed or query, searcher.term_ordinal)
            X = features(searcher.reader, ordinals, docids, rank_cfg, prior_values(searcher, priors),
                         searcher.candidate_postings)
        if model.dense:
            X = np.hstack([X, dense_features(*dense_similarity(docids))])
        if model.shape:
            X = np.hstack([X, shape_features(searcher.reader.analyzer, query, X,
                                                    getattr(searcher, "word_cache", None))])
        if model.proximity:
            if sharded:
                P = sharded_proximity(searcher, first.parsed or query, docids, shard_of, rank_cfg)
            else:
                P = proximity(searcher, ordinals, docids, rank_cfg)
            X = np.hstack([X, P])
            for shard in (searcher.shards if sharded else (searcher,)):
                if shard.proximity.warning and shard.proximity.warning not in notes:
                    notes.append(shard.proximity.warning)
        scores = model.score(X)
        order = rerank_order(scores, X, model.exact_title_first)
    # the hits shown: the re-ordered head, then the first stage's hits past it, from offset on
    sel = np.concatenate([order, np.arange(n_head, len(every))])[int(offset):int(offset) + int(k)]
    if sharded:
        hits = [shown[i] for i in sel.tolist()]
        if scores is not None:              # (the first stage's own hits, re-scored)
            for h, i in zip(hits, sel.tolist()):
                if i < n_head:
                    h.score = float(scores[i])
    else:
        shown_scores = first_scores[sel]
        if scores is not None:
            head = sel < n_head
            shown_scores[head] = scores[sel[head]]
        hits = searcher.hits(every[sel], shown_scores, masks[sel], int(offset) + 1)
    for r, h in enumerate(hits, int(offset) + 1):
        h.rank = r
    flags = dict(first.flags, rerank=True)
    behind = model.mismatch(first.rank_config)
    warnings = first.warnings + ([behind] if behind else []) + notes
    result = SearchResult(hits, query=first.query, parsed=first.parsed, rank_config=first.rank_config,
                          warnings=warnings, counter=first._count, took_ms=0.0, flags=flags,
                          suggestion=first.suggestion, rewritten_query=first.rewritten_query)
    searcher.explain(result, snippets, snippet_chars)     # snippets and matched-via, as search() gives
    result.took_ms = (time.perf_counter() - t0) * 1000
    return result
