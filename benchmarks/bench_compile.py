"""numba compile CPU of the search path, per module and kernel, in an empty numba cache.

    python benchmarks/bench_compile.py --index DIR [--queries FILE] [--n 60]

Opens the index twice (the default searcher: scored-lists cache; and cache_postings=0: the
block-max path), runs ``warmup()`` and the first N queries at k=10 and k=100 on each, and sums
numba's compile events (``numba:compile``; cache loads raise none) as CPU time of this thread,
each kernel's own time (exclusive: its callees' compiles subtracted). NUMBA_CACHE_DIR is a fresh
temporary folder, so everything the workload needs compiles. Prints a table; ``--json`` too.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUERIES = Path(__file__).resolve().parent / "results" / "tmp" / "30k-x1" / "queries.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, help="an index directory")
    ap.add_argument("--queries", default=str(QUERIES), help="run_all's queries.json (default %(default)s)")
    ap.add_argument("--n", type=int, default=60, help="queries to run (default 60)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-compile-")
    os.environ["WIKISEARCH_JIT"] = "on"          # compile even for a small job on a cold cache
    from numba.core import event

    rows = []

    class Listener(event.Listener):
        def __init__(self):
            self.stack = []

        def on_start(self, ev):
            self.stack.append([time.thread_time(), 0.0])

        def on_end(self, ev):
            t0, child = self.stack.pop()
            incl = time.thread_time() - t0
            if self.stack:
                self.stack[-1][1] += incl
            f = ev.data["dispatcher"].py_func
            rows.append((f.__module__, f.__name__, incl - child))

    event.register("numba:compile", Listener())
    from wikisearch.search import searcher as ws
    ws.fast_start()
    queries = [q for _, q in json.loads(Path(args.queries).read_text())][: args.n]
    t = time.process_time()
    for cache in (None, 0):
        s = ws.Searcher(args.index) if cache is None else ws.Searcher(args.index, cache_postings=0)
        s.warmup()
        for q in queries:
            s.search(q, 10)
            s.search(q, 100)
    workload = time.process_time() - t
    per_module = collections.defaultdict(float)
    per_kernel = collections.defaultdict(lambda: [0, 0.0])
    for m, f, x in rows:
        per_module[m] += x
        per_kernel[(m, f)][0] += 1
        per_kernel[(m, f)][1] += x
    print(f"workload CPU {workload:.1f} s, numba compile CPU {sum(per_module.values()):.1f} s")
    for m in sorted(per_module, key=lambda m: -per_module[m]):
        print(f"{per_module[m]:7.2f} s  {m}")
    print("kernels (exclusive CPU, signatures compiled):")
    for (m, f), (n, x) in sorted(per_kernel.items(), key=lambda kv: -kv[1][1]):
        print(f"{x:7.2f} s  {n}  {m}.{f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "workload_cpu_s": workload, "modules": per_module,
            "kernels": [{"module": m, "kernel": f, "signatures": n, "cpu_s": x}
                        for (m, f), (n, x) in per_kernel.items()]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
