"""wikisearch: search Wikipedia from its raw dumps on your own machine.

>>> import wikisearch
>>> wikisearch.build_index(wikisearch.sample_dump(), "wikisearch-index", workers=2)   # doctest: +SKIP
>>> searcher = wikisearch.open("wikisearch-index")                                 # doctest: +SKIP
>>> searcher.search("swedish furniture")[0].title                                   # doctest: +SKIP
'IKEA'
>>> searcher.doc("IKEA").categories[:1]                                             # doctest: +SKIP
>>> wikisearch.open(["shard-a", "shard-b"])        # several indexes searched as one  # doctest: +SKIP

Heavy modules load on first use, so ``import wikisearch`` stays cheap.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "build_index", "open", "Searcher", "SearchResult", "Hit", "Document",
           "RankConfig", "BuildConfig", "PriorConfig", "FIELDS", "WikisearchError", "sample_dump"]

_LAZY = {
    "build_index": ("build", "build_index"),
    "open": ("search.sharded", "open"),
    "Searcher": ("search.searcher", "Searcher"),
    "SearchResult": ("search.results", "SearchResult"),
    "Hit": ("search.results", "Hit"),
    "Document": ("search.results", "Document"),
    "RankConfig": ("config", "RankConfig"),
    "BuildConfig": ("config", "BuildConfig"),
    "PriorConfig": ("config", "PriorConfig"),
    "FIELDS": ("config", "FIELDS"),
    "WikisearchError": ("errors", "WikisearchError"),
}


def sample_dump() -> str:
    """Path of the bundled real sample dump (27 English Wikipedia pages, CC BY-SA)."""
    from pathlib import Path
    return str(Path(__file__).parent / "data" / "sample-enwiki.xml.bz2")


def __dir__():
    """The public API (``__all__``) is listed before it is loaded, so ``dir(wikisearch)`` and
    tab completion show it."""
    return sorted(set(globals()) | set(__all__))


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wikisearch' has no attribute {name!r}")
