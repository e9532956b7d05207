"""Cold start of the command line (#12): a fresh ``wikisearch query`` process, from spawn to its
first printed result and to its exit, in wall-clock and CPU seconds.

Each run starts ``python -m wikisearch query -i INDEX QUERY`` (snippets and did-you-mean on, as by
default) with ``PYTHONPATH`` set to one source tree, reads its standard output until the first
result line (`` 1. Title ...``) and waits for it to end; the CPU time is the child's own (user +
system, from ``wait4``), which the machine's load changes far less than the wall time. Several
trees (``--tree NAME=PATH``) run alternately, process by process, so that each sees the same load;
the table gives the median of ``--runs`` and the 1-minute load average before and after.

    python benchmarks/bench_cold_start.py --index /work/data30k/idx6 --tree main=/work/main \\
        --tree branch=. --runs 5 [--query "lata mangeshkar"]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

FIRST_RESULT = re.compile(rb"^\s*1\. ")


def _load() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def one_run(tree: str, index: str, query: str, extra: list[str]) -> dict:
    """Start the query in a fresh process over source tree ``tree``; seconds to the first result
    line and to exit, and the process's CPU seconds."""
    tree = str(Path(tree).resolve())
    env = {**os.environ, "PYTHONPATH": tree}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "wikisearch", "query", "-i", str(Path(index).resolve()),
                             *extra, query], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=tree)                # (-m puts the working directory first on sys.path)
    first = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if first is None and FIRST_RESULT.match(line):
            first = time.perf_counter() - start
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or first is None:
        raise SystemExit(f"{tree}: exit status {proc.returncode}, no result line:\n{err.decode()[-2000:]}")
    return {"first": first, "exit": end, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "out": b"".join(lines)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--tree", action="append", default=[], help="NAME=PATH of a source tree (repeatable)")
    ap.add_argument("--query", default="lata mangeshkar")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--arg", action="append", default=[], help="an extra argument to `wikisearch query`")
    args = ap.parse_args(argv)
    trees = [t.split("=", 1) for t in (args.tree or ["this=" + str(Path(__file__).resolve().parents[1])])]
    for name, tree in trees:                       # a warm-up run each: numba's cache, the page cache
        one_run(tree, args.index, args.query, args.arg)
    load0 = _load()
    runs: dict[str, list[dict]] = {name: [] for name, _ in trees}
    for _ in range(args.runs):
        for name, tree in trees:
            runs[name].append(one_run(tree, args.index, args.query, args.arg))
    load1 = _load()
    outputs = {name: [re.sub(rb"\(\d+\.\d ms\)", b"", r["out"]) for r in rs] for name, rs in runs.items()}
    same = len({o for os_ in outputs.values() for o in os_}) == 1
    print(f"`wikisearch query -i {args.index} {' '.join(args.arg)} {args.query!r}`, median of {args.runs} "
          f"(alternating), load {load0:.2f} -> {load1:.2f}; same output in every run: {same}\n")
    print("| tree | to first result s | to exit s | CPU s | max RSS MB |")
    print("|---|---|---|---|---|")
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("first", "exit", "cpu", "rss_mb")}
        print(f"| {name} | {med['first']:.3f} | {med['exit']:.3f} | {med['cpu']:.3f} | {med['rss_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
