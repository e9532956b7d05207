"""First-sight and repeated query latency as CPU time, for a busy machine.

``run_all.py`` times queries by the wall clock, which on a shared machine mostly measures who else
is running. This script repeats its query protocol (``peers/child.py``: warm up on the
even-numbered queries, time each odd-numbered one once, then three passes over all of them) on the
indexes a ``run_all.py --keep-indexes`` run left in ``--work``, timing each query by the CPU time of
the thread that runs it (``time.thread_time``; wall time beside it), for wikisearch checkouts and
tantivy run in turn, ``--runs`` times, and prints the medians and the ratios to tantivy. Each engine
answers in one thread (tantivy-py searches in the calling thread: its process's other threads use
no CPU meanwhile; each run line shows the timed searches' process CPU over their thread CPU, which
stays 1.00 when no other thread works for the engine, so thread CPU misses nothing).

    python benchmarks/run_all.py --engines wikisearch,tantivy --keep-indexes --work /tmp/ra
    python benchmarks/firstsight_cpu.py --work /tmp/ra --checkout before=/tmp/old-checkout \\
        --checkout after=. --runs 3
    python benchmarks/firstsight_cpu.py --work /tmp/ra --rerank     # also with the re-ranker on

Checkouts of different index formats each search the index they build: ``--index
before=/tmp/old-index`` (a checkout without ``--index`` searches the work folder's).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
               "RAYON_NUM_THREADS")
COLUMNS = ("first-sight p50", "first-sight p95", "repeated p50", "repeated p95")


def child(engine: str, index_dir: str, queries_path: str, out: str, opts: str = "{}") -> None:
    """One engine, one fresh process: the protocol, CPU and wall time per query, to ``out``.
    ``opts``: the engine's options as JSON (``{"rerank": true}``: wikisearch re-ranking)."""
    mod = importlib.import_module(f"peers.run_{engine}")
    queries = json.loads(Path(queries_path).read_text())
    s = mod.open_index(Path(index_dir), json.loads(opts))
    s.search(queries[0][1], 100)
    for _qid, text in queries[2::2]:
        s.search(text, 10)

    cpu = [0.0, 0.0]                           # the timed searches' CPU: this thread, all threads

    def timed(text):
        c, p, w = time.thread_time(), time.process_time(), time.perf_counter()
        s.search(text, 10)
        c, p = time.thread_time() - c, time.process_time() - p
        cpu[0] += c
        cpu[1] += p
        return c * 1e3, (time.perf_counter() - w) * 1e3
    first = [timed(text) for _qid, text in queries[1::2]]
    for _qid, text in queries[1:]:
        s.search(text, 100)
    passes = [[timed(text) for _qid, text in queries] for _ in range(3)]
    repeated = [tuple(statistics.median(p[i][j] for p in passes) for j in (0, 1)) for i in range(len(queries))]
    Path(out).write_text(json.dumps({"first": first, "repeated": repeated,
                                     "process_over_thread": cpu[1] / max(cpu[0], 1e-9)}))


def percentile(values, q: float) -> float:
    v = sorted(values)
    x = (len(v) - 1) * q / 100
    lo = int(x)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (x - lo)


def summary(result: dict, which: int) -> list[float]:
    first = [t[which] for t in result["first"]]
    rep = [t[which] for t in result["repeated"]]
    return [percentile(first, 50), percentile(first, 95), percentile(rep, 50), percentile(rep, 95)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="a run_all.py --keep-indexes work folder")
    ap.add_argument("--checkout", action="append", default=[], metavar="NAME=PATH",
                    help="a wikisearch checkout to time (repeatable; default: this one, as 'wikisearch')")
    ap.add_argument("--index", action="append", default=[], metavar="NAME=DIR",
                    help="the index a --checkout NAME searches (default: the work folder's "
                         "index/wikisearch), for checkouts of different index formats, each timed "
                         "on the index it builds")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None, help="also write the runs and their medians here (JSON)")
    ap.add_argument("--rerank", action="store_true",
                    help="each wikisearch checkout also re-ranking (`query --rerank`: the shipped "
                         "model over the top 100), as NAME-rerank on NAME's index")
    args = ap.parse_args(argv)
    work = Path(args.work)
    runs = [(item.split("=", 1)[0], "wikisearch", Path(item.split("=", 1)[1]).resolve())
            for item in args.checkout] or [("wikisearch", "wikisearch", HERE.parent)]
    opts = {name: "{}" for name, _e, _r in runs}
    if args.rerank:
        for name, engine, root in list(runs):
            runs.append((f"{name}-rerank", engine, root))
            opts[f"{name}-rerank"] = json.dumps({"rerank": True})
    runs.append(("tantivy", "tantivy", HERE.parent))
    index_of = {item.split("=", 1)[0]: Path(item.split("=", 1)[1]).resolve() for item in args.index}
    index_of.update({f"{name}-rerank": index_of[name] for name in list(index_of) if f"{name}-rerank" in opts})
    unknown = set(index_of) - {name for name, _e, _r in runs}
    if unknown:
        ap.error(f"--index names no --checkout: {', '.join(sorted(unknown))}")
    rows: dict[str, list] = {name: [] for name, _e, _r in runs}
    for i in range(args.runs):
        for name, engine, root in runs:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "benchmarks"), str(root)]),
                       PYTHONHASHSEED="0", **{v: "1" for v in THREAD_VARS})
            out = work / "logs" / f"firstsight-cpu-{name}.json"
            load = os.getloadavg()[0]
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", engine,
                            str(index_of.get(name, work / "index" / engine)), str(work / "queries.json"),
                            str(out), opts.get(name, "{}")],
                           cwd=root / "benchmarks", env=env, check=True)
            result = json.loads(out.read_text())
            cpu, wall = summary(result, 0), summary(result, 1)
            rows[name].append(cpu)
            print(f"run {i} {name:12s} load {load:4.1f}  CPU ms " + "  ".join(
                f"{c} {v:.3f}" for c, v in zip(COLUMNS, cpu)) + "  | wall " +
                " ".join(f"{v:.3f}" for v in wall) +
                f"  | process/thread CPU {result.get('process_over_thread', float('nan')):.3f}", flush=True)
    med = {name: [statistics.median(col) for col in zip(*r)] for name, r in rows.items()}
    print("median CPU ms over runs: " + ", ".join(COLUMNS))
    for name, m in med.items():
        ratio = "" if name == "tantivy" else "   / tantivy: " + " ".join(
            f"{a / b:.2f}" for a, b in zip(m, med["tantivy"]))
        print(f"  {name:12s} " + " ".join(f"{v:.3f}" for v in m) + ratio)
    if args.out:
        n_first = len(json.loads((work / "queries.json").read_text())[1::2])
        idx = {name: index_of.get(name, work / "index" / engine) for name, engine, _r in runs}
        docs = {name: json.loads((d / "manifest.json").read_text())["stats"]["n_docs"]
                for name, d in idx.items() if (d / "manifest.json").exists()}
        Path(args.out).write_text(json.dumps({
            "work": str(work), "indexes": {n: str(d) for n, d in idx.items()}, "n_docs": docs,
            "columns": list(COLUMNS), "unit": "CPU ms (thread)", "runs": args.runs,
            "n_first_sight_queries": n_first, "per_run": rows, "median": med,
            "over_tantivy": {n: [a / b for a, b in zip(m, med["tantivy"])] for n, m in med.items()}},
            indent=1) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:7])
    else:
        sys.exit(main())
