"""Encode exported passages where the GPU is: throughput (plain vs pipelined) and the vectors.

Needs only torch, sentence-transformers, tokenizers and numpy there (no faiss, no index, no dump):

    python benchmarks/bench_dense.py --phases export              # here: writes the passages file
    python benchmarks/gpu_encode.py --passages P --model DIR --out OUT   # on the GPU machine
    python benchmarks/bench_dense.py --phases embed,ann,quality --vectors OUT   # here again

The passages file (``bench_dense.py --phases export``) holds two sets, cut exactly as
``wikisearch embed`` cuts them: ``leads`` (one passage per article of the 30k corpus, what the
quality run embeds) and ``sections`` (every passage of the first articles: the throughput sample).

1. throughput on ``sections``: plain ``SentenceTransformer.encode`` against the pipelined
   :class:`~wikisearch.dense.encoder.Encoder` (same batch size and precision), interleaved, median
   of ``--repeats``; the model alone on pre-tokenised batches (synchronised); tokenisation alone.
2. the ``leads`` through ``Encoder.encode_groups`` in groups of ``--group`` passages (the groups a
   ``shard_articles`` run of ``embed`` makes, so each group's vectors are what ``embed`` would write).

Writes OUT/gpu-encode.json and the lead vectors as float16 ``OUT/leads-K.npy`` parts (each under
16 MiB, the most a device call brings back per file), in passage order.
"""
from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_passages(path: str) -> dict[str, list[str]]:
    sets: dict[str, list[str]] = {}
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            sets.setdefault(rec["set"], []).append(rec["text"])
    return sets


def throughput(enc, texts: list[str], repeats: int) -> dict:
    torch = enc.torch
    sync = torch.cuda.synchronize if enc.cuda else (lambda: None)
    enc.encode(texts[:enc.batch_size * 4])                 # warm-up: kernels, allocator
    enc.encode_plain(texts[:enc.batch_size * 4])
    times: dict[str, list[float]] = {"plain": [], "pipeline": []}
    for r in range(repeats):
        for name in (("plain", "pipeline") if r % 2 == 0 else ("pipeline", "plain")):
            sync()
            t0 = time.perf_counter()
            (enc.encode_plain if name == "plain" else enc.encode)(texts)
            sync()
            times[name].append(time.perf_counter() - t0)
            log(f"{enc.precision} {name}: {len(texts) / times[name][-1]:,.0f} passages/s")
    t0 = time.perf_counter()
    batches = [enc.tokenize(texts[i:i + enc.batch_size]) for i in range(0, len(texts), enc.batch_size)]
    tok_s = time.perf_counter() - t0
    model_runs = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        with torch.inference_mode():
            for b in batches:
                enc._forward(b)
        sync()
        model_runs.append(time.perf_counter() - t0)
    tokens = [sum(e.attention_mask) for e in enc.tokenizer.encode_batch(texts)] if enc.tokenizer else []
    med = {k: statistics.median(v) for k, v in times.items()}
    model_s = statistics.median(model_runs)
    return {"passages": len(texts), "mean_tokens": float(np.mean(tokens)) if tokens else None,
            "batch": enc.batch_size, "tokenizer_threads": enc.threads,
            "plain_per_s": len(texts) / med["plain"], "pipeline_per_s": len(texts) / med["pipeline"],
            "speedup": med["plain"] / med["pipeline"], "model_only_per_s": len(texts) / model_s,
            "tokenize_only_per_s": len(texts) / tok_s, "runs_s": times, "model_runs_s": model_runs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", required=True, help="the file bench_dense.py --phases export wrote")
    ap.add_argument("--model", default=None, help="sentence-transformers folder (default: the bundled one)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default=None)
    ap.add_argument("--precisions", default="fp16,bf16", help="for the throughput phase")
    ap.add_argument("--embed-precision", default="fp16")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--group", type=int, default=2000, help="leads per encode_groups group")
    ap.add_argument("--part-mib", type=float, default=12.0, help="largest vector file written")
    args = ap.parse_args(argv)
    import torch
    import sentence_transformers
    from wikisearch.dense.encoder import Encoder
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sets = read_passages(args.passages)
    log(f"read {', '.join(f'{k}: {len(v):,}' for k, v in sets.items())} passages in {time.perf_counter() - t0:.1f} s")
    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "torch": torch.__version__,
                          "sentence_transformers": sentence_transformers.__version__,
                          "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                          "load_avg_start": os.getloadavg()},
              "passages_file": Path(args.passages).name, "throughput": {}}
    for precision in [p for p in args.precisions.split(",") if p]:
        enc = Encoder(args.model, device=args.device, batch_size=args.batch, precision=precision)
        result["throughput"][precision] = throughput(enc, sets["sections"], args.repeats)
        result["device"] = str(enc.device)
        del enc
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    enc = Encoder(args.model, device=args.device, batch_size=args.batch, precision=args.embed_precision)
    leads = sets["leads"]
    groups = [leads[i:i + args.group] for i in range(0, len(leads), args.group)]
    t0 = time.perf_counter()
    vecs = np.concatenate(list(enc.encode_groups(groups))).astype(np.float16)
    embed_s = time.perf_counter() - t0
    log(f"leads: {len(leads):,} passages in {embed_s:.1f} s ({len(leads) / embed_s:,.0f}/s)")
    per_part = max(1, int(args.part_mib * 2**20) // (vecs.shape[1] * 2))
    parts = []
    for k, i in enumerate(range(0, len(vecs), per_part)):
        name = f"leads-{k}.npy"
        np.save(out / name, vecs[i:i + per_part])
        parts.append(name)
    result["leads"] = {"passages": len(leads), "group": args.group, "seconds": embed_s,
                       "passages_per_s": len(leads) / embed_s, "encoder": enc.describe(),
                       "batch": enc.batch_size, "tokenizer_threads": enc.threads,
                       "parts": parts, "dim": int(vecs.shape[1])}
    (out / "gpu-encode.json").write_text(json.dumps(result, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
