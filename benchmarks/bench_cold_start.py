"""Cold start of the command line (#12): a fresh ``wikisearch query`` process, from spawn to its
first printed result and to its exit, in wall-clock and CPU seconds.

Each run starts ``python -m wikisearch query -i INDEX QUERY`` (snippets and did-you-mean on, as by
default) with ``PYTHONPATH`` set to one source tree, reads its standard output until the first
result line (`` 1. Title ...``) and waits for it to end; the CPU time is the child's own (user +
system, from ``wait4``), which the machine's load changes far less than the wall time. Several
trees (``--tree NAME=PATH``) run alternately, process by process, so that each sees the same load;
the table gives the median of ``--runs`` and the 1-minute load average before and after.

``--floor`` also runs, in the same alternation, ``python -c pass`` and ``python -c "import
numpy"`` (the interpreter and numpy, which any wikisearch process pays): the table then says what
each tree adds above the second. ``--bytecode`` runs every process with Python's bytecode cache,
as a user's install has it (pip byte-compiles the package; this environment sets
PYTHONDONTWRITEBYTECODE=1, so every process otherwise compiles wikisearch's modules from source):
each tree (and the floor) gets a cache folder of its own under a temporary directory
(``PYTHONPYCACHEPREFIX``: nothing is written into the trees), filled by the warm-up run.

    python benchmarks/bench_cold_start.py --index /work/data30k/idx6 --tree main=/work/main \\
        --tree branch=. --runs 5 [--query "lata mangeshkar"] [--floor] [--bytecode]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_RESULT = re.compile(rb"^\s*1\. ")


def _load() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


#: The floor's programs (``--floor``): what every wikisearch process pays before its own code.
FLOOR = {"python -c pass": "pass", "python -c 'import numpy'": "import numpy"}


def _env(pycache: str | None, **extra) -> dict:
    env = {**os.environ, **extra}
    if pycache is not None:                 # bytecode written and read, in a folder of our own
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def floor_run(code: str, pycache: str | None) -> dict:
    """``python -c code`` in a fresh process: seconds to its exit and its CPU seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=_env(pycache))
    _pid, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"python -c {code!r} failed")
    return {"first": end, "exit": end, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "out": b""}


def one_run(tree: str, index: str, query: str, extra: list[str], pycache: str | None = None) -> dict:
    """Start the query in a fresh process over source tree ``tree``; seconds to the first result
    line and to exit, and the process's CPU seconds. ``pycache``: the bytecode cache folder
    (``--bytecode``), else none (as this environment runs, from source)."""
    tree = str(Path(tree).resolve())
    env = _env(pycache, PYTHONPATH=tree)
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
    ap.add_argument("--floor", action="store_true",
                    help="also run `python -c pass` and `python -c 'import numpy'` in the alternation")
    ap.add_argument("--bytecode", action="store_true",
                    help="with Python's bytecode cache, as an installed package (a cache folder per tree)")
    args = ap.parse_args(argv)
    trees = [t.split("=", 1) for t in (args.tree or ["this=" + str(Path(__file__).resolve().parents[1])])]
    with tempfile.TemporaryDirectory(prefix="cold-start-pyc-") as tmp:
        def cache(name):
            return os.path.join(tmp, name) if args.bytecode else None

        def run(name, target):
            if name in FLOOR:
                return floor_run(target, cache("floor"))
            return one_run(target, args.index, args.query, args.arg, cache("tree-" + name))
        todo = trees + ([[n, code] for n, code in FLOOR.items()] if args.floor else [])
        for name, target in todo:                  # a warm-up run each: caches (numba's, bytecode, pages)
            run(name, target)
        load0 = _load()
        runs: dict[str, list[dict]] = {name: [] for name, _ in todo}
        for _ in range(args.runs):
            for name, target in todo:
                runs[name].append(run(name, target))
        load1 = _load()
    outputs = {name: [re.sub(rb"\(\d+\.\d ms\)", b"", r["out"]) for r in rs] for name, rs in runs.items()
               if name not in FLOOR}
    same = len({o for os_ in outputs.values() for o in os_}) == 1
    how = "with bytecode (a cache folder each)" if args.bytecode else "from source (no bytecode written)" \
        if os.environ.get("PYTHONDONTWRITEBYTECODE") else "with the trees' own bytecode"
    print(f"`wikisearch query -i {args.index} {' '.join(args.arg)} {args.query!r}`, median of {args.runs} "
          f"(alternating), {how}, load {load0:.2f} -> {load1:.2f}; same output in every run: {same}\n")
    meds = {name: {k: statistics.median(r[k] for r in rs) for k in ("first", "exit", "cpu", "rss_mb")}
            for name, rs in runs.items()}
    base = meds.get("python -c 'import numpy'")
    print("| tree | to first result s | to exit s | CPU s | max RSS MB |"
          + (" above the numpy floor: to first result s | CPU s |" if base else ""))
    print("|---|---|---|---|---|" + ("---|---|" if base else ""))
    for name, med in meds.items():
        extra = ""
        if base:
            extra = " | |" if name in FLOOR else f" {med['first'] - base['first']:.3f} | {med['cpu'] - base['cpu']:.3f} |"
        print(f"| {name} | {med['first']:.3f} | {med['exit']:.3f} | {med['cpu']:.3f} | {med['rss_mb']:.0f} |" + extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
