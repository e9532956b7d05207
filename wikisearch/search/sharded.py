"""sharded: several indexes (shards) searched as one collection.

>>> s = open(["idx-a", "idx-b"])                          # doctest: +SKIP
>>> s.search("swedish furniture")[0].title                # doctest: +SKIP
'IKEA'

Each shard is scored with the statistics of the whole collection, not its own: the document count
and the summed field lengths are added up over the shards (so the average field lengths are
those of one index over all their documents, to the last bit: integer sums, one division), and a
term's document frequency is the sum of its shards' frequencies. A document's score is then
exactly the score it gets in a single index of the same documents, and the top k of the collection
is the best k of the shards' top k's, ties broken by (shard, docid): dump order when the shards
are consecutive runs of one dump (``wikisearch index --shards N``). The shards are searched in
parallel threads (the kernels run without the GIL). Popularity priors stay per shard (each
shard's ``priors.bin``, normalised over that shard).

``open(path)`` opens one index, a directory written by ``--shards N`` (``shards.json`` lists its
shards), or a list of either.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from wikisearch.errors import IndexNotFoundError, InvalidQueryError, WikisearchError
from wikisearch.index.manifest import SHARDS_FILE
from wikisearch.index.reader import IndexReader
from wikisearch.search.results import SearchResult
from wikisearch.search.searcher import Searcher

_DF_CACHE_LIMIT = 200_000


def shard_paths(path) -> list[Path]:
    """The index directories of ``path``: itself, or the shards a ``shards.json`` in it lists."""
    path = Path(path)
    listing = path / SHARDS_FILE
    if not listing.exists():
        return [path]
    try:
        names = json.loads(listing.read_text(encoding="utf-8"))["shards"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexNotFoundError(f"{listing} is damaged ({type(e).__name__}: {e})") from None
    return [path / str(n) for n in names]


class Collection:
    """Statistics of the documents of all shards: what scoring needs of "the index"."""

    def __init__(self, readers: list):
        self.readers = readers
        self.n_docs = sum(int(r.n_docs) for r in readers)
        totals = np.sum([np.asarray(r.field_lengths, np.uint64).sum(axis=0) for r in readers], axis=0)
        # as numpy's mean over one index's lengths: an exact integer sum, then one division
        self.avg_field_lengths = (totals.astype(np.float64) / self.n_docs if self.n_docs
                                  else np.zeros(len(totals), np.float64))
        self._df: dict[str, int] = {}
        self._lock = threading.Lock()

    def doc_freq(self, term: str) -> int:
        """Documents of the collection holding ``term`` (in any field)."""
        df = self._df.get(term)
        if df is None:
            df = 0
            for r in self.readers:
                o = r.term_ordinal(term)
                if o >= 0:
                    df += int(r.doc_freq(o))
            with self._lock:
                if len(self._df) > _DF_CACHE_LIMIT:
                    self._df.clear()
                self._df[term] = df
        return df


class ShardedSearcher:
    """Searches several indexes as one; :meth:`search` takes what :meth:`Searcher.search` takes.
    ``reader`` is the first shard's (its analyzer, ranking settings and site are every shard's:
    they must agree, or opening fails)."""

    def __init__(self, paths, *, threads: int | None = None):
        readers = [IndexReader(p) for p in paths]
        if not readers:
            raise WikisearchError("no index given")
        first = readers[0]
        for r in readers[1:]:
            for what in ("analyzer", "rank", "fields"):
                if r.manifest.get(what) != first.manifest.get(what):
                    raise WikisearchError(f"{r.path} and {first.path} were built with different "
                                          f"{what} settings: they cannot be searched as one index")
        self.collection = Collection(readers)
        self.shards = [Searcher(r, collection=self.collection) for r in readers]
        self.reader = first
        self.n_docs = self.collection.n_docs
        from concurrent.futures import ThreadPoolExecutor   # (one index alone needs no threads)
        self._pool = ThreadPoolExecutor(max(1, min(threads or len(readers), len(readers))),
                                        thread_name_prefix="wikisearch-shard")

    def warmup(self) -> None:
        for s in self.shards:
            s.warmup()

    def search(self, query: str, k: int = 10, rank=None, fields=None, priors=None,
               offset: int = 0, snippets: bool = False, correct: bool = False,
               **options) -> SearchResult:
        """The top k of all shards' documents, scored as one index (see the module's note).
        ``snippets`` and ``options`` (``snippet_chars``) as :meth:`Searcher.search` takes them;
        ``correct`` is not applied across shards (each shard knows only its own words): no
        "did you mean" here."""
        t0 = time.perf_counter()
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
            raise InvalidQueryError(f"offset must be a non-negative integer, not {offset!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
        want = int(k) + int(offset)
        parts = list(self._pool.map(
            lambda s: s.search(query, want, rank, fields, priors, snippets=snippets, correct=False,
                               **options), self.shards))
        ranked = sorted(((-h.score, i, h.docid, h) for i, part in enumerate(parts) for h in part),
                        key=lambda t: t[:3])
        hits = []
        for n, (_, _, _, h) in enumerate(ranked[:want], 1):
            h.rank = n                  # (each shard's hits are its own objects: renumbered here)
            hits.append(h)
        hits = hits[int(offset):]

        def count():
            totals = [(p.total_matches, p.total_relation) for p in parts]
            return sum(t for t, _ in totals), ("gte" if any(r == "gte" for _, r in totals) else "eq")
        first = parts[0]
        flags = dict(first.flags)
        for p in parts[1:]:
            flags.update(p.flags)
        return SearchResult(hits, query=first.query, parsed=first.parsed, rank_config=first.rank_config,
                            warnings=list(first.warnings), counter=count,
                            took_ms=(time.perf_counter() - t0) * 1000, flags=flags)

    def shard_of(self, hit) -> int:
        """The index in :attr:`shards` of the shard a hit of this searcher's comes from."""
        for i, s in enumerate(self.shards):
            if hit._reader is s.reader:
                return i
        raise ValueError(f"hit {hit.docid} is not from these shards")

    def explain(self, result: SearchResult, snippets: bool = False,
                snippet_chars: int | None = None) -> None:
        """:meth:`Searcher.explain` for a result over these shards (hits re-ordered after the
        search: ``search.rerank``): each shard explains its own hits."""
        by_shard: dict[int, list] = {}
        for h in result:
            by_shard.setdefault(self.shard_of(h), []).append(h)
        for i, hits in sorted(by_shard.items()):
            part = SearchResult(hits, query=result.query, parsed=result.parsed, rank_config=result.rank_config,
                                warnings=[], counter=lambda n=len(hits): (n, "eq"), took_ms=0.0, flags={})
            self.shards[i].explain(part, snippets, snippet_chars)

    def search_many(self, queries, k: int = 10, *, threads: int | None = None, offset: int = 0,
                    **options) -> list[SearchResult]:
        """:meth:`search` of each query, in order. Each search already runs a thread per shard,
        so ``threads`` (accepted as :meth:`Searcher.search_many` takes it) adds nothing."""
        return [self.search(q, k, offset=offset, **options) for q in queries]

    def doc(self, title_or_page_id):
        """The article with this title or page id, from whichever shard holds it."""
        last = None
        for s in self.shards:
            try:
                return s.doc(title_or_page_id)
            except InvalidQueryError:
                raise
            except WikisearchError as e:
                last = e
        raise last

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        for s in self.shards:
            s.reader.close()


def open(paths, *, threads: int | None = None):   # noqa: A001 - the library's entry point
    """A :class:`Searcher` of one index, or a :class:`ShardedSearcher` of several: ``paths`` is an
    index directory, a directory of shards (``wikisearch index --shards N``), or a list of them.

    >>> open(["idx-a", "idx-b"]).search("ikea")[0].title               # doctest: +SKIP
    'IKEA'
    """
    if not isinstance(paths, (str, Path, list, tuple)):
        return Searcher(paths)                    # a Reader (an index in memory, ...)
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    dirs = [d for p in items for d in shard_paths(p)]
    if len(dirs) == 1:
        return Searcher(dirs[0])
    return ShardedSearcher(dirs, threads=threads)
