"""results: what a search returns -- :class:`Hit` (one ranked document) and :class:`SearchResult`
(the hits of one search, with what was searched, how many matched and how long it took)."""
from __future__ import annotations

from wikisearch.config import RankConfig
from wikisearch.search.query import Query


class Hit:
    """One ranked document: ``Hit(docid, page_id, title, url, score, matched_fields, rank)``.

    A hit made by a search reads its ``title`` and ``url`` from the index on first access, so
    ranking ten hits does not pay for ten URL encodings nobody looks at.
    """

    __slots__ = ("docid", "page_id", "score", "matched_fields", "rank", "_title", "_url", "_reader")

    def __init__(self, docid: int, page_id: int, title: str | None, url: str | None, score: float,
                 matched_fields: list[str], rank: int, *, reader=None):
        self.docid = docid
        self.page_id = page_id
        self.score = score
        self.matched_fields = matched_fields
        self.rank = rank
        self._title = title
        self._url = url
        self._reader = reader

    @property
    def title(self) -> str:
        if self._title is None:
            self._title = self._reader.title(self.docid)
        return self._title

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._reader.siteinfo.url(self.title)
        return self._url

    def _key(self):
        return (self.docid, self.page_id, self.title, self.url, self.score, self.matched_fields, self.rank)

    def __eq__(self, other):
        return isinstance(other, Hit) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        return (f"Hit(rank={self.rank}, docid={self.docid}, page_id={self.page_id}, "
                f"title={self.title!r}, score={self.score:.4f}, matched_fields={self.matched_fields})")

    def to_json(self) -> dict:
        return {"rank": self.rank, "docid": self.docid, "page_id": self.page_id, "title": self.title,
                "url": self.url, "score": self.score, "matched_fields": list(self.matched_fields)}


class SearchResult(list):
    """The hits of one search (a list of :class:`Hit`) plus what was searched and how.

    ``total_matches`` is counted on first access (it may cost as much as the search itself);
    ``total_relation`` is "eq", or "gte" when counting stopped early.
    """

    def __init__(self, hits, *, query: str, parsed: Query | None, rank_config: RankConfig,
                 warnings: list[str], counter, took_ms: float, flags: dict | None = None):
        super().__init__(hits)
        self.query = query
        self.parsed = parsed
        self.rank_config = rank_config
        self.warnings = warnings
        self.took_ms = took_ms
        self.flags = flags or {}
        self._counter = counter
        self._total: tuple[int, str] | None = None

    def _count(self) -> tuple[int, str]:
        if self._total is None:
            self._total = self._counter()
            self._counter = None
        return self._total

    @property
    def total_matches(self) -> int:
        return self._count()[0]

    @property
    def total_relation(self) -> str:
        return self._count()[1]

    def to_json(self) -> dict:
        return {"query": self.query, "parsed": str(self.parsed) if self.parsed else None,
                "total_matches": self.total_matches, "total_relation": self.total_relation,
                "took_ms": round(self.took_ms, 3), "warnings": list(self.warnings),
                "flags": dict(self.flags), "rank_config": self.rank_config.to_json(),
                "hits": [h.to_json() for h in self]}
