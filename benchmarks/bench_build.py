"""Build benchmark: wall time, MB/s, peak RSS (whole process tree), bits per posting, index size.

    python benchmarks/bench_build.py                        # 30k corpus + the real XML samples
    python benchmarks/bench_build.py --scales 1,4,16 --memory 1GB   # scale-out at a fixed budget

Each build runs `python -m wikisearch index` in its own process; a sampler adds up the RSS of that
process and its workers every 20 ms. Results: benchmarks/results/build.json and build.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
from wikisearch.index.publish import remove_index  # noqa: E402  (an index path may be a link)

SHARED = ROOT.parent / "shared" / "data"
RESULTS = HERE / "results"
TMP = RESULTS / "tmp"


def _tree_rss(pid: int) -> int:
    import psutil
    try:
        p = psutil.Process(pid)
        procs = [p] + p.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_build(inputs: list[Path], out: Path, workers: int, memory: str, extra=()) -> dict:
    """Build an index in a child process; returns wall time and the peak RSS of its tree."""
    remove_index(out)
    cmd = [sys.executable, "-m", "wikisearch", "index", *map(str, inputs), "-o", str(out),
           "--workers", str(workers), "--memory", memory, "-q", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    th.join()
    if proc.returncode:
        raise RuntimeError(f"build failed: {stderr.strip().splitlines()[-1:]}")
    from wikisearch.index.stats import index_stats
    s = index_stats(out)
    return {"wall_s": wall, "peak_rss_mb": peak[0] / 1e6, "documents": s["documents"],
            "terms": s["terms"], "postings": s["postings"], "index_mb": s["index_bytes"] / 1e6,
            "store_mb": s["store_bytes"] / 1e6, "bits_per_posting": s["index_bits_per_posting"],
            "postings_bits_per_posting": s["bits_per_posting"]}


def uncompressed_bytes(paths: list[Path]) -> int:
    """Bytes of text/XML the build reads (MANIFEST.tsv for shared data, else file sizes)."""
    manifest = {}
    mf = SHARED / "MANIFEST.tsv"
    if mf.exists():
        for line in mf.read_text().splitlines()[1:]:
            parts = line.split("\t")
            manifest[parts[0]] = int(parts[2])
    total = 0
    for p in paths:
        rel = str(p.resolve().relative_to(SHARED.resolve())) if SHARED.resolve() in p.resolve().parents else None
        total += manifest.get(rel, p.stat().st_size) if rel else p.stat().st_size
    return total


def corpus_dir(scale: int) -> tuple[list[Path], int, dict]:
    import corpus as C
    spec = C.CorpusSpec(str(SHARED), None, scale)
    d = TMP / f"30k-x{scale}" / "corpus"
    info = C.prepare(spec, d, progress=lambda m: print(m, file=sys.stderr))
    files = C.corpus_files(d)
    return files, sum(p.stat().st_size for p in files), info


def machine() -> dict:
    import numpy
    import numba
    import wikisearch
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "load_avg": os.getloadavg(), "wikisearch": wikisearch.__version__,
            "numpy": numpy.__version__, "numba": numba.__version__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", default="2GB")
    ap.add_argument("--scales", default="1", help="comma-separated corpus scales, e.g. 1,4,16")
    ap.add_argument("--no-xml", action="store_true", help="skip the real XML samples")
    ap.add_argument("--store", action="store_true", help="also keep stored text (default: no, like the peers)")
    ap.add_argument("--out", default=str(RESULTS / "build.json"))
    args = ap.parse_args(argv)
    extra = () if args.store else ("--no-store",)
    rows = []
    for scale in [int(s) for s in args.scales.split(",") if s.strip()]:
        files, nbytes, info = corpus_dir(scale)
        r = run_build(files, TMP / f"bench-build-x{scale}", args.workers, args.memory, extra)
        r |= {"corpus": f"enwiki-text 30k x{scale}", "input_mb": nbytes / 1e6,
              "mb_per_s": nbytes / 1e6 / r["wall_s"], "s_per_mb": r["wall_s"] / (nbytes / 1e6),
              "index_pct_of_input": 100 * r["index_mb"] / (nbytes / 1e6), "sha256": info["checksum"]["sha256"]}
        rows.append(r)
        print(json.dumps(r), file=sys.stderr)
    if not args.no_xml:
        xml = sorted((SHARED / "enwiki-xml").glob("*")) + sorted((SHARED / "otherwiki-xml").glob("*"))
        en = [p for p in xml if p.parent.name == "enwiki-xml"]
        for group, paths in ((f"enwiki-xml ({len(en)} files)", en),):
            nbytes = uncompressed_bytes(paths)
            r = run_build(paths, TMP / "bench-build-xml", args.workers, args.memory, extra)
            r |= {"corpus": group, "input_mb": nbytes / 1e6, "mb_per_s": nbytes / 1e6 / r["wall_s"],
                  "s_per_mb": r["wall_s"] / (nbytes / 1e6), "index_pct_of_input": 100 * r["index_mb"] / (nbytes / 1e6)}
            rows.append(r)
        for p in [p for p in xml if p.parent.name != "enwiki-xml"]:
            nbytes = uncompressed_bytes([p])
            r = run_build([p], TMP / "bench-build-xml", args.workers, args.memory, extra)
            r |= {"corpus": p.name.split("-")[0], "input_mb": nbytes / 1e6, "mb_per_s": nbytes / 1e6 / r["wall_s"],
                  "s_per_mb": r["wall_s"] / (nbytes / 1e6), "index_pct_of_input": 100 * r["index_mb"] / (nbytes / 1e6)}
            rows.append(r)
    result = {"machine": machine(), "workers": args.workers, "memory": args.memory,
              "stored_text": args.store, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=1))
    md = [f"# Build benchmark (`{' '.join(['bench_build.py'] + (argv or sys.argv[1:]))}`)", "",
          f"workers {args.workers}, memory budget {args.memory}, stored text {'on' if args.store else 'off'}; "
          f"{result['machine']['cores']} cores, load average {result['machine']['load_avg'][0]:.2f}", "",
          "| corpus | input MB | docs | wall s | MB/s | s/MB | peak RSS MB | index MB | % of input | bits/posting |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['corpus']} | {r['input_mb']:.1f} | {r['documents']:,} | {r['wall_s']:.1f} | "
                  f"{r['mb_per_s']:.1f} | {r['s_per_mb']:.3f} | {r['peak_rss_mb']:.0f} | {r['index_mb']:.1f} | "
                  f"{r['index_pct_of_input']:.1f} | {r['bits_per_posting']:.1f} |")
    Path(args.out).with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
