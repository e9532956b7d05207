"""The first run after a fresh install: the README's first command and the first 30k build, cold vs warm.

    python benchmarks/bench_first_run.py [--repeat 3] [--sample] [--corpus] [--json FILE]

A fresh install is imitated exactly: each repeat copies this checkout's ``wikisearch/`` package
(its sources and data, no ``__pycache__``) into a new temporary folder and runs the installed
console script (``wikisearch``, the one ``pip install -e`` wrote) with ``PYTHONPATH`` at that copy,
in fresh processes, as a user types the commands. ``NUMBA_CACHE_DIR`` is removed from the
environment, so numba caches where it does after ``pip install -e`` on a user's machine: in a
``__pycache__`` beside each kernel module of the copy (numba's in-tree locator; it uses
``NUMBA_CACHE_DIR`` only where that is set, and the user-wide ``~/.cache/numba`` only where the
package folder is read-only). The copy's path is new, so nothing compiled for another checkout can
be found.

Python's own bytecode: ``PYTHONDONTWRITEBYTECODE`` is removed too unless ``--no-bytecode`` (this
environment sets it to 1). After ``pip install -e`` nothing is byte-compiled; the first command
writes ``__pycache__/*.pyc`` and later ones import from it, which is what runs here by default.
With ``--no-bytecode`` every process compiles every imported module's source again (about
0.3 s more per process).

Steps, each a fresh process, wall time and CPU (user + system of the process and the worker
processes it waited for, ``os.wait4``):

* sample: ``wikisearch index wikisearch/data/sample-enwiki.xml.bz2`` then
  ``wikisearch query "german chancellor"`` in the copy's root (the README's first command, after
  the pip install), cold (a new copy), then both again warm (the same copy: numba's cache filled,
  if the cold run compiled anything: the kernel cache files ``*.nbi`` in the copy are counted).
* corpus: ``wikisearch index /work/data30k/corpus/wiki-01-A*.txt -o DIR`` cold (a new copy),
  then ``wikisearch query -i DIR "german chancellor"`` (what a first build left the first
  query to compile: nothing, when its workers compiled the search kernels), then both again warm into another DIR; the two indexes are
  compared file by file (must be equal), and with ``--reference`` to another build of the corpus.

Load (``/proc/loadavg``) is recorded before each step. Prints a table; ``--json`` writes all runs.
"""
from __future__ import annotations

import argparse
import filecmp
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = "/work/data30k/corpus/wiki-01-A*.txt"


def cli() -> list[str]:
    """The console script ``pip install`` wrote (``from wikisearch.cli import main``), run by this
    interpreter; ``python -m wikisearch`` where there is none."""
    script = Path(sysconfig.get_path("scripts")) / "wikisearch"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "wikisearch"]


PACKAGE = ROOT / "wikisearch"


#: Leave out the kernels compiled at install (``wikisearch/_aot*``): a fresh install without a C
#: compiler (``--no-aot``).
NO_AOT = False


def fresh_copy(scratch: Path) -> Path:
    """A new folder holding a copy of the package as a fresh install has it (no caches; the
    kernels compiled at install, ``_aot*.so`` and ``_aot.json``, where the package has them,
    unless ``--no-aot``)."""
    dest = Path(tempfile.mkdtemp(prefix="fresh-", dir=scratch))
    skip = ("__pycache__", "*.pyc", "*.nbi", "*.nbc") + (("_aot*",) if NO_AOT else ())
    shutil.copytree(PACKAGE, dest / "wikisearch", ignore=shutil.ignore_patterns(*skip))
    return dest


def env_for(copy: Path, bytecode: bool) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "WIKISEARCH_JIT", "WIKISEARCH_INTERPRET_KERNELS", "NUMBA_DISABLE_JIT",
                        "WIKISEARCH_AOT", "WIKISEARCH_AOT_DIR")}
    env["PYTHONPATH"] = str(copy)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0]
    except OSError:
        return "?"


def timed(cmd: list[str], cwd: Path, env: dict) -> dict:
    """Run ``cmd``; wall seconds and CPU seconds (its own and its waited-for children's)."""
    load = loadavg()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)     # this process's rusage, waited-for workers included
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        out, err = out.read(), err.read()
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err.decode(errors='replace')[-2000:]}")
    return {"wall_s": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3), "load": load,
            "stdout": out.decode(errors="replace")[:400], "stderr": err.decode(errors="replace")[-600:]}


def check_copy_used(copy: Path, env: dict) -> None:
    """The copy, not the editable install, is what the console script imports."""
    got = subprocess.run([sys.executable, "-c", "import wikisearch; print(wikisearch.__file__)"],
                         env=env, cwd=copy, capture_output=True, text=True, check=True).stdout.strip()
    if not got.startswith(str(copy)):
        raise SystemExit(f"the console script would import {got}, not the fresh copy {copy}")


def run_sample(scratch: Path, bytecode: bool) -> dict:
    copy = fresh_copy(scratch)
    env = env_for(copy, bytecode)
    check_copy_used(copy, env)
    index = cli() + ["index", "wikisearch/data/sample-enwiki.xml.bz2"]
    query = cli() + ["query", "german chancellor"]
    run = {}
    for state in ("cold", "warm"):
        run[f"{state}_index"] = timed(index, copy, env)
        run[f"{state}_query"] = timed(query, copy, env)
        if "1. Angela Merkel" not in run[f"{state}_query"]["stdout"]:
            raise SystemExit(f"the sample query did not put Angela Merkel first:\n{run[f'{state}_query']['stdout']}")
        # kernels compiled into numba's cache (beside the modules) so far: what the first
        # command left for later runs to load
        run[f"{state}_cached_kernel_files"] = len(list((copy / "wikisearch").rglob("*.nbi")))
    shutil.rmtree(copy, ignore_errors=True)
    return run


def same_index(a: Path, b: Path) -> bool:
    """Two indexes hold the same files with the same bytes (the manifest's build time aside;
    ``spelling.bin``, made by a first query, not by the build, left out)."""
    a, b = a.resolve(), b.resolve()

    def files(d):
        return sorted(p.relative_to(d) for p in d.rglob("*") if p.is_file() and p.name != "spelling.bin")
    names = files(a)
    if names != files(b):
        return False
    for n in names:
        if n.name == "manifest.json":
            ja, jb = (json.loads((d / n).read_text()) for d in (a, b))
            for j in (ja, jb):
                for k in ("created", "build_seconds", "built_at", "build"):
                    j.pop(k, None)
            if ja != jb:
                return False
        elif not filecmp.cmp(a / n, b / n, shallow=False):
            return False
    return True


def run_corpus(scratch: Path, bytecode: bool, corpus: str, workers: int | None, reference: str | None) -> dict:
    copy = fresh_copy(scratch)
    env = env_for(copy, bytecode)
    check_copy_used(copy, env)
    inputs = sorted(glob.glob(corpus))
    if not inputs:
        raise SystemExit(f"no corpus files match {corpus}")
    extra = ["--workers", str(workers)] if workers else []
    run = {}
    for state in ("cold", "warm"):
        out = copy / f"idx-{state}"
        run[f"{state}_build"] = timed(cli() + ["index", *inputs, "-o", str(out), *extra], copy, env)
        # the first query after it: what a build leaves to compile (nothing where it compiled the search kernels)
        run[f"{state}_query"] = timed(cli() + ["query", "-i", str(out), "german chancellor"], copy, env)
    run["same_bytes"] = same_index(copy / "idx-cold", copy / "idx-warm")
    if reference:
        run["same_as_reference"] = same_index(copy / "idx-warm", Path(reference))
    shutil.rmtree(copy, ignore_errors=True)
    return run


def summary(runs: list[dict], key: str) -> dict:
    walls = [r[key]["wall_s"] for r in runs]
    cpus = [r[key]["cpu_s"] for r in runs]
    return {"wall_median": statistics.median(walls), "wall_best": min(walls),
            "cpu_median": statistics.median(cpus), "cpu_best": min(cpus)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sample", action="store_true", help="the README's first command (default: both)")
    ap.add_argument("--corpus", nargs="?", const=CORPUS, default=None,
                    help=f"the 30k build cold vs warm (default glob {CORPUS}; default: both)")
    ap.add_argument("--workers", type=int, default=None, help="--workers for the corpus build (default: the CLI's)")
    ap.add_argument("--package", default=None,
                    help="the wikisearch package folder to copy (default: this checkout's; another "
                    "worktree's measures that revision in the same run)")
    ap.add_argument("--reference", default=None,
                    help="an index of the same corpus (another commit's build) that the builds must equal")
    ap.add_argument("--no-bytecode", action="store_true", help="PYTHONDONTWRITEBYTECODE=1 in every step")
    ap.add_argument("--no-aot", action="store_true",
                    help="copy the package without its kernels compiled at install (an install without a C compiler)")
    ap.add_argument("--scratch", default=None, help="where the fresh copies go (default: a temporary folder)")
    ap.add_argument("--json", default=None, help="write every run here")
    args = ap.parse_args(argv)
    if not args.sample and args.corpus is None:
        args.sample, args.corpus = True, CORPUS
    global PACKAGE, NO_AOT
    NO_AOT = args.no_aot
    if args.package:
        PACKAGE = Path(args.package).resolve()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-first-run-"))
    scratch.mkdir(parents=True, exist_ok=True)
    bytecode = not args.no_bytecode
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PACKAGE, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "."], cwd=PACKAGE,
                                capture_output=True, text=True).stdout.strip())
    result = {"commit": git + ("+dirty" if dirty else ""), "package": str(PACKAGE), "machine": platform.node(),
              "cores": os.cpu_count(), "python": platform.python_version(), "bytecode_written": bytecode,
              "cli": cli(), "aot": (not NO_AOT) and bool(list(PACKAGE.glob("_aot*.so")))}
    try:
        import numba
        result["numba"] = numba.__version__
    except ImportError:
        pass
    if args.sample:
        runs = []
        for i in range(args.repeat):
            runs.append(run_sample(scratch, bytecode))
            r = runs[-1]
            print(f"sample #{i + 1}: cold index {r['cold_index']['wall_s']:.2f} s wall "
                  f"({r['cold_index']['cpu_s']:.2f} CPU) + query {r['cold_query']['wall_s']:.2f} "
                  f"({r['cold_query']['cpu_s']:.2f}) = {r['cold_index']['wall_s'] + r['cold_query']['wall_s']:.2f} s; "
                  f"warm {r['warm_index']['wall_s']:.2f} + {r['warm_query']['wall_s']:.2f}; "
                  f"kernels cached after it {r['cold_cached_kernel_files']}; "
                  f"load {r['cold_index']['load']}", flush=True)
        total = [r["cold_index"]["wall_s"] + r["cold_query"]["wall_s"] for r in runs]
        result["sample"] = {"runs": runs, **{k: summary(runs, k) for k in runs[0] if k.endswith(("_index", "_query"))},
                            "cold_total_wall_median": statistics.median(total), "cold_total_wall_best": min(total)}
        print(f"sample: cold index + query {statistics.median(total):.2f} s wall median "
              f"(best {min(total):.2f}); target < 10 s")
    if args.corpus is not None:
        runs = []
        for i in range(args.repeat):
            runs.append(run_corpus(scratch, bytecode, args.corpus, args.workers, args.reference))
            r = runs[-1]
            print(f"corpus #{i + 1}: cold {r['cold_build']['wall_s']:.2f} s wall ({r['cold_build']['cpu_s']:.2f} CPU), "
                  f"warm {r['warm_build']['wall_s']:.2f} ({r['warm_build']['cpu_s']:.2f}), "
                  f"ratio {r['cold_build']['wall_s'] / r['warm_build']['wall_s']:.2f}x "
                  f"(CPU {r['cold_build']['cpu_s'] / r['warm_build']['cpu_s']:.2f}x); first query after "
                  f"each {r['cold_query']['wall_s']:.2f} s ({r['cold_query']['cpu_s']:.2f} CPU), "
                  f"{r['warm_query']['wall_s']:.2f} ({r['warm_query']['cpu_s']:.2f}); "
                  f"same bytes {r['same_bytes']} (reference {r.get('same_as_reference', '-')}), load {r['cold_build']['load']}", flush=True)
        ratios = [r["cold_build"]["wall_s"] / r["warm_build"]["wall_s"] for r in runs]
        result["corpus"] = {"glob": args.corpus, "runs": runs,
                            **{k: summary(runs, k) for k in ("cold_build", "cold_query", "warm_build", "warm_query")},
                            "ratio_median": statistics.median(ratios), "ratios": ratios}
        print(f"corpus: cold/warm {statistics.median(ratios):.2f}x median ({', '.join(f'{x:.2f}' for x in ratios)}); "
              f"target 1.3x")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    shutil.rmtree(scratch, ignore_errors=True) if not args.scratch else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
