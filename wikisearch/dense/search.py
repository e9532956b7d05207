"""search: dense and hybrid (BM25F + dense) search, returning the lexical searcher's Hit objects.

Dense: the query is embedded with the directory's model, FAISS returns the best passages, and
passages aggregate to articles by their best (max) score. Hybrid: the lexical and the dense
article rankings (``depth`` deep each) are fused, by reciprocal rank fusion (k = 60) by default or
by a weighted sum of min-max normalised scores; the key is the page id, so a dense directory made
from the dump and an index made from the same dump agree.

>>> d = open_dense("wikisearch-dense", lexical="wikisearch-index")      # doctest: +SKIP
>>> [h.title for h in d.search("first woman chancellor of germany", k=3)]  # doctest: +SKIP
>>> h = HybridSearcher(lexical_searcher, d)                              # doctest: +SKIP
>>> h.search("merkel", k=10, fusion="rrf")                               # doctest: +SKIP
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from wikisearch.errors import IndexNotFoundError, InvalidQueryError, WikisearchError
from wikisearch.dense import ann, fusion, store

MODES = ("lexical", "dense", "hybrid")
FUSIONS = ("rrf", "weighted")
#: Passages fetched per wanted article (articles have many passages; max aggregation).
_PASSAGES_PER_ARTICLE = 4


def open_dense(path, lexical=None, **kw) -> "DenseSearcher":
    """Open a dense directory; ``lexical`` (an index path, Searcher or IndexReader) gives docids
    and URLs matching that index."""
    return DenseSearcher(path, lexical=lexical, **kw)


#: Weight of the popularity prior (normalised to [0, 1]) added to cosine similarities, and how
#: many articles are re-ranked with it. Not tuned: no judgments here cover dense + page views.
PRIOR_WEIGHT = 0.05
PRIOR_DEPTH = 100


class DenseSearcher:
    """Searches a dense directory. The model loads on the first query (or :meth:`warmup`)."""

    def __init__(self, path, lexical=None, *, device: str | None = "cpu", encoder=None,
                 refine: bool = True, nprobe: int | None = None):
        from wikisearch.dense import require
        require("faiss")
        self.path = Path(path)
        mpath = self.path / "dense.json"
        if not mpath.exists():
            raise IndexNotFoundError(f"no dense index at {self.path} (make one with "
                                     f"`wikisearch embed DUMP_OR_INDEX -o {self.path}`; "
                                     "an interrupted run resumes when rerun)")
        self.manifest = json.loads(mpath.read_text(encoding="utf-8"))
        self.map = store.PassageMap(self.path)
        self.index, self.params = ann.load(self.path / "index.bin")
        self.vectors = store.ShardVectors(self.path, self.map.shard_passages)
        self.refine = refine and self.params.get("type") == "ivfpq"
        self.nprobe = nprobe
        self.device = device
        self._encoder = encoder
        self.lexical, self.priors = _lexical_of(lexical)
        self._docid_of_page = None
        self._lead = None
        from wikisearch.ingest.dump import SiteInfo
        site = self.manifest.get("siteinfo")
        self.siteinfo = SiteInfo.from_json(site) if site else SiteInfo.synthesize("en")

    # --- model ------------------------------------------------------------------------------
    @property
    def encoder(self):
        if self._encoder is None:
            from wikisearch.dense.encoder import Encoder
            cpu = self.device is None or str(self.device).startswith("cpu")
            self._encoder = Encoder(self.manifest["model"]["name"], device=self.device,
                                    precision="fp32" if cpu else None, torch_threads=1 if cpu else None)
        return self._encoder

    def warmup(self) -> None:
        self.embed_queries(["warmup"])

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        return self.encoder.encode(queries)

    # --- search -----------------------------------------------------------------------------
    def search_passages(self, qvec: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, passage ids) of the ``n`` best passages for one query vector."""
        n = min(n, self.map.n_passages)
        scores, ids = ann.search(self.index, qvec, n, nprobe=self.nprobe,
                                 refine=self.vectors.get if self.refine else None)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def rank_articles(self, query: str | np.ndarray, depth: int) -> list[tuple[int, float]]:
        """(article ordinal, max passage score) best first, up to ``depth`` articles."""
        qvec = self.embed_queries([query]) if isinstance(query, str) else np.atleast_2d(query)
        best: dict[int, float] = {}
        n = depth * _PASSAGES_PER_ARTICLE
        while True:
            scores, ids = self.search_passages(qvec, n)
            best = {}
            for a, s in zip(self.map.article[ids].tolist(), scores.tolist()):
                if a not in best:                       # passages come best first: max
                    best[a] = s
            if len(best) >= depth or n >= self.map.n_passages:
                break
            n *= 4
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:depth]

    def apply_priors(self, ranked: list, priors=None, weight: float = PRIOR_WEIGHT) -> list:
        """Re-rank ``(article, cosine)`` pairs by ``cosine + weight * prior`` where the lexical
        index has popularity priors (``wikisearch priors``), normalised to [0, 1]; ``priors=False``
        leaves the ranking as it is."""
        if priors is False or not ranked or self.priors is None:
            return ranked
        from wikisearch.popularity.priors import prior_scores
        docids = np.asarray([self.docid(a) for a, _ in ranked], np.int64)
        known = docids >= 0
        boost = np.zeros(len(ranked))
        if known.any():
            boost[known] = prior_scores(self.priors, self.lexical.n_docs, docids[known], normalized=True)
        rescored = [(a, float(s) + weight * float(b)) for (a, s), b in zip(ranked, boost)]
        return sorted(rescored, key=lambda kv: (-kv[1], kv[0]))

    def search(self, query: str, k: int = 10, *, query_vector: np.ndarray | None = None,
               priors=None):
        """The ``k`` best articles as a SearchResult of Hits (matched_fields ``["dense"]``);
        ``query_vector`` skips embedding ``query`` (batch evaluation); ``priors=False`` ranks
        by similarity alone."""
        t0 = time.perf_counter()
        k = _check_k(k)
        q = query_vector if query_vector is not None else query
        depth = max(k, PRIOR_DEPTH) if priors is not False else k
        ranked = self.rank_articles(q, depth) if k and query.strip() else []
        ranked = self.apply_priors(ranked, priors)[:k]
        hits = [self.hit(a, s, r + 1, ["dense"]) for r, (a, s) in enumerate(ranked)]
        return _result(hits, query, t0, {"mode": "dense"}, self.lexical)

    # --- articles -> hits -------------------------------------------------------------------
    def page_id(self, article: int) -> int:
        return int(self.map.page_ids[article])

    def docid(self, article: int) -> int:
        """The lexical index's docid of an article (-1 if it is not there); the article
        ordinal itself without a lexical index."""
        if self.lexical is None:
            return article
        if self._docid_of_page is None:
            pids = np.asarray(self.lexical.page_ids, np.int64)
            order = np.argsort(pids, kind="stable")
            self._docid_of_page = (pids[order], order)
        pids, order = self._docid_of_page
        pid = self.page_id(article)
        i = int(np.searchsorted(pids, pid))
        return int(order[i]) if i < len(pids) and pids[i] == pid else -1

    def lead_vectors(self, docids) -> tuple[np.ndarray, np.ndarray]:
        """(float32[C, dim] unit vectors, bool[C] has a vector) of the lexical index's documents
        ``docids``: each document's lead passage (its article's passage 0), matched by page id;
        a document the directory lacks gets a zero row and False."""
        if self.lexical is None:
            raise WikisearchError("lead vectors of docids need the lexical index (open_dense(..., lexical=))")
        if self._lead is None:
            m = self.map
            pids = np.asarray(m.page_ids, np.int64)
            order = np.argsort(pids, kind="stable")
            lead = np.flatnonzero(np.asarray(m.passage_no) == 0)
            first = np.full(m.n_articles, -1, np.int64)
            first[np.asarray(m.article)[lead]] = lead
            self._lead = (pids[order], first[order])
        pids, first = self._lead
        docids = np.asarray(docids, np.int64)
        V = np.zeros((len(docids), int(self.manifest["dim"])), np.float32)
        if not len(pids):
            return V, np.zeros(len(docids), bool)
        want = np.asarray(self.lexical.page_ids)[docids].astype(np.int64)     # no copy of the whole column
        i = np.minimum(np.searchsorted(pids, want), len(pids) - 1)
        vid = np.where(pids[i] == want, first[i], -1)
        has = vid >= 0
        if has.any():
            V[has] = self.vectors.get(vid[has])
            norm = np.linalg.norm(V[has], axis=1, keepdims=True)
            V[has] /= np.where(norm > 0, norm, 1.0)
        return V, has

    def lead_cosines(self, query_vector: np.ndarray, docids) -> tuple[np.ndarray, np.ndarray]:
        """(float64[C] cosine of the query's vector and each document's lead vector, bool[C] has
        a vector; 0.0 where not): the dense side of the re-ranker's features
        (:func:`wikisearch.search.rerank.dense_features`)."""
        q = np.asarray(query_vector, np.float32).reshape(-1)
        n = float(np.linalg.norm(q))
        V, has = self.lead_vectors(docids)
        cos = (V @ (q / n if n > 0 else q)).astype(np.float64)
        return np.where(has, cos, 0.0), has

    def hit(self, article: int, score: float, rank: int, fields: list[str]):
        from wikisearch.search.searcher import Hit
        title = self.map.title(article)
        d = self.docid(article)
        url = self.lexical.url(d) if self.lexical is not None and d >= 0 else self.siteinfo.url(title)
        return Hit(d, self.page_id(article), title, url, float(score), list(fields), rank)


class HybridSearcher:
    """Fuses a lexical :class:`~wikisearch.search.Searcher` and a :class:`DenseSearcher`.

    ``fusion="rrf"``: score = sum over the two rankings of 1 / (rrf_k + rank). ``"weighted"``:
    ``(1 - dense_weight) * lexical + dense_weight * dense``, each min-max normalised over its
    ``depth`` results. Ties: best single rank first, then lexical before dense.
    """

    def __init__(self, lexical, dense: DenseSearcher, *, depth: int = 100):
        self.lexical = lexical
        self.dense = dense
        if dense.lexical is None:
            dense.lexical, dense.priors = lexical.reader, lexical.priors
        self.depth = depth
        self._checked = False

    def search(self, query: str, k: int = 10, *, fusion_method: str = "rrf", rrf_k: int = fusion.RRF_K,
               dense_weight: float = 0.5, depth: int | None = None, rank=None,
               query_vector: np.ndarray | None = None, priors=None, rerank=None):
        """The ``k`` best articles of the fused rankings (``rank``: lexical ranking settings).

        ``fusion_method`` "rerank", or ``rerank`` True (the shipped model with dense similarity,
        ``wikisearch/data/rerank-model-dense.json``) or a :class:`~wikisearch.search.rerank.TreeModel`:
        instead of fusing, the lexical top ``depth`` are re-ordered by the model, which reads the
        cosine of the query's vector and each candidate's lead vector besides the lexical features
        (:meth:`reranked`)."""
        if rerank or fusion_method == "rerank":
            return self.reranked(query, k, model=None if rerank is None or isinstance(rerank, bool) else rerank,
                                 rank=rank, query_vector=query_vector, priors=priors)
        t0 = time.perf_counter()
        k = _check_k(k)
        if fusion_method not in FUSIONS:
            raise InvalidQueryError(f"fusion must be one of rerank, {', '.join(FUSIONS)}, not {fusion_method!r}")
        depth = max(depth or self.depth, k)
        lex, dense = self.rankings(query, depth, rank=rank, query_vector=query_vector, priors=priors)
        hits = self.fuse(lex, dense, k, fusion_method=fusion_method, rrf_k=rrf_k, dense_weight=dense_weight)
        flags = {"mode": "hybrid", "fusion": fusion_method, "depth": depth}
        return _result(hits, query, t0, flags, self.lexical.reader, warnings=list(lex.warnings))

    def rankings(self, query: str, depth: int, *, rank=None, query_vector: np.ndarray | None = None,
                 priors=None):
        """(the lexical SearchResult, the dense ``[(article, score)]``), ``depth`` deep each: what
        :meth:`fuse` combines."""
        lex = self.lexical.search(query, k=depth, rank=rank, priors=priors)
        q = query_vector if query_vector is not None else query
        dense = self.dense.rank_articles(q, depth) if query.strip() else []
        return lex, self.dense.apply_priors(dense, priors)

    def fuse(self, lex, dense, k: int, *, fusion_method: str = "rrf", rrf_k: int = fusion.RRF_K,
             dense_weight: float = 0.5) -> list:
        """The ``k`` best Hits of the two rankings of :meth:`rankings`, fused. Ties: best single
        rank first, then lexical before dense."""
        by_page = {h.page_id: h for h in lex}
        lex_rank = [(h.page_id, h.score) for h in lex]
        dense_rank = [(self.dense.page_id(a), s) for a, s in dense]
        article_of = {self.dense.page_id(a): a for a, _ in dense}
        if fusion_method == "rrf":
            fused = fusion.rrf([lex_rank, dense_rank], k=rrf_k)
        else:
            fused = fusion.weighted([lex_rank, dense_rank], [1.0 - dense_weight, dense_weight])
        dense_pages = set(article_of)
        hits = []
        for r, (pid, score) in enumerate(fused[:k], start=1):
            h = by_page.get(pid)
            if h is not None:
                fields = list(h.matched_fields) + (["dense"] if pid in dense_pages else [])
                hits.append(type(h)(h.docid, h.page_id, h.title, h.url, float(score), fields, r))
            else:
                hits.append(self.dense.hit(article_of[pid], score, r, ["dense"]))
        return hits

    def reranked(self, query: str, k: int = 10, *, model=None, rank=None,
                 query_vector: np.ndarray | None = None, priors=None):
        """The lexical top hits re-ordered by ``model`` (default: the shipped model with dense
        similarity) with the query's cosine to each candidate's lead vector among its features
        (:func:`wikisearch.search.rerank.rerank`). Checks once that the dense directory is of
        this index's pages (:meth:`check_matches`)."""
        from wikisearch.search.rerank import DEFAULT_DENSE_MODEL, load_model, rerank
        t0 = time.perf_counter()
        k = _check_k(k)
        model = model or load_model(DEFAULT_DENSE_MODEL)
        trained = (model.spec.get("dense") or {}).get("model")
        mine = self.dense.manifest["model"]["name"]
        if trained and trained != mine:
            raise WikisearchError(f"the re-ranking model's dense similarity is {trained}'s; the vectors of "
                                  f"{self.dense.path} are {mine}'s: fuse instead (--fusion rrf)")
        self.check_matches()
        cache: dict = {}

        def similarity(docids):
            if "q" not in cache:
                cache["q"] = (np.asarray(query_vector, np.float32) if query_vector is not None
                              else self.dense.embed_queries([query])[0])
            return self.dense.lead_cosines(cache["q"], docids)
        result = rerank(self.lexical, query, k=k, rank=rank, priors=priors, model=model,
                        dense_similarity=similarity)
        result.flags.update(mode="hybrid", rerank=True, dense_model=model.dense)
        result.took_ms = (time.perf_counter() - t0) * 1000
        return result

    def check_matches(self, sample: int = 1000) -> None:
        """Raise a :class:`~wikisearch.errors.WikisearchError` unless the dense directory holds
        vectors of this index's pages: at least half of the index's documents have a page id in
        it, and the titles of (up to ``sample``, spread evenly) shared page ids agree."""
        if self._checked:
            return
        reader = self.lexical.reader
        mine = np.asarray(reader.page_ids, np.int64)
        theirs = np.asarray(self.dense.map.page_ids, np.int64)
        shared = np.flatnonzero(np.isin(mine, theirs))
        where = f"dense directory {self.dense.path} and the lexical index"
        if len(mine) and len(shared) * 2 < len(mine):
            raise WikisearchError(
                f"{where} do not match: only {len(shared):,} of the index's {len(mine):,} documents "
                f"have a page id in the dense directory; embed this index (`wikisearch embed INDEX -o DIR`)")
        if len(shared):
            pick = shared[np.linspace(0, len(shared) - 1, min(sample, len(shared))).astype(np.int64)]
            order = np.argsort(theirs, kind="stable")
            arts = order[np.searchsorted(theirs[order], mine[pick])]
            pairs = ((int(mine[d]), reader.title(d), self.dense.map.title(a))
                     for d, a in zip(pick.tolist(), arts.tolist()))
            bad = [(pid, t1, t2) for pid, t1, t2 in pairs if t1 != t2]
            if bad:
                pid, t1, t2 = bad[0]
                raise WikisearchError(
                    f"{where} do not match: {len(bad)} of {len(pick)} shared page ids checked have other "
                    f"titles (page {pid}: {t1!r} in the index, {t2!r} in the dense directory); embed this "
                    f"index (`wikisearch embed INDEX -o DIR`)")
        self._checked = True


def _lexical_of(lexical):
    """(reader, priors) of a lexical index given as a path, a Searcher or a Reader (or None)."""
    from wikisearch.popularity.priors import load_priors
    from wikisearch.search.searcher import Searcher
    if lexical is None:
        return None, None
    if isinstance(lexical, (str, Path)):
        from wikisearch.index.reader import IndexReader
        lexical = IndexReader(lexical)
    if isinstance(lexical, Searcher):
        return lexical.reader, lexical.priors
    return lexical, load_priors(lexical)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
    return int(k)


def _result(hits, query: str, t0: float, flags: dict, reader, warnings=None):
    """A SearchResult like the lexical searcher's (same JSON), counting only what was ranked."""
    from wikisearch.config import RankConfig
    from wikisearch.search.searcher import SearchResult
    n = len(hits)
    rank = reader.rank_config if reader is not None else RankConfig()
    return SearchResult(hits, query=query, parsed=None, rank_config=rank, warnings=warnings or [],
                        counter=lambda: (n, "gte"), took_ms=(time.perf_counter() - t0) * 1000,
                        flags=flags)
