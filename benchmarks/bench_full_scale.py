"""The full-scale benchmark: wikisearch and tantivy on the enwiki-shaped corpus of
``synth_corpus.py``, in the same run.

wikisearch indexes the MediaWiki XML (articles, redirects, links, categories); tantivy (the
``peers/run_tantivy.py`` runner of ``run_all.py``: one en_stem field, 2 threads) indexes the same
articles as plain text (``synth_corpus.py --plain``: title + text, no markup). Measured: build wall
time, peak RSS of the main process and of the whole process tree (sampled every 50 ms), index
size, bits per posting, and first-sight / repeated query latency (``peers.child query``: the 467
DBpedia-Entity queries; first sight = each odd query timed once after the even ones warmed up).

    python benchmarks/synth_corpus.py -o /tmp/s/synth-1x.xml --scale 1 --plain /tmp/s/synth-1x.txt
    python benchmarks/bench_full_scale.py --xml /tmp/s/synth-1x.xml --plain /tmp/s/synth-1x.txt \\
        --tag 1x --memory 2GB --work /tmp/s/work
    # the build of another checkout (e.g. before a change), wikisearch only:
    python benchmarks/bench_full_scale.py --xml ... --tag 1x-before --pythonpath /old/checkout --engines wikisearch
    # a corpus made in parts (synth_corpus.py --copies): every part, in order, to both engines
    python benchmarks/bench_full_scale.py --xml p1.xml p2.xml --plain p1.txt p2.txt --tag 16x --keep-indexes
    # like for like with tantivy: wikisearch indexes the same plain text and keeps no text either
    python benchmarks/bench_full_scale.py --xml p1.xml --plain p1.txt --tag 16x-plain --wikisearch-input plain --no-store
    # later, on a quieter machine: the query phase alone, on the indexes kept by that run
    python benchmarks/bench_full_scale.py --xml p1.xml p2.xml --tag 16x --queries-only
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import DATA  # noqa: E402
from peers.measure import dir_bytes, git_revision, machine_info, run_child  # noqa: E402

RESULTS = HERE / "results"


class Sampler(threading.Thread):
    """Peak RSS of a process alone and of its whole tree."""

    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.main_peak = self.tree_peak = 0
        self.at_peak = {}         # the tree at its peak: seconds since the start, each process's RSS
        self.halt = threading.Event()

    def run(self):
        import psutil
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        t0 = time.perf_counter()
        while not self.halt.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            total, each = 0, []
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                each.append(round(rss / 2**20, 1))
                if p.pid == self.pid:
                    self.main_peak = max(self.main_peak, rss)
            if total > self.tree_peak:
                self.tree_peak = total
                self.at_peak = {"s": round(time.perf_counter() - t0, 2), "rss_mb": each}   # main first
            self.halt.wait(self.every)


def _remove_index(path: Path) -> None:
    """The index's link and generations (publish.remove_index), or an older checkout's directory."""
    from wikisearch.index.publish import remove_index
    remove_index(path)


def build_wikisearch(xml: list[Path], out: Path, memory: str, workers: int, pythonpath: str | None,
                     store: bool = True) -> dict:
    _remove_index(out)
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath or str(ROOT)
    cmd = [sys.executable, "-m", "wikisearch", "index", *map(str, xml), "-o", str(out), "--workers", str(workers),
           "--memory", memory, "-q"] + ([] if store else ["--no-store"])
    import resource
    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s = Sampler(proc.pid)
    s.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)   # main + workers (waited for)
    s.halt.set()
    s.join()
    if proc.returncode:
        raise RuntimeError(f"build failed: {err.strip().splitlines()[-3:]}")
    m = json.loads((out / "manifest.json").read_text())
    st = m.get("stats", {})
    files = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    index_bytes = sum(v for k, v in files.items() if k != "store.bin" and k.endswith(".bin"))
    n_post = int(st.get("n_postings") or 0)
    return {"build_s": wall, "cpu_s": cpu, "load_avg_start_end": [load0, os.getloadavg()[0]],
            "main_peak_rss_mb": s.main_peak / 2**20, "tree_peak_rss_mb": s.tree_peak / 2**20,
            "tree_at_peak": s.at_peak, "documents": st.get("n_docs"), "redirects": st.get("n_redirects"), "terms": st.get("n_terms"),
            "postings": n_post, "files": files, "index_bytes": index_bytes,
            "store_bytes": files.get("store.bin", 0),
            "suggest_bytes": files.get("suggest.bin", 0),    # in index_bytes (the title key table)
            "bits_per_posting": 8 * index_bytes / n_post if n_post else None,
            "postings_bits_per_posting": 8 * files.get("postings.bin", 0) / n_post if n_post else None,
            "memory": memory, "workers": workers, "pythonpath": pythonpath, "store": store,
            "inputs": [str(x) for x in xml]}


def _queries(work: Path) -> Path:
    path = work / "queries.json"
    rows = []
    for line in (Path(DATA) / "judgments/dbpedia-entity-v2/queries-v2.txt").read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            qid, text = line.split("\t", 1)
            rows.append([qid, text])
    path.write_text(json.dumps(rows))
    return path


def _latency(res) -> dict:
    import numpy as np
    if not res.ok:
        return {"error": res.error}
    fs = np.asarray(res.result["first_sight_ms"])
    rep = np.asarray(res.result["latencies_ms"])
    return {"first_sight_p50_ms": float(np.percentile(fs, 50)), "first_sight_p95_ms": float(np.percentile(fs, 95)),
            "repeated_p50_ms": float(np.percentile(rep, 50)), "repeated_p95_ms": float(np.percentile(rep, 95)),
            "open_s": res.result["open_s"], "query_process_peak_rss_mb": res.peak_rss_mb}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xml", nargs="+", default=[],
                    help="the corpus (its parts in order); not needed when wikisearch reads --plain")
    ap.add_argument("--plain", nargs="+", help="the same articles as WikiExtractor text (for tantivy)")
    ap.add_argument("--tag", required=True)
    ap.add_argument("--memory", default="2GB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engines", default="wikisearch,tantivy")
    ap.add_argument("--pythonpath", help="PYTHONPATH of the wikisearch build (another checkout)")
    ap.add_argument("--work", default=str(RESULTS / "tmp" / "full-scale"))
    ap.add_argument("--keep-indexes", action="store_true")
    ap.add_argument("--wikisearch-input", choices=("xml", "plain"), default="xml",
                    help="what wikisearch indexes: the XML (markup, links, redirects), or the --plain "
                         "files tantivy reads (like for like)")
    ap.add_argument("--no-store", action="store_true", help="wikisearch keeps no text (as tantivy here)")
    ap.add_argument("--queries-only", action="store_true",
                    help="no builds: time the queries on the indexes a --keep-indexes run left in the "
                         "work directory (results: full-scale-TAG-queries.json)")
    args = ap.parse_args(argv)
    if args.wikisearch_input == "plain" and not args.plain:
        ap.error("--wikisearch-input plain needs --plain")
    if not args.xml and not (args.wikisearch_input == "plain" or "wikisearch" not in args.engines.split(",")):
        ap.error("wikisearch indexes the XML unless --wikisearch-input plain: give --xml")
    if args.queries_only:
        args.keep_indexes = True
    work = Path(args.work) / args.tag
    work.mkdir(parents=True, exist_ok=True)
    engines = args.engines.split(",")
    xml = [Path(x) for x in args.xml]
    rec = {"tag": args.tag, "xml": [str(x) for x in xml], "xml_bytes": sum(x.stat().st_size for x in xml) if xml else None,
           "plain_bytes": sum(Path(p).stat().st_size for p in args.plain) if args.plain else None,
           "machine": machine_info(), "revision": git_revision(), "engines": {},
           "load_avg_start": os.getloadavg()[0], "queries_only": args.queries_only}
    queries = _queries(work)
    if "wikisearch" in engines:
        idx = work / "wikisearch-index"
        if args.queries_only:
            r = {}
        else:
            plain = args.wikisearch_input == "plain"
            r = build_wikisearch([Path(p) for p in args.plain] if plain else xml, idx, args.memory,
                                 args.workers, args.pythonpath, store=not args.no_store)
            if rec["xml_bytes"]:
                r["s_per_mb_xml"] = r["build_s"] / (rec["xml_bytes"] / 1e6)
                r["cpu_s_per_mb_xml"] = r["cpu_s"] / (rec["xml_bytes"] / 1e6)
            if plain:
                r["s_per_mb_plain"] = r["build_s"] / (rec["plain_bytes"] / 1e6)
                r["cpu_s_per_mb_plain"] = r["cpu_s"] / (rec["plain_bytes"] / 1e6)
        if not args.pythonpath:
            job = {"engine": "wikisearch", "module": "peers.run_wikisearch", "opts": {"store_text": True},
                   "threads": args.workers, "corpus_dir": str(work), "index_dir": str(idx),
                   "queries": str(queries), "run_file": str(work / "wikisearch.trec"), "k": 10,
                   "run_depth": 100, "repeats": 2}
            r["query"] = _latency(run_child("query", job, work / "logs", timeout=3600))
        rec["engines"]["wikisearch"] = r
        if not args.keep_indexes:
            _remove_index(idx)
    if "tantivy" in engines and (args.plain or args.queries_only):
        corpus = work / "corpus"
        idx = work / "tantivy-index"
        if not args.queries_only:
            shutil.rmtree(corpus, ignore_errors=True)
            corpus.mkdir()
            for k, plain in enumerate(args.plain):      # wiki-1-AA, -AB, ...: read in this order
                os.symlink(Path(plain).resolve(), corpus / f"wiki-1-A{chr(ord('A') + k)}.txt")
            shutil.rmtree(idx, ignore_errors=True)
        job = {"engine": "tantivy", "module": "peers.run_tantivy", "opts": {"fields": "one"},
               "threads": args.workers, "corpus_dir": str(corpus), "index_dir": str(idx),
               "queries": str(queries), "run_file": str(work / "tantivy.trec"), "k": 10,
               "run_depth": 100, "repeats": 2}
        if args.queries_only:
            t, ok = {}, True
        else:
            b = run_child("build", job, work / "logs", timeout=14400, threads=args.workers)
            t = {"build_s": b.wall_s, "cpu_s": b.cpu_s, "main_peak_rss_mb": b.peak_rss_mb,
                 "tree_peak_rss_mb": b.peak_tree_rss_mb, "error": b.error}
            ok = b.ok
        if ok:
            t["index_bytes"] = dir_bytes(idx)[0]
            t["query"] = _latency(run_child("query", job, work / "logs", timeout=3600))
        rec["engines"]["tantivy"] = t
        if not args.keep_indexes:
            shutil.rmtree(idx, ignore_errors=True)
    rec["load_avg_end"] = os.getloadavg()[0]
    out = RESULTS / f"full-scale-{args.tag}{'-queries' if args.queries_only else ''}.json"
    out.write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(rec["engines"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
