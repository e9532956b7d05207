"""The title-suggestion key table (suggest.bin, #15): made by the build's step alone over an
index's docs.bin, and a Suggester opened over it, against the same Suggester making the table at
open (``suggest_arrays``: what an index without suggest.bin does at every start).

    python benchmarks/bench_suggest_table.py --index IDX --work DIR [--baseline] [--check] [--out JSON]

The index is only read: the table is written to ``DIR/suggest.bin``, and the stored-table open
runs over ``DIR/shadow`` (links to the index's files, suggest.bin, and a manifest that lists it).
Each step runs in a process of its own: wall and CPU seconds, the process's RSS after imports
and its peak (VmHWM). ``--baseline``: also open a Suggester over ``DIR/shadow-old`` (the index without suggest.bin),
which makes the table at open (minutes and GBs at full scale). ``--check``: the stored arrays against
``suggest_arrays`` (the oracle; needs the baseline's memory). ``--copies N``: the make step
alone over N copies of the index's titles and redirect titles, copy c > 1 suffixed " (copy c)"
as ``synth_corpus.py`` names them (a projection of the full-scale corpus, 54 copies of 1x).
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

import numpy as np

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
elif what == "make-docs":
    out.update(T.write_suggest_table(table, index))
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


def _with_suffix(offsets: np.ndarray, blob: np.ndarray, suffix: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Every string of a packed table with ``suffix`` appended (lengths int64, blob)."""
    lens = np.diff(offsets)
    new_lens = lens + len(suffix)
    starts = np.concatenate([[0], np.cumsum(new_lens)[:-1]])
    out = np.empty(int(new_lens.sum()), np.uint8)
    out[np.repeat(starts - offsets[:-1], lens) + np.arange(len(blob))] = blob
    for k, byte in enumerate(suffix):
        out[starts + lens + k] = byte
    return new_lens, out


def copies_docs(index: Path, copies: int, out: Path) -> Path:
    """A ``docs.bin`` holding only the title and redirect-title tables of ``copies`` copies of the
    index's documents, copy c > 1 with " (copy c)" appended to every title and redirect title
    (``synth_corpus.py``'s naming: the full-scale corpus is 54 copies of the 1x one)."""
    from wikisearch.index.container import Container, write_container
    from wikisearch.index.publish import resolve_index
    c = Container(resolve_index(index) / "docs.bin", b"DOCS")
    n = int(c.meta["n_docs"])
    cols = {}
    for off, blob in (("title_offsets", "title_blob"), ("alias_title_offsets", "alias_blob")):
        o = np.asarray(c[off], np.int64)
        b = np.asarray(c[blob])[int(o[0]):int(o[-1])]
        o = o - o[0]
        parts = [(np.diff(o), b)] + [_with_suffix(o, b, f" (copy {k})".encode()) for k in range(2, copies + 1)]
        lens = np.concatenate([p[0] for p in parts])
        cols[off] = np.concatenate([[0], np.cumsum(lens)]).astype(np.uint64)
        cols[blob] = np.concatenate([p[1] for p in parts])
        del parts, lens
    per_doc = np.diff(np.asarray(c["alias_offsets"], np.int64))
    cols["alias_offsets"] = np.concatenate([[0], np.cumsum(np.tile(per_doc, copies))]).astype(np.uint64)
    c.close()
    write_container(out, b"DOCS", cols, meta={"n_docs": n * copies})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--copies", type=int, default=0,
                    help="only the make step, over the titles and redirects of this many copies of the index's")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    table = a.work / "suggest.bin"
    res = {"index": str(a.index), "machine": platform.node(), "python": platform.python_version(),
           "load_before": os.getloadavg()}
    if a.copies:
        res["copies"] = a.copies
        docs = copies_docs(a.index, a.copies, a.work / "docs.bin")
        res["make"] = step("make-docs", docs, table)
        res["table_bytes"] = table.stat().st_size
        res["load_after"] = os.getloadavg()
        text = json.dumps(res, indent=1, ensure_ascii=False)
        print(text)
        if a.out:
            a.out.write_text(text + "\n", encoding="utf-8")
        return
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
