"""wikisearch: search Wikipedia from its raw dumps on your own machine.

>>> import wikisearch
>>> wikisearch.build_index("dump.xml.bz2", "wikisearch-index")      # doctest: +SKIP
>>> wikisearch.open("wikisearch-index").search("lata mangeshkar")   # doctest: +SKIP

Heavy modules load on first use, so ``import wikisearch`` stays cheap.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "build_index", "open", "Searcher", "Hit", "RankConfig", "BuildConfig",
           "PriorConfig", "FIELDS", "WikisearchError", "sample_dump"]

_LAZY = {
    "build_index": ("build", "build_index"),
    "open": ("search.searcher", "open"),
    "Searcher": ("search.searcher", "Searcher"),
    "Hit": ("search.searcher", "Hit"),
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


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wikisearch' has no attribute {name!r}")
