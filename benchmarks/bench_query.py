"""Query latency and effectiveness of wikisearch on the 30k-article corpus (DBpedia-Entity v2 queries).

    python benchmarks/bench_query.py                      # build (cached) + measure
    python benchmarks/bench_query.py --limit-queries 50 --repeats 1 --cold-repeats 1   # quick

Measures, single thread, k=10:
- warm latency: one warm-up pass over all queries (kernels loaded, pages cached), then ``--repeats``
  timed passes; mean / p50 / p95 / p99 over every (query, pass);
- cold start: a fresh ``python`` process that imports wikisearch, opens the index and answers one
  query; wall time from process start to the first result (median of ``--cold-repeats``), plus
  the part spent inside the process (import + open + first search);
- effectiveness: nDCG@10, MRR@10, Recall@100 over the queries with a relevant document in the
  corpus (``wikisearch.evaluate``).
Results: ``benchmarks/results/bench_query.json`` and ``.md`` (machine, versions, corpus checksum).
Peers (bm25s, tantivy, ...) are measured by ``benchmarks/run_all.py``; ``--peers`` runs it after.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("WIKISEARCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
CORPUS = sorted((DATA / "enwiki-text").glob("enwiki-2015-wikiextractor-first30k-*.txt.xz"))
QUERIES = DATA / "judgments" / "dbpedia-entity-v2" / "queries-v2.txt"
QRELS = DATA / "judgments" / "dbpedia-entity-v2" / "qrels-v2.txt"

COLD = r"""
import sys, time
t0 = time.perf_counter()
import wikisearch.search as ws
if sys.argv[3] == "1":
    ws.fast_start()
s = ws.open(sys.argv[1])
hits = s.search(sys.argv[2], k=10)
t1 = time.perf_counter()
print(f"{t1 - t0:.6f} {time.time():.6f} {len(hits)}", flush=True)
"""


def corpus_checksum(files) -> str:
    """sha256 over the files' sha256 as listed in shared/data/MANIFEST.tsv (else hashed here)."""
    known = {}
    manifest = DATA / "MANIFEST.tsv"
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 4:
                known[Path(parts[0]).name] = parts[-1]
    h = hashlib.sha256()
    for f in files:
        digest = known.get(f.name)
        if digest is None:
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
        h.update(f"{f.name} {digest}\n".encode())
    return h.hexdigest()


def ensure_index(index: Path, files, workers: int, rank=None) -> dict:
    if (index / "manifest.json").exists():
        try:
            from wikisearch.index.reader import IndexReader
            reader = IndexReader(index)
            if rank is None or reader.rank_config == rank:
                return {"built": False}
        except Exception:              # an index from an older format: rebuild it
            pass
        from wikisearch.index.publish import remove_index
        remove_index(index)
    from wikisearch.build import build_index
    t = time.perf_counter()
    build_index([str(f) for f in files], str(index), workers=workers, rank=rank)
    return {"built": True, "build_s": time.perf_counter() - t}


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    i = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[i]


def warm_latency(searcher, queries: list[str], repeats: int) -> dict:
    from wikisearch.errors import InvalidQueryError
    searcher.warmup()
    ok = []
    for q in queries:                     # warm-up pass (also drops queries with nothing to search)
        try:
            searcher.search(q, k=10)
            ok.append(q)
        except InvalidQueryError:
            pass
    times = []
    for _ in range(repeats):
        for q in ok:
            t = time.perf_counter()
            searcher.search(q, k=10)
            times.append(time.perf_counter() - t)
    ms = [x * 1000 for x in times]
    return {"queries": len(ok), "repeats": repeats, "mean_ms": statistics.fmean(ms),
            "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
            "max_ms": max(ms)}


def cold_start(index: Path, query: str, repeats: int) -> dict:
    """Fresh processes: plain library use, and with ``fast_start()`` (what the CLI does)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = {"repeats": repeats, "query": query}
    for label, flag in (("library", "0"), ("fast_start", "1")):
        walls, inner = [], []
        for _ in range(repeats):
            t = time.time()           # wall clock: compared with the child's, at its first result
            p = subprocess.run([sys.executable, "-c", COLD, str(index), query, flag],
                               capture_output=True, text=True, env=env, cwd=ROOT)
            if p.returncode != 0:
                raise RuntimeError(p.stderr[-2000:])
            inside, at_result, _ = p.stdout.split()
            walls.append(float(at_result) - t)
            inner.append(float(inside))
        out[label] = {"process_to_first_result_s": statistics.median(walls),
                      "in_process_s": statistics.median(inner)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env)
    out["bare_python_s"] = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numba"], env=env)
    out["python_import_numba_s"] = time.perf_counter() - t
    return out


def machine() -> dict:
    import numba
    import numpy
    import wikisearch
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "numpy": numpy.__version__, "numba": numba.__version__, "wikisearch": wikisearch.__version__,
            "load_avg": os.getloadavg()}


def markdown(r: dict) -> str:
    w, c, e = r["warm"], r["cold"], r["effectiveness"]
    return "\n".join([
        "# bench_query: wikisearch on the 30k-article corpus", "",
        f"Corpus sha256 {r['corpus_sha256'][:16]}..., {r['index']['n_docs']} documents; "
        f"{w['queries']} DBpedia-Entity v2 queries, k=10, one thread.", "",
        f"Ranking: {json.dumps(r['rank_config'])}", "",
        "| measure | value |", "|---|---|",
        f"| warm latency mean | {w['mean_ms']:.3f} ms |",
        f"| warm latency p50 | {w['p50_ms']:.3f} ms |",
        f"| warm latency p95 | {w['p95_ms']:.3f} ms |",
        f"| warm latency p99 | {w['p99_ms']:.3f} ms |",
        f"| cold start, process start -> first result | {c['library']['process_to_first_result_s']:.3f} s |",
        f"| cold start, in process (import + open + search) | {c['library']['in_process_s']:.3f} s |",
        f"| cold start with `fast_start()` (as the CLI), process -> result | "
        f"{c['fast_start']['process_to_first_result_s']:.3f} s |",
        f"| cold start with `fast_start()`, in process | {c['fast_start']['in_process_s']:.3f} s |",
        f"| bare `python -c pass` / `python -c 'import numba'` | {c['bare_python_s']:.3f} s / "
        f"{c['python_import_numba_s']:.3f} s |",
        f"| nDCG@10 | {e['nDCG@10']:.4f} |", f"| MRR@10 | {e['RR@10']:.4f} |",
        f"| Recall@100 | {e['R@100']:.4f} |",
        f"| evaluated queries | {e['n_queries']} |", "",
        f"Machine: {r['machine']['platform']}, {r['machine']['cpus']} CPUs, load {r['machine']['load_avg']}; "
        f"python {r['machine']['python']}, numpy {r['machine']['numpy']}, numba {r['machine']['numba']}.",
        "Peers: see `benchmarks/run_all.py` (bm25s, tantivy, ...) for ratios measured in one run.", ""])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=None,
                    help="index to use/build (default benchmarks/results/tmp/enwiki30k-index, "
                         "or enwiki30k-tuned with --rank tuned)")
    ap.add_argument("--rank", choices=["default", "tuned"], default="default",
                    help="build with the library's RankConfig, or tune_rank.RECOMMENDED")
    ap.add_argument("--workers", type=int, default=1, help="build workers if the index is missing")
    ap.add_argument("--limit-queries", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cold-repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--peers", default=None,
                    help="also run benchmarks/run_all.py --engines PEERS (e.g. wikisearch,bm25s,tantivy)")
    args = ap.parse_args(argv)
    from wikisearch.evaluate import evaluate, load_qrels, load_queries
    from wikisearch.search.searcher import Searcher

    rank = None
    if args.rank == "tuned":
        from tune_rank import RECOMMENDED
        rank = RECOMMENDED
    if args.index is None:
        args.index = RESULTS / "tmp" / ("enwiki30k-tuned" if rank else "enwiki30k-index")
    build = ensure_index(args.index, CORPUS, args.workers, rank)
    queries = load_queries(QUERIES)
    qrels = load_qrels(QRELS)
    if args.limit_queries:
        queries = dict(list(queries.items())[:args.limit_queries])
    searcher = Searcher(args.index)
    warm = warm_latency(searcher, list(queries.values()), args.repeats)
    eff = evaluate(searcher, queries, qrels, key="title", k=100)
    cold = cold_start(args.index, next(iter(queries.values())), args.cold_repeats)
    result = {"benchmark": "bench_query", "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": machine(), "corpus": [f.name for f in CORPUS],
              "corpus_sha256": corpus_checksum(CORPUS),
              "index": {"path": str(args.index), "n_docs": searcher.n_docs, **build},
              "rank_config": searcher.reader.rank_config.to_json(), "warm": warm, "cold": cold,
              "effectiveness": {**eff["measures"], "n_queries": eff["n_queries"]}}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "bench_query" + ("_tuned" if rank else "")
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(result))
    print(markdown(result))
    if args.peers:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--engines", args.peers],
                       cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
