"""embed: a dump or an index -> passage embeddings in shards -> FAISS index. Resumable, shardable.

Articles are numbered in source order and cut into shards of ``shard_articles`` articles; shard
``k`` belongs to worker ``k % workers``. A worker skips the shards already on disk (without parsing
their articles), encodes its others and writes each shard atomically as it completes, so a run
killed at any moment and started again with the same command recomputes at most the shards that
were in flight, and never writes one twice. Workers (processes, machines sharing a folder, GPUs:
``--shard 0/4 --device cuda:0`` ...) split the work; a run without ``--shard`` (worker 0 of 1)
embeds whatever is still missing and then merges every shard into the passage map and the index.
``scheduler=`` (``--scheduler tcp://host:8786``) does that split on a Dask cluster: one task
``--shard i/N`` per cluster worker (one per GPU when each worker has one), then the merge here.

>>> embed("enwiki.xml.bz2", "wikisearch-dense")                           # doctest: +SKIP
{'articles': 106, 'passages': 2931, ...}
"""
from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from wikisearch.errors import WikisearchError
from wikisearch.fileio import write_json_atomic
from wikisearch.dense import ann, store
from wikisearch.dense.passages import PassageConfig, cut, open_source

DTYPES = ("float16", "float32")


def parse_shard(spec: str | tuple | None) -> tuple[int, int]:
    """``"1/4"`` -> (1, 4); None -> (0, 1).

    >>> parse_shard("1/4")
    (1, 4)
    """
    if spec is None:
        return 0, 1
    if isinstance(spec, tuple):
        i, n = spec
    else:
        try:
            i, n = (int(x) for x in str(spec).split("/"))
        except ValueError:
            raise WikisearchError(f"--shard must look like I/N (e.g. 0/4), not {spec!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise WikisearchError(f"--shard {i}/{n}: need 0 <= I < N")
    return i, n


def embed(inputs, out_dir, *, model: str | None = None, device: str | None = None,
          batch: int | None = None, shard=None, shard_articles: int = 1000,
          passages: PassageConfig = PassageConfig(), dtype: str = "float16",
          index_type: str = "auto", precision: str | None = None, threads: int | None = None,
          progress: bool = True, encoder=None, scheduler=None) -> dict:
    """Embed the articles of ``inputs`` (dump files or an index directory) into ``out_dir``.

    Returns a summary: articles, passages, shards encoded in this run, seconds, passages/s, and
    (for the merging run) the index parameters. ``encoder`` lets a caller pass a loaded
    :class:`~wikisearch.dense.encoder.Encoder`. ``scheduler``: a Dask scheduler address (or
    ``distributed.Client``) whose workers embed the shards; ``inputs`` and ``out_dir`` must be on
    storage they all see under the same paths. The result is the same as one local run's.
    """
    from wikisearch.dense import require
    worker, workers = parse_shard(shard)
    if workers == 1:                 # this run builds the index; a --shard worker writes shards only
        require("faiss")
    if scheduler is not None:
        if shard is not None or encoder is not None:
            raise WikisearchError("--scheduler splits the work itself: give no --shard (or encoder)")
        settings = dict(model=model, device=device, batch=batch, shard_articles=shard_articles,
                        passages=passages, dtype=dtype, index_type=index_type,
                        precision=precision, threads=threads)
        embed_on_cluster(inputs, out_dir, scheduler, settings, progress)
        return embed(inputs, out_dir, progress=progress, **settings)   # merges; embeds nothing
    if dtype not in DTYPES:
        raise WikisearchError(f"dtype must be float16 or float32, not {dtype!r}")
    ann.choose(1, 1, index_type)                       # validate early
    out = Path(out_dir)
    source = open_source(inputs)
    from wikisearch.dense.encoder import DEFAULT_MODEL
    plan = {"format": "wikisearch-dense-plan", "format_version": store.FORMAT_VERSION,
            "source": source.describe(), "model": model or DEFAULT_MODEL,
            "passages": passages.to_json(), "shard_articles": int(shard_articles), "dtype": dtype}
    store.check_plan(out, plan)
    mine = lambda k: k % workers == worker                       # noqa: E731
    store.remove_partial(out, mine)
    run = _Run(out, source, plan, worker, workers, mine, progress)
    summary = run.encode(lambda: encoder or _load_encoder(model, device, batch, threads, precision))
    if workers > 1:
        summary["note"] = (f"worker {worker}/{workers} done; run the command without --shard "
                           "to merge the shards and build the index")
        return summary
    reused = _index_is_current(out, run, summary, index_type)
    if reused:                                   # a rerun of a finished command: nothing to do
        summary.update(index=reused["index"], n_passages=reused["n_passages"], index_seconds=0.0)
        return summary
    missing = sorted(set(range(run.n_shards)) - store.finished_shards(out))
    if missing:                                  # another process deleted them? be loud
        raise WikisearchError(f"shards {missing[:5]} are missing after the run; rerun the command")
    summary.update(build_index(out, run.n_shards, index_type=index_type, plan=plan,
                               encoder_info=run.encoder_info, siteinfo=source.siteinfo.to_json()))
    return summary


def embed_on_cluster(inputs, out_dir, scheduler, settings: dict, progress: bool) -> list[dict]:
    """Run ``embed(..., shard=(i, N))`` for each of the cluster's N workers, one task pinned to
    each (a task whose worker dies runs again on another and skips the shards already written)."""
    from concurrent.futures import as_completed
    from wikisearch.cluster import connect
    ex = connect(scheduler)
    try:
        addresses = ex.worker_addresses()
        n = len(addresses)
        inputs = [str(Path(p).absolute()) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
        futures = [ex.submit(embed, inputs, str(Path(out_dir).absolute()), shard=(i, n), progress=False,
                             workers=[a], allow_other_workers=True, **settings)
                   for i, a in enumerate(addresses)]
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=n, unit=" workers", file=sys.stderr, desc="embed on cluster")
        summaries = []
        for f in as_completed(futures):
            summaries.append(f.result())
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return summaries
    finally:
        ex.shutdown(cancel_futures=True)


def _index_is_current(out: Path, run, summary: dict, index_type: str) -> dict | None:
    """The manifest, if dense.json already covers exactly these shards with this index type."""
    old = _read_manifest(out)
    if not old or summary["shards_encoded"] or old.get("shards") != run.n_shards:
        return None
    if not all((out / name).exists() for name in ("passages.bin", "index.bin")):
        return None
    params = ann.choose(old["n_passages"], old["dim"], index_type)
    return old if all(old["index"].get(k) == v for k, v in params.items()) else None


def _load_encoder(model, device, batch, threads, precision):
    from wikisearch.dense.encoder import Encoder
    return Encoder(model, device=device, batch_size=batch, threads=threads, precision=precision)


class _Run:
    """One worker's pass over the source."""

    def __init__(self, out: Path, source, plan: dict, worker: int, workers: int, mine, progress: bool):
        self.out, self.source, self.plan = out, source, plan
        self.worker, self.workers, self.mine = worker, workers, mine
        self.S = plan["shard_articles"]
        self.config = PassageConfig.from_json(plan["passages"])
        self.show = progress
        self.done = store.finished_shards(out)
        self.encoder_info: dict | None = None
        self.n_articles = 0
        self.n_shards = 0

    def wanted(self, ordinal: int) -> bool:
        k = ordinal // self.S
        return self.mine(k) and k not in self.done

    def _groups(self, pending: deque):
        """Shards to encode: their passage texts (for the encoder) while ``pending`` gets their
        metadata, in the same order."""
        current, articles = None, []
        for item in self.source.scan(self.wanted):
            ordinal = item if isinstance(item, int) else item.ordinal
            self.n_articles = ordinal + 1
            k = ordinal // self.S
            if current is not None and k != current:
                yield self._shard_texts(current, articles, pending)
                current, articles = None, []
            if not isinstance(item, int):
                current = k
                articles.append(item)
        if current is not None:
            yield self._shard_texts(current, articles, pending)

    def _shard_texts(self, k: int, articles, pending: deque) -> list[str]:
        cuts = [cut(a, self.config) for a in articles]
        pending.append((k, articles, cuts))
        return [p.text for ps in cuts for p in ps]

    def encode(self, load_encoder) -> dict:
        t0 = time.perf_counter()
        pending: deque = deque()
        groups = self._groups(pending)
        first = next(groups, None)                 # load the model only if there is work
        stats = {"shards_encoded": 0, "passages_encoded": 0, "articles_encoded": 0}
        if first is not None:
            encoder = load_encoder()
            self.encoder_info = encoder.describe()
            bar = _bar(self.show, self.source)
            chained = _chain(first, groups)
            for vectors in encoder.encode_groups(chained):
                k, articles, cuts = pending.popleft()
                self._write(k, articles, cuts, vectors)
                stats["shards_encoded"] += 1
                stats["passages_encoded"] += len(vectors)
                stats["articles_encoded"] += len(articles)
                bar(len(articles), len(vectors))
                self._progress(stats, t0, finished=False)
            bar(None, None)
        else:
            for _ in groups:
                pass
        self.n_articles = self.source.n_articles if self.source.n_articles is not None else self.n_articles
        self.n_shards = math.ceil(self.n_articles / self.S)
        seconds = time.perf_counter() - t0
        stats.update(articles=self.n_articles, shards=self.n_shards, seconds=round(seconds, 3),
                     passages_per_s=round(stats["passages_encoded"] / seconds, 1) if seconds else None)
        self._progress(stats, t0, finished=True)
        return stats

    def _write(self, k, articles, cuts, vectors) -> None:
        counts = [len(c) for c in cuts]
        store.write_shard(
            self.out, k, first_article=k * self.S, page_ids=[a.page_id for a in articles],
            titles=[a.title for a in articles], vectors=vectors, dtype=self.plan["dtype"],
            article=np.repeat([a.ordinal for a in articles], counts).astype(np.int32),
            passage_no=[p.no for c in cuts for p in c], start=[p.start for c in cuts for p in c],
            end=[p.end for c in cuts for p in c])
        self.done.add(k)

    def _progress(self, stats: dict, t0: float, finished: bool) -> None:
        record = dict(stats, worker=f"{self.worker}/{self.workers}", finished=finished,
                      seconds=round(time.perf_counter() - t0, 3), encoder=self.encoder_info)
        if finished:
            record["n_articles"] = self.n_articles
        store.write_progress(self.out, self.worker, self.workers, record)


def _chain(first, rest):
    yield first
    yield from rest


def _bar(show: bool, source):
    if not show:
        return lambda *a: None
    from tqdm import tqdm
    bar = tqdm(total=source.n_articles, unit=" articles", file=sys.stderr, desc="embed")
    lock = threading.Lock()

    def update(articles, passages):
        with lock:
            if articles is None:
                bar.close()
            else:
                bar.update(articles)
                bar.set_postfix(passages=passages)
    return update


def build_index(out_dir, n_shards: int, *, index_type: str = "auto", plan: dict | None = None,
                encoder_info: dict | None = None, siteinfo: dict | None = None) -> dict:
    """Merge the shards' passage maps, build the FAISS index, then write dense.json (last)."""
    out = Path(out_dir)
    plan = plan or store.read_plan(out)
    if encoder_info is None:               # every shard was made by earlier runs or other workers
        encoder_info = next((r["encoder"] for r in store.read_progress(out) if r.get("encoder")), None)
    meta = store.write_passage_map(out, n_shards)
    pmap = store.PassageMap(out)
    vecs = store.ShardVectors(out, pmap.shard_passages)
    n = pmap.n_passages
    dim = _dim(out, n_shards, encoder_info)
    if n == 0:
        raise WikisearchError("no passages to index (is the input empty?)")
    params = ann.choose(n, dim, index_type)
    t0 = time.perf_counter()
    index = ann.build(lambda: (v for _, v in vecs.iter_shards()), n, dim, params, sample=vecs.get)
    ann.save(index, out / "index.bin", params)
    build_s = time.perf_counter() - t0
    old = _read_manifest(out)
    manifest = {
        "format": "wikisearch-dense", "format_version": store.FORMAT_VERSION,
        "model": (encoder_info or (old or {}).get("model") or {"name": plan["model"], "dim": dim}),
        "passages": plan["passages"], "source": plan["source"], "dtype": plan["dtype"],
        "shard_articles": plan["shard_articles"], "shards": n_shards,
        "articles": meta["articles"], "n_passages": n, "dim": dim,
        "index": dict(params, bytes_per_vector=ann.bytes_per_vector(params, dim)),
        "siteinfo": siteinfo or (old or {}).get("siteinfo"),
        "files": {name: (out / name).stat().st_size for name in ("passages.bin", "index.bin")},
    }
    write_json_atomic(out / "dense.json", manifest)
    return {"index": manifest["index"], "index_seconds": round(build_s, 3), "n_passages": n}


def _dim(out: Path, n_shards: int, encoder_info) -> int:
    if encoder_info:
        return int(encoder_info["dim"])
    for k in range(n_shards):
        c = store.read_shard(out, k)
        d = int(c.meta["dim"])
        c.close()
        return d
    return 0


def _read_manifest(out: Path) -> dict | None:
    import json
    p = out / "dense.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
