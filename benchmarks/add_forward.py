"""Give an index built before forward.bin existed one, for measuring (issue 17, session 27): the
full-scale index of earlier sessions took hours to build, and ``wikisearch index`` writes
forward.bin only in a new build.

The copy is a plain index directory beside nothing: every file of ``--index`` hard-linked into
``--out`` (no bytes copied; the source stays as it is), then ``forward.bin`` made by the build's
own tasks (``wikisearch.build.forward_range`` over ranges of documents on ``--workers``
processes, ``search.proximity.write_forward``: the bytes a build of the same index writes), then
its manifest: the source's, with forward.bin in its files and its checksum made again (priors.bin
and spelling.bin, tied to the old checksum, are not linked).

    python benchmarks/add_forward.py --index /work/big/.../wikisearch-index --out /work/big/work/full-fwd
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wikisearch.build import FORWARD_TASK_DOCS, forward_range  # noqa: E402
from wikisearch.fileio import write_json_atomic  # noqa: E402
from wikisearch.index.manifest import file_checksums, manifest_checksum  # noqa: E402
from wikisearch.index.reader import IndexReader  # noqa: E402
from wikisearch.search.proximity import FILE, write_forward  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    r = IndexReader(args.index)
    src, manifest = Path(r.path), dict(r.manifest)
    n_docs, n_terms = int(r.n_docs), int(r.n_terms)
    r.close()
    if "store.bin" not in manifest["files"]:
        raise SystemExit(f"{args.index} keeps no text: forward.bin is made from store.bin")
    if args.out.exists():
        raise SystemExit(f"{args.out} exists")
    args.out.mkdir(parents=True)
    for name in manifest["files"]:
        os.link(src / name, args.out / name)
    scratch = args.out / ".forward-parts"
    scratch.mkdir()
    jobs = [(str(args.out), manifest["analyzer"], lo, min(n_docs, lo + FORWARD_TASK_DOCS),
             str(scratch / f"forward-{i:06d}.bin")) for i, lo in enumerate(range(0, n_docs, FORWARD_TASK_DOCS))]
    t0, done = time.perf_counter(), 0
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(forward_range, *job) for job in jobs]
        sizes = []
        for f, job in zip(futures, jobs):
            sizes.append(f.result())
            done += job[3] - job[2]
            if len(sizes) % 50 == 0:
                print(f"{done:,} of {n_docs:,} documents, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    made = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)          # (the pool's processes, ended)
    write_forward(args.out / FILE, n_docs, n_terms, [(s, job[4]) for s, job in zip(sizes, jobs)])
    shutil.rmtree(scratch)
    manifest["files"] = {**manifest["files"], **file_checksums(args.out, [FILE])}
    manifest.pop("checksum", None)
    manifest["checksum"] = manifest_checksum(manifest)
    write_json_atomic(args.out / "manifest.json", manifest)
    out = {"index": str(args.out), "documents": n_docs, "workers": args.workers, "seconds": made, "worker_cpu_seconds": cpu.ru_utime + cpu.ru_stime,
           "forward_bytes": (args.out / FILE).stat().st_size, "total_seconds": time.perf_counter() - t0}
    print(json.dumps(out))
    IndexReader(args.out).close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
