"""The title-suggestion key table (suggest.bin, #15): made by the build's step alone over an
index's docs.bin, and a Suggester opened over it, against the same Suggester making the table at
open (``suggest_arrays``: what an index without suggest.bin does at every start).

    python benchmarks/bench_suggest_table.py --index IDX --work DIR [--baseline] [--check] [--out JSON]

The index is only read: the table is written to ``DIR/suggest.bin``, and the stored-table open
runs over ``DIR/shadow`` (links to the index's files, suggest.bin, and a manifest that lists it).
Each step runs in a process of its own: wall and CPU seconds, the process's RSS after imports
and its peak (VmHWM). ``--baseline``: also open a Suggester over ``DIR/shadow-old`` (the index without suggest.bin),
which makes the table at open (minutes and GBs at full scale). ``--check``: the stored arrays against
``suggest_arrays`` (the oracle; needs the baseline's memory).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_STEP = r"""
import json, os, resource, sys, time
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
import numpy as np
from wikisearch.index.reader import IndexReader
from wikisearch.popularity.priors import load_priors
from wikisearch.popularity import suggest as S, suggest_table as T
what, index, table = sys.argv[1:4]
out = {"rss_before_mb": rss("VmRSS")}
t0, c0 = time.perf_counter(), time.process_time()
if what == "make":
    from wikisearch.index.publish import resolve_index
    out.update(T.write_suggest_table(table, resolve_index(index) / "docs.bin"))
elif what == "check":
    r = IndexReader(index)
    want = S.suggest_arrays(r)
    c = T.Container(table, T.KIND)
    out["equal"] = {k: bool(np.array_equal(c[k], want[k]) and c[k].dtype == want[k].dtype) for k in want}
else:                                   # open: a Suggester and its first suggestion
    r = IndexReader(index)
    s = S.Suggester(r, load_priors(r), on_slow=lambda m: out.setdefault("note", m))
    out["first"] = [str(x) for x in s.suggest("a", 10)]
    out["entries"] = int(len(s.doc))
out["wall_s"] = time.perf_counter() - t0
out["cpu_s"] = time.process_time() - c0
out["peak_rss_mb"] = rss("VmHWM")
print("RESULT " + json.dumps(out))
"""


def step(what: str, index: Path, table: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    got = subprocess.run([sys.executable, "-c", _STEP, what, str(index), str(table)], capture_output=True,
                         text=True, env=env)
    if got.returncode != 0:
        raise SystemExit(f"{what} failed:\n{got.stderr[-3000:]}")
    line = [x for x in got.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def shadow(index: Path, table: Path | None, out: Path) -> Path:
    """``out``: the index's files as links, ``table`` as suggest.bin, a manifest listing it (with
    ``table`` None: no suggest.bin, as an index built before it was stored)."""
    from wikisearch.index.manifest import file_checksums, manifest_checksum
    from wikisearch.index.publish import resolve_index
    from wikisearch.popularity.suggest_table import FILE
    src = resolve_index(index)
    out.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.name not in ("manifest.json", FILE) and p.is_file():
            link = out / p.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(p.resolve())
    link = out / FILE
    if link.is_symlink() or link.exists():
        link.unlink()
    m = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    m["files"].pop(FILE, None)
    if table is not None:
        link.symlink_to(table.resolve())
        m["files"][FILE] = file_checksums(out, [FILE])[FILE]
    m["checksum"] = manifest_checksum(m)
    (out / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    table = a.work / "suggest.bin"
    res = {"index": str(a.index), "machine": platform.node(), "python": platform.python_version(),
           "load_before": os.getloadavg()}
    res["make"] = step("make", a.index, table)
    res["table_bytes"] = table.stat().st_size
    res["open_stored"] = step("open", shadow(a.index, table, a.work / "shadow"), table)
    if a.baseline:
        res["open_made_at_open"] = step("open", shadow(a.index, None, a.work / "shadow-old"), table)
    if a.check:
        res["check"] = step("check", a.index, table)
    res["load_after"] = os.getloadavg()
    text = json.dumps(res, indent=1, ensure_ascii=False)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
