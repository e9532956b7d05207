"""search: "here is a query, give me ranked hits".

``query`` (the query language), ``rank`` (BM25F / TF-IDF scoring functions), ``searcher``
(:class:`Searcher`, :class:`Hit`, :class:`SearchResult`) and its numba kernels. Names load on
first use, so importing ``wikisearch.search.query`` does not load the kernels.

>>> from wikisearch.search import open             # doctest: +SKIP
>>> open("wikisearch-index").search("t:merkel")[0].title   # doctest: +SKIP
'Angela Merkel'
"""
__all__ = ["open", "Searcher", "Hit", "SearchResult", "fast_start", "has_phrase"]


def __getattr__(name):
    if name in __all__:
        from wikisearch.search import searcher
        value = getattr(searcher, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wikisearch.search' has no attribute {name!r}")
