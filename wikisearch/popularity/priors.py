"""priors: query-independent popularity (page views, incoming links) added to text scores.

>>> summary = update_priors("wikisearch-index", ["pageviews-20240101-user.bz2"])   # doctest: +SKIP
>>> open("wikisearch-index").search("paris")[0].title                              # doctest: +SKIP
'Paris'

A document's prior is (see :class:`~wikisearch.config.PriorConfig`)::

    prior(d) = w_pv * satu(views(d) / total_views; k_pv, a_pv) + w_links * satu(inlinks(d); k_links, a_links)

and its score is ``text(d) + prior(d)`` for every document the query matches (a prior never makes
a document match). Page views come from Wikimedia's published files (``priors_sources``), folded
from redirects into their targets; incoming links from the dump itself (docs.bin) or from the
``pagelinks``/``linktarget`` SQL dumps. Both live in ``priors.bin`` beside the index, an add-on
outside the manifest's checksummed files, written atomically; searches use it when it exists.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from wikisearch.config import PriorConfig
from wikisearch.errors import CorruptIndexError, StaleIndexFileError, disk_error
from wikisearch.fileio import atomic_path
from wikisearch.index.container import Container, write_container

#: Share of documents with page views below which their absence means "no data" (PriorConfig's
#: missing_views "auto") and ``wikisearch priors`` warns.
LOW_COVERAGE = 0.5
PRIORS_FILE = "priors.bin"
KIND = b"PRIO"
#: The title-suggestion tables stored beside the priors for an index built without its own
#: (``suggest.bin``; made by ``suggest.suggest_arrays``).
SUGGEST_ARRAYS = ("suggest_offsets", "suggest_blob", "suggest_doc", "suggest_alias", "suggest_block_max")


def satu(x, k: float, a: float) -> np.ndarray:
    """CirrusSearch's saturation ``x^a / (k^a + x^a)`` of non-negative ``x``: 0 at 0, 1/2 at k.

    >>> float(satu(30.0, 30.0, 0.7)), float(satu(0.0, 30.0, 0.7))
    (0.5, 0.0)
    """
    xa = np.power(np.asarray(x, np.float64), a)
    return xa / (k ** a + xa)


class Priors:
    """Per-document page views and incoming links, and the prior scores made of them.

    ``pageviews`` float64[n] (views in the ingested period), ``inlinks`` uint32[n]; ``total_views``
    is the denominator of the page-view share (the project's views in that period).
    """

    def __init__(self, pageviews, inlinks, *, total_views: float = 0.0, config: PriorConfig | None = None,
                 meta: dict | None = None, suggest: dict | None = None, scores=None):
        self.pageviews = np.asarray(pageviews, np.float64)
        self.inlinks = np.asarray(inlinks, np.uint32)
        if self.pageviews.shape != self.inlinks.shape or self.pageviews.ndim != 1:
            raise ValueError("pageviews and inlinks need one value per document")
        self.n_docs = int(self.pageviews.shape[0])
        self.total_views = float(total_views)
        self.config = config or PriorConfig()
        self.meta = dict(meta or {})
        self.suggest = suggest
        self._scores: dict = {}
        self._max: dict = {}
        self._lock = threading.Lock()
        if scores is not None:
            self._scores[self.config] = np.asarray(scores, np.float64)

    def share(self) -> np.ndarray:
        """Each document's share of the project's page views."""
        if self.total_views <= 0:
            return np.zeros(self.n_docs)
        return self.pageviews / self.total_views

    @property
    def views_coverage(self) -> float:
        """The share of documents with page views."""
        return float((self.pageviews > 0).mean()) if self.n_docs else 0.0

    def compute(self, config: PriorConfig) -> np.ndarray:
        """prior(d) for every document, float64[n] (see the module doc)."""
        c = config
        out = np.zeros(self.n_docs, np.float64)
        if c.pageviews_weight > 0:
            pv = satu(self.share(), c.pageviews_k, c.pageviews_a)
            has = self.pageviews > 0
            neutral = c.missing_views == "neutral" or \
                (c.missing_views == "auto" and self.views_coverage < LOW_COVERAGE)
            if neutral and has.any():        # no data is not "no views": the typical value
                pv[~has] = np.median(pv[has])
            out += c.pageviews_weight * pv
        if c.inlinks_weight > 0:
            out += c.inlinks_weight * satu(self.inlinks, c.inlinks_k, c.inlinks_a)
        return out

    def scores(self, config: PriorConfig | None = None) -> np.ndarray:
        """prior(d) for every document under ``config`` (default: the stored one), cached."""
        config = config or self.config
        s = self._scores.get(config)
        if s is None:
            s = self.compute(config)
            with self._lock:
                if len(self._scores) > 8:
                    self._scores.clear()
                self._scores[config] = s
        return s

    def max_score(self, config: PriorConfig | None = None) -> float:
        """The largest prior of any document (the MaxScore bound of the prior 'term')."""
        config = config or self.config
        m = self._max.get(config)
        if m is None:
            s = self.scores(config)
            m = self._max[config] = float(s.max()) if len(s) else 0.0
        return m


# --- reading and writing priors.bin -------------------------------------------------------------
def priors_path(index_dir) -> Path:
    return Path(index_dir) / PRIORS_FILE


def load_priors(reader) -> Priors | None:
    """The index's ``priors.bin`` (None if it has none, or the index is not on disk). Raises
    CorruptIndexError when the file is damaged or was made for another build of the index."""
    if reader.path is None:
        return None
    path = priors_path(reader.path)
    if not path.exists():
        return None
    c = Container(path, KIND)
    meta = c.meta
    expected = reader.manifest.get("checksum")
    if meta.get("index_checksum") != expected or int(meta.get("n_docs", -1)) != reader.n_docs:
        raise StaleIndexFileError(path, "made for another build of this index; rerun `wikisearch priors` "
                                "(or delete the file)", expected=expected, found=meta.get("index_checksum"))
    try:
        config = PriorConfig.from_json(meta.get("config", {}))
    except (TypeError, ValueError) as e:
        raise CorruptIndexError(path, f"bad prior settings ({e})") from None
    n = reader.n_docs
    for name in ("pageviews", "inlinks", "scores"):
        if c[name].shape != (n,):
            raise CorruptIndexError(path, f"array {name} has the wrong size", expected=n, found=c[name].shape)
    suggest = None
    if all(k in c.arrays for k in SUGGEST_ARRAYS):
        suggest = {k: c[k] for k in SUGGEST_ARRAYS}
    return Priors(c["pageviews"], c["inlinks"], total_views=float(meta.get("total_views", 0.0)),
                  config=config, meta=meta, suggest=suggest, scores=c["scores"])


def write_priors(index_dir, priors: Priors, index_checksum: str) -> Path:
    """Write ``priors.bin`` atomically: a fsynced temporary file renamed into place. The
    suggestion tables (``priors.suggest``) must have been made for ``priors.scores()``."""
    path = priors_path(index_dir)
    meta = {**priors.meta, "n_docs": priors.n_docs, "index_checksum": index_checksum,
            "total_views": priors.total_views, "config": priors.config.to_json()}
    arrays = {"pageviews": priors.pageviews, "inlinks": priors.inlinks,
              "scores": priors.scores()}
    if priors.suggest is not None:
        arrays.update({k: priors.suggest[k] for k in SUGGEST_ARRAYS})
    try:
        with atomic_path(path) as tmp:
            write_container(tmp, KIND, arrays, meta)
    except OSError as e:               # a read-only index, a full disk: one line, the old file kept
        err = disk_error(e)
        if err is None:
            raise
        raise err from None
    return path


# --- the scores other modules use ---------------------------------------------------------------
def prior_scores(priors: Priors | None, n_docs: int, docids=None, config: PriorConfig | None = None, *,
                 normalized: bool = False) -> np.ndarray:
    """Prior of each document in ``docids`` (all ``n_docs`` documents if None), float64; zeros
    when the index has no priors. For dense and hybrid rankings, whose scores are not on the
    BM25F scale, ``normalized=True`` divides by the summed weights so every prior lies in [0, 1].

    >>> prior_scores(searcher.priors, searcher.n_docs, np.array([3, 1]))   # doctest: +SKIP
    array([2.1, 0.4])
    """
    n = int(n_docs)
    if priors is None:
        return np.zeros(n if docids is None else len(docids), np.float64)
    config = config or priors.config
    s = priors.scores(config)
    if docids is not None:
        s = s[np.asarray(docids, np.int64)]
    if normalized:
        total = config.pageviews_weight + config.inlinks_weight
        s = s / total if total > 0 else np.zeros_like(s)
    return s


def popularity(priors: Priors | None, inlinks: np.ndarray) -> np.ndarray:
    """What orders title suggestions: the prior, or with no priors.bin the prior of the dump's
    in-links (``inlinks``, one count per document)."""
    if priors is None:
        priors = Priors(np.zeros(len(inlinks)), inlinks)
    return priors.scores()
