"""tantivy (tantivy-py): Lucene-style segments, en_stem analyzer, BM25 at query time.

``opts["fields"]``: ``"one"`` indexes title + body as one field ``text``; ``"title_body"`` indexes
fields ``title`` and ``body`` and queries both with ``title`` boosted by ``opts["title_boost"]``.
Fields keep document ids and term frequencies only (``index_option="freq"``): BM25 needs no
positions, and neither the other engines nor wikisearch store them. The page id is a u64 fast field.
"""
from __future__ import annotations

from pathlib import Path

DISTRIBUTIONS = ("tantivy",)
HEAP_BYTES = 256_000_000  # the writer's total indexing heap, split between its threads


def check(opts: dict) -> None:
    import tantivy

    if not hasattr(tantivy.Searcher, "fast_field_values"):  # tested with tantivy-py 0.27
        version = getattr(tantivy, "__version__", "?")
        raise ImportError(f"tantivy-py {version} has no Searcher.fast_field_values")


def _schema(fields: str):
    import tantivy

    sb = tantivy.SchemaBuilder()
    names = ["text"] if fields == "one" else ["title", "body"]
    for name in names:
        sb.add_text_field(name, stored=False, tokenizer_name="en_stem", index_option="freq")
    sb.add_unsigned_field("page_id", stored=False, indexed=False, fast=True)
    return sb.build()


def build(ctx) -> dict:
    import tantivy

    fields = ctx.opts.get("fields", "one")
    Path(ctx.index_dir).mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(_schema(fields), path=str(ctx.index_dir), reuse=False)
    writer = index.writer(heap_size=HEAP_BYTES, num_threads=ctx.threads)
    for doc in ctx.docs:
        d = tantivy.Document()
        d.add_unsigned("page_id", doc.page_id)
        if fields == "one":
            d.add_text("text", doc.full_text())
        else:
            d.add_text("title", doc.title)
            d.add_text("body", doc.text)
        writer.add_document(d)
    ctx.mark("add_documents")
    writer.commit()
    writer.wait_merging_threads()
    ctx.mark("commit")
    index.reload()
    return {"segments": index.searcher().num_segments, "heap_bytes": HEAP_BYTES}


class Searcher:
    def __init__(self, index_dir: Path, opts: dict):
        import tantivy

        self.index = tantivy.Index.open(str(index_dir))
        self.searcher = self.index.searcher()
        if opts.get("fields", "one") == "one":
            self.fields, self.boosts = ["text"], {}
        else:
            self.fields, self.boosts = ["title", "body"], {"title": float(opts.get("title_boost", 2.0))}

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        q, _errors = self.index.parse_query_lenient(query, self.fields, field_boosts=self.boosts)
        hits = self.searcher.search(q, limit=k, count=False).hits
        if not hits:
            return []
        pids = self.searcher.fast_field_values("page_id", [addr for _, addr in hits])
        return [(int(p), float(s)) for (s, _), p in zip(hits, pids)]


def open_index(index_dir: Path, opts: dict) -> Searcher:
    return Searcher(Path(index_dir), opts)
