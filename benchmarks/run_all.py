"""wikisearch against its peers (bm25s, tantivy, rank_bm25, Xapian) on the same real articles.

    python benchmarks/run_all.py                          # 30k articles, every engine
    python benchmarks/run_all.py --scale 4 --engines wikisearch,bm25s,tantivy
    python benchmarks/run_all.py --limit-docs 2000        # a quick run (results go to results/tmp/)

Each engine runs build, cold start (x --cold-repeats) and queries in processes of its own; the
parent measures them, scores the run files with ir_measures and writes ``peers-<tag>.json``,
``RESULTS.md`` and plots. See benchmarks/README.md for what is measured and how.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import DATA, CorpusSpec, load_judgments, prepare  # noqa: E402
from peers import DEFAULT_ENGINES, ENGINES, Engine  # noqa: E402
from peers.evaluate import evaluate  # noqa: E402
from peers.measure import dir_bytes, git_revision, machine_info, run_child, versions  # noqa: E402
from peers.report import write_report  # noqa: E402
from wikisearch.index.publish import remove_index  # noqa: E402  (an index path may be a link)

RESULTS = Path(__file__).resolve().parent / "results"
RUN_DEPTH = 100   # run files keep the top 100 (Recall@100); latency is timed at k = 10
K = 10


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def measure_engine(engine: Engine, args, info: dict, work: Path, queries_path: Path, qrels) -> dict:
    import importlib

    mod_dists = importlib.import_module(engine.module).DISTRIBUTIONS
    rec = {"engine": engine.name, "summary": engine.summary, "opts": engine.opts,
           "versions": versions(mod_dists), "status": "ok", "error": None}
    if engine.slow and args.scale > 1 and not args.include_slow:
        return rec | {"status": "skipped", "error": "slow engine: skipped at scale > 1 (--include-slow)"}
    index_dir = work / "index" / engine.name
    logs = work / "logs"
    job = {"engine": engine.name, "module": engine.module, "opts": engine.opts,
           "threads": args.build_threads, "corpus_dir": str(work / "corpus"),
           "index_dir": str(index_dir), "queries": str(queries_path),
           "run_file": str(work / "runs" / f"{engine.name}.trec"),
           "k": K, "run_depth": RUN_DEPTH, "repeats": args.repeats}
    timeout = args.slow_timeout if engine.slow else args.timeout

    probe = run_child("probe", job, logs, timeout=120)
    if not probe.ok:
        return rec | {"status": "skipped", "error": f"cannot import: {probe.error}"}

    log(f"{engine.name}: build")
    remove_index(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    b = run_child("build", job, logs, timeout=timeout, threads=args.build_threads)
    if not b.ok:
        return rec | {"status": "timed_out" if b.timed_out else "failed", "error": f"build: {b.error}"}
    size, files = dir_bytes(index_dir)
    extra = b.result["extra"]
    engine_postings = extra.pop("engine_postings", None)
    rec["build"] = {
        "seconds": b.result["build_s"], "read_seconds": b.result["read_s"],
        "mb_per_s": info["text_bytes"] / 1e6 / b.result["build_s"],
        "process_wall_s": b.wall_s, "peak_rss_mb": b.peak_rss_mb, "peak_tree_rss_mb": b.peak_tree_rss_mb,
        "threads": args.build_threads, "laps": b.result["laps"], "extra": extra,
    }
    rec["index"] = {
        "bytes": size, "mb": size / 1e6, "files": files,
        "bits_per_posting": size * 8 / info["postings"] if info["postings"] else None,
        "engine_postings": engine_postings,
        "engine_bits_per_posting": size * 8 / engine_postings if engine_postings else None,
    }

    log(f"{engine.name}: cold start x{args.cold_repeats}")
    colds = [run_child("cold", job, logs, timeout=timeout) for _ in range(args.cold_repeats)]
    bad = next((c for c in colds if not c.ok or c.ready_s is None), None)
    if bad is not None:
        return rec | {"status": "failed", "error": f"cold start: {bad.error}"}
    samples = [c.ready_s for c in colds]
    med = colds[samples.index(statistics.median_low(samples))]
    rec["cold"] = {"seconds": statistics.median(samples), "samples": samples,
                   "import_s": med.result["import_s"], "open_s": med.result["open_s"],
                   "first_query_s": med.result["first_query_s"], "peak_rss_mb": med.peak_rss_mb}

    log(f"{engine.name}: queries")
    q = run_child("query", job, logs, timeout=timeout)
    if not q.ok:
        return rec | {"status": "timed_out" if q.timed_out else "failed", "error": f"query: {q.error}"}
    lat = q.result["latencies_ms"]
    first = q.result["first_sight_ms"] or [0.0]
    rec["query"] = {
        "first_sight": {"n_queries": len(first), "p50_ms": percentile(first, 50),
                        "p95_ms": percentile(first, 95), "mean_ms": statistics.fmean(first)},
        "n_queries": len(lat), "repeats": args.repeats, "k": K,
        "mean_ms": statistics.fmean(lat), "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95),
        "max_ms": max(lat), "open_s": q.result["open_s"], "first_query_s": q.result["first_query_s"],
        "peak_rss_mb": q.peak_rss_mb, "peak_tree_rss_mb": q.peak_tree_rss_mb,
        "empty_results": q.result["empty_results"],
    }
    rec["query"]["first_p50_ms"] = rec["query"]["first_sight"]["p50_ms"]
    rec["query"]["first_p95_ms"] = rec["query"]["first_sight"]["p95_ms"]
    rec["latencies_ms"] = lat
    quality = evaluate(Path(job["run_file"]), qrels)
    rec["per_query"] = quality.pop("per_query")
    rec["quality"] = quality
    if not engine.held_out:     # trained on these queries: timing only (peers.Engine.held_out)
        rec["quality_on_training_queries"], rec["quality"], rec["per_query"] = quality, {}, {}
    rec["grid"] = {name: {k: v for k, v in evaluate(Path(p), qrels).items() if k != "per_query"}
                   for name, p in q.result["grid_runs"].items()}
    if not args.keep_indexes:
        remove_index(index_dir)
    return rec


RATIO_KEYS = {"build_s": ("build", "seconds"), "index_bytes": ("index", "bytes"),
              "first_p50_ms": ("query", "first_p50_ms"), "first_p95_ms": ("query", "first_p95_ms"),
              "p50_ms": ("query", "p50_ms"), "p95_ms": ("query", "p95_ms"), "ndcg@10": ("quality", "ndcg@10")}


def ratios(engines: dict[str, dict]) -> dict:
    """wikisearch / peer for build time, index size, first-sight and repeated p50/p95 latency and
    nDCG@10 (same run)."""
    ws = engines.get("wikisearch")
    if not ws or ws["status"] != "ok":
        return {}
    out = {}
    for name, rec in engines.items():
        if name == "wikisearch" or rec["status"] != "ok":
            continue
        out[name] = {}
        for key, (section, field) in RATIO_KEYS.items():
            peer = rec[section].get(field)
            out[name][key] = ws[section][field] / peer if peer else None
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="30k", choices=["30k"],
                    help="the real articles (the only corpus so far)")
    ap.add_argument("--scale", type=int, default=1, help="repeat the real text N times (default 1)")
    ap.add_argument("--limit-docs", type=int, default=None, help="only the first N real articles")
    ap.add_argument("--limit-queries", type=int, default=None, help="only the first N evaluation queries")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help="comma-separated, from: " + ", ".join(ENGINES) + " (default all)")
    ap.add_argument("--build-threads", type=int, default=2,
                    help="threads/processes an engine may use to build (default 2); queries use 1")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed passes over the queries; each query's latency is its median (default 3)")
    ap.add_argument("--cold-repeats", type=int, default=3, help="cold-start processes (median; default 3)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per phase (default 3600)")
    ap.add_argument("--slow-timeout", type=float, default=1200,
                    help="seconds per phase for slow engines (rank_bm25; default 1200)")
    ap.add_argument("--include-slow", action="store_true", help="run slow engines at scale > 1 too")
    ap.add_argument("--keep-indexes", action="store_true", help="keep the indexes under the work folder")
    ap.add_argument("--wikisearch-via", choices=["api", "cli"], default="api",
                    help="build wikisearch with build_index() or `python -m wikisearch index` (default api)")
    ap.add_argument("--data", default=str(DATA), help="shared data folder (default %(default)s)")
    ap.add_argument("--work", type=Path, default=None,
                    help="corpus files, indexes, run files, logs (default results/tmp/<tag>)")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON, RESULTS.md and plots (default benchmarks/results; "
                         "with --limit-docs the work folder)")
    args = ap.parse_args(argv)
    unknown = [e for e in args.engines.split(",") if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engine(s) {unknown}; choose from {list(ENGINES)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    spec = CorpusSpec(args.data, args.limit_docs, args.scale)
    work = args.work or RESULTS / "tmp" / spec.tag
    out = args.out or (work if args.limit_docs else RESULTS)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = machine_info()
    log(f"corpus {spec.tag}: preparing under {work}")
    info = prepare(spec, work / "corpus", progress=log)
    queries, qrels = load_judgments(info["title_to_ids"], args.data)
    if args.limit_queries:
        keep = list(queries)[: args.limit_queries]
        queries, qrels = {q: queries[q] for q in keep}, {q: qrels[q] for q in keep}
    if not queries:
        log("no evaluation query has a relevant document in this corpus: use more documents")
        return 2
    (work / "runs").mkdir(parents=True, exist_ok=True)
    queries_path = work / "queries.json"
    queries_path.write_text(json.dumps(list(queries.items())))
    log(f"{info['docs']} documents, {info['text_bytes'] / 1e6:.1f} MB, {len(queries)} queries")

    engines = {}
    for name in args.engines.split(","):
        engine = ENGINES[name]
        if engine.module == "peers.run_wikisearch":
            engine = dataclasses.replace(engine, opts=engine.opts | {"via": args.wikisearch_via})
        rec = measure_engine(engine, args, info, work, queries_path, qrels)
        engines[name] = rec
        log(f"{name}: {rec['status']}" + (f" ({rec['error']})" if rec["error"] else ""))

    n_rel = sum(1 for q in qrels.values() for r in q.values() if r > 0)
    result = {
        "benchmark": "peers", "tag": spec.tag, "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine,
        "wikisearch_revision": git_revision(), "harness_versions": versions(["ir-measures", "psutil"]),
        "settings": {"k": K, "run_depth": RUN_DEPTH, "repeats": args.repeats,
                     "cold_repeats": args.cold_repeats, "build_threads": args.build_threads,
                     "query_threads": 1},
        "corpus": {k: info[k] for k in ("tag", "limit_docs", "scale", "real_docs", "docs", "text_bytes",
                                        "postings", "postings_definition", "checksum", "files")},
        "judgments": {"source": "DBpedia-Entity v2", "queries": len(queries), "relevant_pairs": n_rel},
        "engines": engines, "ratios": ratios(engines),
    }
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"peers-{spec.tag}.json"
    json_path.write_text(json.dumps(result, indent=1))
    md = write_report(out)
    log(f"wrote {json_path} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
