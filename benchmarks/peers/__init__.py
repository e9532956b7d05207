"""Peer search engines measured against wikisearch, one runner module per engine.

A runner module (``run_<engine>.py``) exposes:

- ``DISTRIBUTIONS``: the packages whose versions the results record;
- ``check(opts)``: import the engine, raise ``ImportError`` if it is missing;
- ``build(ctx) -> dict``: index ``ctx.docs`` (an iterator of :class:`corpus.Doc`) or ``ctx.files``
  (the same documents as WikiExtractor files) into ``ctx.index_dir``, writing everything a later
  process needs to disk; return extra facts (e.g. the engine's own posting count);
- ``open_index(index_dir, opts)``: load the index from disk and return an object whose
  ``search(query, k)`` returns ``[(page_id, score), ...]``, best first.

The peers are an optional extra (``pip install -e .[bench]``): nothing in ``wikisearch/`` imports them.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Engine:
    name: str
    module: str
    opts: dict = field(default_factory=dict)
    #: Slow engines run on the 30k corpus (with a time cap) but are skipped at scale > 1.
    slow: bool = False
    summary: str = ""
    #: False for an engine whose model was trained on the judgments the harness scores with
    #: (DBpedia-Entity): it is timed, and its nDCG is kept apart as a training-query figure, never
    #: reported beside the others (held-out figures: benchmarks/results/relevance.md).
    held_out: bool = True


ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("wikisearch", "peers.run_wikisearch", {"store_text": False},
           summary="wikisearch's own BM25F over its fields, searched as the CLI does (after "
                   "`wikisearch.search.fast_start()`), built with `--workers` = build threads "
                   "and `--no-store` (no document text, like the peers)"),
    Engine("wikisearch-nocache", "peers.run_wikisearch", {"store_text": False, "cache_postings": 0},
           summary="wikisearch as above with its cache of scored postings lists turned off: every "
                   "query decodes and scores its lists (the latency of a query whose words were "
                   "never searched before; the timed passes repeat the queries, which the cache "
                   "otherwise answers from memory)"),
    Engine("wikisearch-rerank", "peers.run_wikisearch", {"store_text": False, "rerank": True},
           summary="wikisearch as the first row, each query's top 100 re-ordered by the shipped "
                   "LightGBM re-ranker (`wikisearch query --rerank`, wikisearch/data/rerank-model.json); "
                   "what the re-ranker costs where the others are timed (its model trained on every "
                   "DBpedia-Entity query: no nDCG here; relevance.md has the held-out ones); not in the "
                   "default engine list", held_out=False),
    Engine("wikisearch-store", "peers.run_wikisearch", {"store_text": True},
           summary="wikisearch with its default settings (document text stored for snippets); "
                   "not in the default engine list"),
    Engine("bm25s", "peers.run_bm25s",
           summary="bm25s BM25 (method lucene, k1=1.5, b=0.75), numba backend, "
                   "bm25s.tokenize with PyStemmer English + stopwords 'en'"),
    Engine("tantivy", "peers.run_tantivy", {"fields": "one"},
           summary="tantivy-py, one field (title + body), tokenizer en_stem, freqs only (no positions), "
                   "BM25 k1=1.2 b=0.75, lenient OR query parser"),
    Engine("tantivy-fields", "peers.run_tantivy",
           {"fields": "title_body", "title_boost": 2.0, "grid": [1.0, 2.0, 5.0]},
           summary="tantivy-py, fields title and body (en_stem, freqs only), query title^2 OR body "
                   "(boost fixed before the run; grid 1/2/5 reported for quality only)"),
    Engine("rank_bm25", "peers.run_rank_bm25", slow=True,
           summary="rank_bm25 BM25Okapi (k1=1.5, b=0.75), harness tokenizer (lowercase \\w+, PyStemmer "
                   "English, no stopwords), index pickled; skipped at scale > 1"),
    Engine("xapian", "peers.run_xapian",
           summary="Xapian (xapian-bindings-binary), TermGenerator/QueryParser English stemmer, "
                   "STEM_ALL, no positions, default BM25Weight (k1=1, b=0.5), OR query"),
)}

DEFAULT_ENGINES = tuple(n for n in ENGINES if n not in ("wikisearch-store", "wikisearch-rerank"))
