"""Where the build's main process holds memory, phase by phase: the build run in this process
(``build_index``, workers as asked) with its phases marked, resident memory sampled every 20 ms
from ``/proc/self/status`` (anonymous and file-backed apart: a mapped file's pages count in RSS
too), the whole tree's (main + workers) peak within each phase, and, with ``--tracemalloc``, the peak of Python and numpy allocations within each phase.

    python benchmarks/trace_build_memory.py synth-0.25.xml --memory 2GB --workers 2 -o trace-0.25.json

Run it at two sizes of the same corpus: the difference of each phase's peak over the difference
in documents and redirects is what that phase holds per document (issue #13).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import sys
import threading
import time
import tracemalloc
from pathlib import Path

from wikisearch import build as B
from wikisearch.index import links as L


def _status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


class Phases:
    """The current phase (a stack of names) and each phase's peak RSS / anon / file while it ran."""

    def __init__(self, every: float, trace: bool):
        self.stack = ["start"]
        self.peaks: dict = {}
        self.trace = trace
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.every = every
        self.t = threading.Thread(target=self._run, daemon=True)

    def _name(self) -> str:
        return "/".join(self.stack)

    def _sample(self) -> None:
        s = _status()
        tree = s["VmRSS"]
        try:
            import psutil
            for c in psutil.Process().children(recursive=True):
                try:
                    tree += c.memory_info().rss
                except psutil.Error:
                    pass
        except ImportError:
            pass
        self.tree_peak = max(getattr(self, "tree_peak", 0), tree)
        with self.lock:
            for name in ["/".join(self.stack[:i]) for i in range(1, len(self.stack) + 1)]:
                p = self.peaks.setdefault(name, {"rss": 0, "anon": 0, "file": 0, "shmem": 0, "tree": 0})
                p["rss"] = max(p["rss"], s["VmRSS"])
                p["tree"] = max(p["tree"], tree)      # main + workers (the pool's idle ones too)
                p["anon"] = max(p["anon"], s["RssAnon"])
                p["file"] = max(p["file"], s["RssFile"])
                p["shmem"] = max(p["shmem"], s.get("RssShmem", 0))

    def _run(self) -> None:
        while not self.halt.is_set():
            self._sample()
            self.halt.wait(self.every)

    def wrap(self, owner, attr: str, label: str | None = None) -> None:
        fn = getattr(owner, attr)
        label = label or attr.strip("_")

        @functools.wraps(fn)
        def inner(*a, **k):
            with self.lock:
                self.stack.append(label)
                name = self._name()
            if self.trace:
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
            self._sample()
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                self._sample()
                with self.lock:
                    p = self.peaks[name]
                    p["cpu_s"] = p.get("cpu_s", 0) + time.process_time() - t0
                    p["calls"] = p.get("calls", 0) + 1
                    if self.trace:
                        cur, peak = tracemalloc.get_traced_memory()
                        p["traced_peak_above_start"] = max(p.get("traced_peak_above_start", 0), peak - base)
                        p["traced_held_after"] = cur
                    self.stack.pop()
        setattr(owner, attr, inner)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("xml")
    ap.add_argument("--memory", default="2GB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out-index", default="/tmp/trace-build-index")
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--block-size", default=0)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    ph = Phases(0.02, args.tracemalloc)
    for attr in ("_run_blocks", "_finalize", "_links", "_merge", "_merge_postings", "_write_block_maxima",
                 "_publish", "_close_pool"):
        ph.wrap(B.Builder, attr)
    for attr in ("title_lookups", "link_lookups", "resolve_looked_up", "count_inlinks", "write_docs_columns", "merge_stores",
                 "write_alias_table_of", "make_manifest", "release_free_memory"):
        ph.wrap(B, attr)
    if args.workers == 1:       # (run here; on a pool they are pickled by name: not wrapped)
        for attr in ("alias_segment_job", "merge_range", "plan_ranges_of", "assemble_parts"):
            ph.wrap(B, attr)
    ph.wrap(B.StringTable, "concat", "StringTable.concat")
    ph.wrap(L.Redirects, "alias_pairs", "Redirects.alias_pairs")
    ph.wrap(B.SegmentReader, "__init__", "SegmentReader")
    ph.wrap(B.Builder, "_run", "run_on_worker")
    if args.tracemalloc:
        tracemalloc.start()
    ph.t.start()
    shutil.rmtree(args.out_index, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    load0 = os.getloadavg()
    B.build_index([args.xml], args.out_index, workers=args.workers, memory=args.memory,
                  block_bytes=args.block_size)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ph.halt.set()
    ph.t.join()
    m = json.loads((Path(args.out_index) / "manifest.json").read_text())
    rec = {"xml": args.xml, "xml_bytes": os.path.getsize(args.xml), "memory": args.memory,
           "workers": args.workers, "n_docs": m["stats"]["n_docs"], "n_redirects": m["stats"].get("n_redirects"),
           "n_terms": m["stats"].get("n_terms"), "n_postings": m["stats"].get("n_postings"),
           "wall_s": wall, "main_cpu_s": cpu, "load_start_end": [load0[0], os.getloadavg()[0]],
           "main_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "tree_peak_rss_mb": ph.tree_peak / 2**20,
           "children_cpu_s": (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN)),
           "phases": {k: {kk: (round(vv / 2**20, 1) if kk not in ("cpu_s", "calls") else round(vv, 2) if
                               isinstance(vv, float) else vv) for kk, vv in v.items()} for k, v in ph.peaks.items()}}
    Path(args.output).write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
