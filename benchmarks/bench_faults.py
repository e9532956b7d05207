"""kill -9 sweep: a build killed at every step still leaves an index that answers, and the same
command run again finishes with the bytes of an uninterrupted build.

The build (the bundled real sample, cut into 15 blocks, 2 workers) is killed with SIGKILL at
named steps (``WIKISEARCH_KILL_AT``, see ``wikisearch.fileio.kill_point``): after k finished
blocks, after k merged term ranges, before assembling and before the manifest, and at every step
of the publish. Before each run the output path holds an older index (tests/data/tiny.xml), so
"answers" means: right after the kill, ``IndexReader(out)`` opens and holds either the old index
or the new one. Then the same command runs to the end, and its files are compared byte for byte
with an uninterrupted build's.

    python benchmarks/bench_faults.py                 # ~15 minutes on 2 busy cores
    python benchmarks/bench_faults.py --points block:1,publish:swap

Writes benchmarks/results/faults.json and faults.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "wikisearch" / "data" / "sample-enwiki.xml.bz2"
OLD = ROOT / "tests" / "data" / "tiny.xml"
RESULTS = ROOT / "benchmarks" / "results"
POINTS = ([f"block:{k}" for k in (1, 2, 3, 5, 7, 9, 11, 13, 15)] +
          [f"merge:{k}" for k in (1, 2, 3, 4)] + ["merge:assemble", "merge:manifest"] +
          ["publish:generation", "publish:link", "publish:swap", "publish:cleanup", "publish:workdir"])
BUILD = ["--block-size", "32KB", "--workers", "2", "-q"]     # 15 blocks


def _env(kill_at: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("WIKISEARCH_KILL_AT", None)
    if kill_at:
        env["WIKISEARCH_KILL_AT"] = kill_at
    return env


def build(out: Path, dump: Path, kill_at: str | None = None, extra=BUILD) -> int:
    cmd = [sys.executable, "-m", "wikisearch", "index", str(dump), "-o", str(out), *extra]
    return subprocess.run(cmd, env=_env(kill_at), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def files_of(index: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(index.iterdir())}


def answers(out: Path) -> int | str:
    """The document count of the index at ``out`` after a lookup, or the error it raises."""
    code = ("import sys; from wikisearch.index.reader import IndexReader; r = IndexReader(sys.argv[1]); "
            "o = r.term_ordinal(r.term(0)); r.postings(o); r.title(r.n_docs - 1); print(r.n_docs)")
    p = subprocess.run([sys.executable, "-c", code, str(out)], env=_env(None), capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 else (p.stderr.strip().splitlines() or ["?"])[-1]


def finished_blocks(out: Path) -> int:
    blocks = out.parent / f".{out.name}.building" / "blocks"
    return sum(1 for d in blocks.iterdir() if (d / "segment.json").exists()) if blocks.is_dir() else 0


def sweep(points: list[str], work: Path) -> dict:
    ref = work / "ref"
    t0 = time.perf_counter()
    assert build(ref, SAMPLE) == 0, "the uninterrupted build failed"
    ref_secs = time.perf_counter() - t0
    reference = files_of(ref)
    n_new = answers(ref)
    old = work / "old"
    assert build(old, OLD, extra=["-q"]) == 0
    n_old = answers(old)
    rows = []
    for point in points:
        out = work / point.replace(":", "-") / "idx"
        out.parent.mkdir(parents=True)
        shutil.copytree(old.resolve(), out)            # the older index the build will replace
        rc = build(out, SAMPLE, point)
        after = answers(out)
        kept = finished_blocks(out)
        rc2 = build(out, SAMPLE)
        final = files_of(out) if rc2 == 0 else {}
        leftovers = sorted(p.name for p in out.parent.iterdir() if p.name != "idx")
        rows.append({"point": point, "killed": rc == -signal.SIGKILL, "exit": rc,
                     "answers_after_kill": after, "old_or_new": after in (n_old, n_new),
                     "blocks_kept": kept, "rerun_exit": rc2, "rerun_identical": final == reference,
                     "rerun_answers": answers(out), "leftovers": leftovers})
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(out.parent)
    return {"reference_build_s": round(ref_secs, 1), "new_docs": n_new, "old_docs": n_old, "rows": rows}


def table(result: dict) -> str:
    lines = ["# kill -9 sweep (benchmarks/bench_faults.py)", "",
             f"Build: the bundled sample (real, {result['new_docs']} articles), `{' '.join(BUILD)}`; "
             f"the output held an older index of {result['old_docs']} documents before each run. "
             f"Uninterrupted build: {result['reference_build_s']} s.", "",
             "| kill point | killed | index after kill | blocks kept | rerun | rerun bytes = uninterrupted |",
             "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        after = r["answers_after_kill"]
        what = ("old" if after == result["old_docs"] else "new" if after == result["new_docs"] else f"ERROR {after}")
        lines.append(f"| {r['point']} | {'yes' if r['killed'] else 'no (exit %s)' % r['exit']} | {what} | "
                     f"{r['blocks_kept']} | exit {r['rerun_exit']} | {'yes' if r['rerun_identical'] else 'NO'} |")
    ok = sum(r["killed"] and r["old_or_new"] and r["rerun_identical"] for r in result["rows"])
    lines += ["", f"{ok} of {len(result['rows'])} points: killed, an index answering right after, "
              "and the rerun byte-identical to the uninterrupted build."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", default=",".join(POINTS), help="comma-separated kill points")
    ap.add_argument("--out", default=str(RESULTS), help="where faults.json and faults.md go")
    args = ap.parse_args(argv)
    points = [p for p in args.points.split(",") if p]
    with tempfile.TemporaryDirectory() as tmp:
        result = sweep(points, Path(tmp))
    result["machine"] = {"python": platform.python_version(), "platform": platform.platform(),
                         "cores": os.cpu_count()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "faults.md").write_text(table(result))
    print(table(result))
    return 0 if all(r["killed"] and r["old_or_new"] and r["rerun_identical"] for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
