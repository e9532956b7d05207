"""Dense companion benchmark: encoding throughput, IVF-PQ against exact, query latency, quality.

    python benchmarks/bench_dense.py                       # everything (CPU here: ~15-30 min)
    python benchmarks/bench_dense.py --phases throughput   # one phase (throughput, embed, ann, quality)

1. throughput: the same real passages (all sections of the first 30k-corpus articles, cut as
   `wikisearch embed` cuts them) through plain ``SentenceTransformer.encode`` and through the
   pipelined encoder, interleaved, median of ``--repeats``, at each precision; plus tokenisation
   alone and the model alone (pre-tokenised batches), which bound the pipeline.
   host: the pipeline with the model replaced by a no-op (what the host side sustains; the
   ceiling on a GPU).
2. embed: `embed` of the 30k corpus, ONE passage per article (title + the start of the lead, up
   to 200 words, truncated by the model at 256 tokens): on 2 CPU cores all passages would take
   hours. Cached under benchmarks/results/tmp/dense30k-lead/ (a rerun resumes or reuses it).
3. ann: on those vectors, IVF-PQ (parameters from the collection size) against the exact index:
   recall@10 raw and re-scored, bytes per vector, FAISS latency; dense and hybrid query latency.
4. quality: DBpedia-Entity v2 on the corpus (benchmarks/corpus.py): nDCG@10, MRR@10, R@100 of
   BM25F alone, dense alone, hybrid RRF (k=60) and weighted fusion.

Results: benchmarks/results/dense.json and dense.md. Timings are from a shared machine (see
load_avg); ratios are between runs made in the same process, interleaved.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

RESULTS = ROOT / "benchmarks" / "results"
TMP = RESULTS / "tmp"
CORPUS_DIR = TMP / "30k-x1" / "corpus"
LEX_INDEX = TMP / "ws30k"
DENSE_DIR = TMP / "dense30k-lead"
LEAD_WORDS = 200


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict:
    import faiss
    import sentence_transformers
    import torch
    import wikisearch
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "sentence_transformers": sentence_transformers.__version__, "faiss": faiss.__version__,
            "numpy": np.__version__, "wikisearch": wikisearch.__version__,
            "load_avg_start": os.getloadavg()}


# --- 1. throughput ---------------------------------------------------------------------------

def sample_passages(n: int) -> list[str]:
    from wikisearch.dense.passages import DumpSource, PassageConfig, cut
    src = DumpSource(sorted(CORPUS_DIR.glob("wiki-*.txt"))[:1])
    out: list[str] = []
    for a in src.scan(lambda i: True):
        out += [p.text for p in cut(a, PassageConfig())]
        if len(out) >= n:
            break
    return out[:n]


def throughput(args, device: str) -> dict:
    """Each precision's row of :func:`gpu_encode.throughput` (the same measurement on the CPU
    here as on a GPU machine there) over the sample passages."""
    from gpu_encode import throughput as measure
    from wikisearch.dense.encoder import Encoder
    texts = sample_passages(args.passages)
    rows = {}
    for precision in args.precisions:
        enc = Encoder(device=device, precision=precision, batch_size=args.batch)
        rows[precision] = measure(enc, texts, args.repeats)
        del enc
    return {"device": device, "by_precision": rows}


def host_ceiling(args, device: str) -> dict:
    """What the host side alone sustains (the model replaced by a no-op): parse + cut, the
    threaded tokenisation, and both through ``encode_groups``; bounds the pipeline on a GPU."""
    from wikisearch.dense.encoder import Encoder
    from wikisearch.dense.passages import DumpSource, PassageConfig, cut
    src = DumpSource(sorted(CORPUS_DIR.glob("wiki-*.txt"))[:1])
    limit = args.host_articles

    def groups(collect=None):
        group = []
        for a in src.scan(lambda i: i < limit):
            if isinstance(a, int):
                break
            group += [p.text for p in cut(a, PassageConfig())]
            if (a.ordinal + 1) % 250 == 0:
                yield group
                group = []
        if group:
            yield group
    t0 = time.perf_counter()
    texts = [t for g in groups() for t in g]
    prep_s = time.perf_counter() - t0
    out = {"articles": limit, "passages": len(texts), "parse_cut_per_s": len(texts) / prep_s, "threads": {}}
    for threads in sorted({1, max(1, (os.cpu_count() or 2) - 1), os.cpu_count() or 2}):
        enc = Encoder(device=device, threads=threads, batch_size=512)
        enc._forward = lambda feats, enc=enc: enc.torch.zeros((len(feats["input_ids"]), enc.dim))
        chunks = [texts[i:i + 5000] for i in range(0, len(texts), 5000)]
        t0 = time.perf_counter()
        for _ in enc.encode_groups(chunks):
            pass
        tok_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in enc.encode_groups(groups()):
            pass
        all_s = time.perf_counter() - t0
        out["threads"][threads] = {"tokenize_batch_per_s": len(texts) / tok_s,
                                   "parse_cut_tokenize_per_s": len(texts) / all_s}
        log(f"host ceiling, {threads} tokenizer threads: {out['threads'][threads]}")
    return out


# --- 2. embed the 30k leads ------------------------------------------------------------------

def ensure_lexical(workers: int) -> None:
    if (LEX_INDEX / "manifest.json").exists():
        return
    from wikisearch.build import build_index
    log("building the lexical 30k index")
    build_index(sorted(str(p) for p in CORPUS_DIR.glob("wiki-*.txt")), str(LEX_INDEX), workers=workers,
                progress=False)


LEAD_CONFIG = dict(max_words=LEAD_WORDS, min_words=0, lead_only=True)
SHARD_ARTICLES = 2000
EXPORT = TMP / "dense-passages.jsonl.xz"


def export_passages(args) -> dict:
    """Write the passages a GPU machine encodes (benchmarks/gpu_encode.py): the leads the embed
    phase cuts from the lexical index, and every passage of the first ``--host-articles``
    articles (the throughput sample), one JSON line each, xz-compressed."""
    import lzma
    from wikisearch.dense.passages import DumpSource, IndexSource, PassageConfig, cut
    ensure_lexical(args.workers)
    leads = [p.text for a in IndexSource(str(LEX_INDEX)).scan(lambda i: True)
             for p in cut(a, PassageConfig(**LEAD_CONFIG))]
    src = DumpSource(sorted(CORPUS_DIR.glob("wiki-*.txt"))[:1])
    sections = [p.text for a in src.scan(lambda i: i < args.host_articles) if not isinstance(a, int)
                for p in cut(a, PassageConfig())]
    tmp = EXPORT.with_suffix(".part")
    with lzma.open(tmp, "wt", encoding="utf-8", preset=6) as f:
        for name, texts in (("leads", leads), ("sections", sections)):
            for t in texts:
                f.write(json.dumps({"set": name, "text": t}, ensure_ascii=False) + "\n")
    tmp.replace(EXPORT)
    log(f"wrote {EXPORT}: {len(leads):,} leads, {len(sections):,} section passages, "
        f"{EXPORT.stat().st_size / 2**20:.1f} MiB")
    write_fp16_model(MODEL_FP16)
    return {"file": str(EXPORT.relative_to(ROOT)), "leads": len(leads), "sections": len(sections),
            "bytes": EXPORT.stat().st_size, "model": str(MODEL_FP16.relative_to(ROOT))}


MODEL_FP16 = TMP / "minilm-fp16"


def write_fp16_model(out: Path) -> None:
    """The bundled model's folder with its floating-point weights as float16 (45 MB: small enough
    to travel to a GPU machine, where the encoder runs in fp16 anyway)."""
    import shutil
    from safetensors.torch import load_file, save_file
    from wikisearch.dense.encoder import resolve_model
    src = Path(resolve_model(None))
    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("model.safetensors"))
    weights = load_file(str(src / "model.safetensors"))
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()},
              str(tmp / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    log(f"wrote {out} (float16 weights)")


class VectorsFromElsewhere:
    """An encoder for ``embed`` that hands back vectors computed elsewhere (gpu_encode.py on the
    exported passages), group by group; it checks every text against the exported order and
    fails on the first that differs, so the vectors cannot be attached to other passages."""

    def __init__(self, vectors_dir: Path):
        import lzma
        info = json.loads((vectors_dir / "gpu-encode.json").read_text())
        self.info = info
        self.vectors = np.concatenate([np.load(vectors_dir / p) for p in info["leads"]["parts"]])
        with lzma.open(EXPORT, "rt", encoding="utf-8") as f:
            self.texts = [r["text"] for r in map(json.loads, f) if r["set"] == "leads"]
        if len(self.texts) != len(self.vectors):
            raise SystemExit(f"{len(self.vectors)} vectors for {len(self.texts)} exported leads")
        self.pos = 0

    def describe(self) -> dict:
        # The model by its own name (what the query side loads), not the folder it was read
        # from there (the bundled model's weights, copied as float16 to travel).
        from wikisearch.dense.encoder import DEFAULT_MODEL
        return dict(self.info["leads"]["encoder"], name=DEFAULT_MODEL,
                    computed_by="benchmarks/gpu_encode.py", on=self.info["machine"]["cuda"])

    def encode_groups(self, groups):
        for texts in groups:
            end = self.pos + len(texts)
            if list(texts) != self.texts[self.pos:end]:
                raise SystemExit(f"passages {self.pos}..{end} differ from the exported ones: "
                                 "re-export (--phases export) and re-encode")
            yield self.vectors[self.pos:end].astype(np.float32)
            self.pos = end


def embed_leads(args, device: str) -> dict:
    from wikisearch.dense.embed import embed
    from wikisearch.dense.passages import PassageConfig
    ensure_lexical(args.workers)
    encoder = VectorsFromElsewhere(Path(args.vectors)) if args.vectors else None
    t0 = time.perf_counter()
    summary = embed([str(LEX_INDEX)], DENSE_DIR, device=device, batch=args.batch,
                    shard_articles=SHARD_ARTICLES, passages=PassageConfig(**LEAD_CONFIG),
                    index_type="flat", precision=args.embed_precision, progress=not args.quiet,
                    encoder=encoder)
    summary["wall_s"] = time.perf_counter() - t0
    if encoder is not None:
        summary["vectors_from"] = encoder.info
    progress = [json.loads(p.read_text()) for p in sorted((DENSE_DIR / "progress").glob("*.json"))]
    summary["what"] = (f"one passage per article: title + the lead's first {LEAD_WORDS} words "
                       "(stored 'opening' field of the lexical index), truncated at the model's 256 tokens")
    summary["recorded_runs"] = progress
    return summary


# --- 3. ANN ----------------------------------------------------------------------------------

def ann_phase(args, queries: list[str]) -> dict:
    import faiss
    from wikisearch.dense import ann, store
    from wikisearch.dense.search import DenseSearcher, HybridSearcher
    from wikisearch.search.searcher import open as open_lexical
    pmap = store.PassageMap(DENSE_DIR)
    vecs = store.ShardVectors(DENSE_DIR, pmap.shard_passages)
    x = np.concatenate([v for _, v in vecs.iter_shards()])
    n, dim = x.shape
    dense = DenseSearcher(DENSE_DIR, lexical=str(LEX_INDEX))
    dense.warmup()
    qv = dense.embed_queries(queries)
    exact = faiss.IndexFlatIP(dim)
    exact.add(x)
    _, truth = exact.search(qv, 10)
    params = ann.choose(n, dim, "ivfpq")
    t0 = time.perf_counter()
    ivf = ann.build(lambda: iter([x]), n, dim, params, sample=lambda ids: x[ids])
    build_s = time.perf_counter() - t0

    def recall(ids):
        return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(ids, truth)]))

    def latency(fn):
        ts = []
        for i in range(len(qv)):
            t = time.perf_counter()
            fn(i)
            ts.append((time.perf_counter() - t) * 1000)
        return {"p50_ms": statistics.median(ts), "p95_ms": float(np.percentile(ts, 95))}
    sweep = []
    for nprobe in (4, 8, 16, 32, 64):
        row = {"nprobe": nprobe}
        for refine in (False, True):
            get = (lambda ids: x[ids]) if refine else None
            _, ids = ann.search(ivf, qv, 10, nprobe=nprobe, refine=get)
            key = "refined" if refine else "raw"
            row[f"recall@10_{key}"] = recall(ids)
            row[f"latency_{key}"] = latency(lambda i: ann.search(ivf, qv[i:i + 1], 10, nprobe=nprobe, refine=get))
        sweep.append(row)
    flat_lat = latency(lambda i: exact.search(qv[i:i + 1], 10))
    lexical = open_lexical(str(LEX_INDEX))
    lexical.warmup()
    hybrid = HybridSearcher(lexical, dense)
    enc_lat = latency(lambda i: dense.embed_queries([queries[i]]))
    dense_lat = latency(lambda i: dense.search(queries[i], k=10))
    hybrid_lat = latency(lambda i: hybrid.search(queries[i], k=10))
    lex_lat = latency(lambda i: lexical.search(queries[i], k=100))
    return {"vectors": n, "dim": dim, "params": params, "train_s": build_s,
            "bytes_per_vector": {"flat": ann.bytes_per_vector({"type": "flat"}, dim),
                                 "ivfpq": ann.bytes_per_vector(params, dim),
                                 "shard_float16": 2 * dim},
            "sweep": sweep, "flat_latency": flat_lat, "query_encode_latency": enc_lat,
            "dense_query_latency": dense_lat, "hybrid_query_latency": hybrid_lat,
            "lexical_k100_latency": lex_lat, "queries": len(queries)}


# --- 4. quality ------------------------------------------------------------------------------

def judgments():
    from corpus import load_judgments
    info = json.loads((CORPUS_DIR / "corpus.json").read_text())
    return load_judgments(info["title_to_ids"])


def quality(queries: dict, qrels: dict) -> dict:
    import ir_measures
    from ir_measures import RR, R, nDCG
    from wikisearch.dense.search import DenseSearcher, HybridSearcher
    from wikisearch.search.searcher import open as open_lexical
    lexical = open_lexical(str(LEX_INDEX))
    dense = DenseSearcher(DENSE_DIR, lexical=lexical)
    qids = list(queries)
    qv = dense.embed_queries([queries[q] for q in qids])
    hybrid = HybridSearcher(lexical, dense, depth=100)
    systems = {
        "bm25f": lambda q, v: lexical.search(q, k=100),
        "dense": lambda q, v: dense.search(q, k=100, query_vector=v),
        "hybrid_rrf": lambda q, v: hybrid.search(q, k=100, query_vector=v),
    }
    for w in (0.3, 0.5):
        systems[f"hybrid_weighted_{w}"] = (lambda w: lambda q, v: hybrid.search(
            q, k=100, fusion_method="weighted", dense_weight=w, query_vector=v))(w)
    qrel_list = [ir_measures.Qrel(q, d, r) for q, docs in qrels.items() for d, r in docs.items()]
    out = {}
    for name, fn in systems.items():
        run = []
        for q, v in zip(qids, qv):
            for h in fn(queries[q], v[None, :]):
                run.append(ir_measures.ScoredDoc(q, str(h.page_id), float(-h.rank)))
        agg = ir_measures.calc_aggregate([nDCG @ 10, RR @ 10, R @ 100], qrel_list, run)
        out[name] = {str(m): float(v) for m, v in agg.items()}
        log(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in out[name].items()))
    return {"queries": len(qids), "relevant_pairs": sum(1 for d in qrels.values() for r in d.values() if r > 0),
            "systems": out}


# --- report ----------------------------------------------------------------------------------

def markdown(r: dict) -> str:
    m = r["machine"]
    lines = ["# Dense companion benchmark", "",
             f"Machine: {m['cpu']}, {m['cpus']} cores, torch {m['torch']} ({m['torch_threads']} threads), "
             f"device {r.get('device')}, load average at start {m['load_avg_start']}. "
             "Shared machine: timings are noisy; compare rows of one run only.", ""]
    if "throughput" in r:
        t = r["throughput"]
        lines += [f"## Encoding throughput on {t.get('device', '?')} (passages/s, same passages, interleaved, median)", "",
                  "| precision | passages | mean tokens | batch | plain encode | pipeline | speedup | model alone | tokenise alone |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p, x in t["by_precision"].items():
            lines.append(f"| {p} | {x['passages']} | {x['mean_tokens']:.0f} | {x['batch']} | {x['plain_per_s']:.1f} | "
                         f"{x['pipeline_per_s']:.1f} | {x['speedup']:.2f}x | {x['model_only_per_s']:.1f} | "
                         f"{x['tokenize_only_per_s']:.0f} |")
        lines.append("")
    if "host" in r:
        h = r["host"]
        lines += ["## Host side alone on this machine (model replaced by a no-op)", "",
                  f"{h['passages']:,} passages of the first {h['articles']:,} articles (all sections). "
                  f"Parse + cut alone: {h['parse_cut_per_s']:,.0f} passages/s (one thread).", "",
                  "| tokenizer threads | tokenise + batch (passages/s) | parse + cut + tokenise + batch |",
                  "|---|---|---|"]
        for th, x in h["threads"].items():
            lines.append(f"| {th} | {x['tokenize_batch_per_s']:,.0f} | {x['parse_cut_tokenize_per_s']:,.0f} |")
        lines.append("")
    if "embed" in r:
        e = r["embed"]
        lines += ["## Embedded for the quality run", "", f"{e['what']}: {e.get('articles', '?'):,} articles, "
                  f"{e.get('n_passages', '?'):,} passages.", ""]
        g = e.get("vectors_from")
        if g:
            t = g["throughput"].get(g["leads"]["encoder"]["precision"])
            lines += [f"Vectors computed on {g['machine']['cuda']} ({g['machine']['cpus']} cores, torch "
                      f"{g['machine']['torch']}) by benchmarks/gpu_encode.py from the exported passages "
                      f"(--phases export), then written into the dense directory here by `embed` "
                      f"(its shards, passage map and index; the texts checked one by one against the export): "
                      f"{g['leads']['passages']:,} passages in {g['leads']['seconds']:.1f} s "
                      f"({g['leads']['passages_per_s']:,.0f} passages/s, {g['leads']['encoder']['precision']}, "
                      f"batch {g['leads']['batch']}, {g['leads']['tokenizer_threads']} tokenizer threads).", ""]
            if t:
                lines += [f"Throughput there on {t['passages']:,} section passages (mean {t['mean_tokens']:.0f} tokens), "
                          f"median of {len(t['runs_s']['plain'])} interleaved runs: plain `SentenceTransformer.encode` "
                          f"{t['plain_per_s']:,.0f} passages/s, the pipelined encoder {t['pipeline_per_s']:,.0f} "
                          f"({t['speedup']:.2f}x); the model alone on pre-tokenised batches {t['model_only_per_s']:,.0f}, "
                          f"tokenisation alone {t['tokenize_only_per_s']:,.0f}.", ""]
        for run in ([] if g else e["recorded_runs"]):
            if run.get("passages_encoded"):
                lines.append(f"- worker {run['worker']}: {run['passages_encoded']:,} passages in "
                             f"{run['seconds']:,.0f} s ({run['passages_encoded'] / run['seconds']:.1f} passages/s, "
                             f"{(run.get('encoder') or {}).get('precision')})")
        lines.append("")
    if "ann" in r:
        a = r["ann"]
        lines += [f"## IVF-PQ against exact ({a['vectors']:,} vectors x {a['dim']}, {a['queries']} queries)", "",
                  f"Parameters: {a['params']} (trained in {a['train_s']:.1f} s). Bytes per vector: "
                  f"flat {a['bytes_per_vector']['flat']:.0f}, IVF-PQ {a['bytes_per_vector']['ivfpq']:.0f} "
                  f"(code + id), shard float16 {a['bytes_per_vector']['shard_float16']}.", "",
                  "| nprobe | recall@10 raw | p50 ms | recall@10 re-scored (x10 candidates) | p50 ms |",
                  "|---|---|---|---|---|"]
        for s in a["sweep"]:
            lines.append(f"| {s['nprobe']} | {s['recall@10_raw']:.3f} | {s['latency_raw']['p50_ms']:.2f} | "
                         f"{s['recall@10_refined']:.3f} | {s['latency_refined']['p50_ms']:.2f} |")
        lines += ["", f"Exact (flat) FAISS search p50 {a['flat_latency']['p50_ms']:.2f} ms. End to end (one "
                  f"query, CPU, 1 torch thread): embed the query p50 {a['query_encode_latency']['p50_ms']:.1f} ms, "
                  f"dense search p50 {a['dense_query_latency']['p50_ms']:.1f} ms (p95 "
                  f"{a['dense_query_latency']['p95_ms']:.1f}), hybrid p50 {a['hybrid_query_latency']['p50_ms']:.1f} ms "
                  f"(p95 {a['hybrid_query_latency']['p95_ms']:.1f}); lexical alone at k=100 p50 "
                  f"{a['lexical_k100_latency']['p50_ms']:.1f} ms.", ""]
    if "quality" in r:
        q = r["quality"]
        lines += [f"## Quality: DBpedia-Entity v2 on the 30k corpus ({q['queries']} queries, "
                  f"{q['relevant_pairs']} relevant pairs)", "",
                  "| system | nDCG@10 | MRR@10 | R@100 |", "|---|---|---|---|"]
        for name, v in q["systems"].items():
            lines.append(f"| {name} | {v['nDCG@10']:.4f} | {v['RR@10']:.4f} | {v['R@100']:.4f} |")
        lines += ["", "Dense side: " + r.get("embed", {}).get("what", "see dense.json") + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phases", default="throughput,host,embed,ann,quality")
    ap.add_argument("--device", default=None)
    ap.add_argument("--passages", type=int, default=256, help="passages for the throughput phase")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--precisions", default="bf16,fp32")
    ap.add_argument("--embed-precision", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--host-articles", type=int, default=1000, help="articles for the host phase")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--vectors", default=None, metavar="DIR",
                    help="embed phase: take the lead vectors gpu_encode.py wrote in DIR (after "
                         "--phases export) instead of encoding them here")
    args = ap.parse_args(argv)
    args.precisions = args.precisions.split(",")
    import torch
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        args.precisions = [p for p in args.precisions if p != "fp16"]
    out_json = Path(args.out) / "dense.json"
    r = json.loads(out_json.read_text()) if out_json.exists() else {}
    r["machine"] = machine()
    r["device"] = device
    phases = args.phases.split(",")
    if "export" in phases:
        r["export"] = export_passages(args)
    if "throughput" in phases:
        r["throughput"] = throughput(args, device)
    if "host" in phases:
        r["host"] = host_ceiling(args, device)
    if "embed" in phases:
        r["embed"] = embed_leads(args, device)
    if "ann" in phases or "quality" in phases:
        queries, qrels = judgments()
    if "ann" in phases:
        r["ann"] = ann_phase(args, list(queries.values()))
    if "quality" in phases:
        r["quality"] = quality(queries, qrels)
    r["machine"]["load_avg_end"] = os.getloadavg()
    out_json.write_text(json.dumps(r, indent=1, default=float))
    (Path(args.out) / "dense.md").write_text(markdown(r))
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
