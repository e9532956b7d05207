"""What forward.bin adds to a build (issue 17, session 27): the 30k-article corpus indexed with and
without it (``--no-forward``), in turn, each a fresh ``python -m wikisearch index`` process; wall
time and the CPU of the process tree (``RUSAGE_CHILDREN``), medians of ``--runs``.

    python benchmarks/bench_forward_build.py          # -> results/forward-build-30k.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_query import CORPUS, RESULTS  # noqa: E402


def build(out: Path, workers: int, forward: bool) -> tuple[float, float]:
    """(wall s, CPU s) of one build into ``out``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wikisearch", "index", *map(str, CORPUS), "-o", str(out),
                    "--workers", str(workers), "-q"] + ([] if forward else ["--no-forward"]),
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def summarize(med: dict, sizes: dict, workers: int, runs: int, out: Path) -> str:
    """The one-paragraph reading of a run's medians (``out``: the file it is written to)."""
    w, wo = med["with"], med["without"]
    name = out.relative_to(HERE) if out.is_relative_to(HERE) else out
    return (f"Building the 30k corpus (`python benchmarks/bench_forward_build.py`, {name}: "
            f"{workers} workers, builds with and without forward.bin in turn, medians of {runs}): "
            f"{w['wall_s']:.1f} s and {w['cpu_s']:.1f} s of CPU with it against {wo['wall_s']:.1f} s and "
            f"{wo['cpu_s']:.1f} s without (x{w['wall_s'] / wo['wall_s']:.2f} wall, x{w['cpu_s'] / wo['cpu_s']:.2f} "
            f"CPU); the files: {sizes['with']['forward_bytes'] / 1e6:.1f} MB of forward.bin beside "
            f"{sizes['with']['index_bytes'] / 1e6:.1f} MB of index and {sizes['with']['store_bytes'] / 1e6:.1f} MB "
            "of stored text.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=RESULTS / "tmp" / "forward-build")
    ap.add_argument("--out", type=Path, default=RESULTS / "forward-build-30k.json")
    args = ap.parse_args(argv)
    from wikisearch.index.publish import remove_index
    from wikisearch.index.stats import index_stats
    rows: dict = {"with": [], "without": []}
    sizes = {}
    for _ in range(args.runs):
        for name in ("without", "with"):
            out = args.work / name
            if out.exists() or out.is_symlink():
                remove_index(out)
            rows[name].append(build(out, args.workers, name == "with"))
            s = index_stats(out)
            sizes[name] = {"index_bytes": s["index_bytes"], "forward_bytes": s["forward_bytes"],
                           "store_bytes": s["store_bytes"]}
            print(name, rows[name][-1], file=sys.stderr, flush=True)
    med = {n: {"wall_s": statistics.median(r[0] for r in v), "cpu_s": statistics.median(r[1] for r in v)}
           for n, v in rows.items()}
    summary = summarize(med, sizes, args.workers, args.runs, args.out)
    out = {"runs": {n: [{"wall_s": a, "cpu_s": b} for a, b in v] for n, v in rows.items()}, "median": med,
           "sizes": sizes, "workers": args.workers, "load": list(os.getloadavg()), "summary": summary}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(summary)
    for name in rows:
        remove_index(args.work / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
