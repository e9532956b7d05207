"""One measured phase of one engine, in a process of its own (so its peak RSS is its own).

    python -m peers.child probe|build|cold|query JOB.json RESULT.json

run with ``benchmarks/`` on PYTHONPATH. JOB.json says which engine (runner module and options),
where the corpus, index, queries and run files are; RESULT.json receives what the phase measured.
``cold`` also prints ``READY`` on stdout the moment its first result is in, for the parent's clock.
"""
from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

T_START = time.perf_counter()


class TimedDocs:
    """Wraps the document iterator, adding up the time spent reading and parsing documents."""

    def __init__(self, docs):
        self._docs = iter(docs)
        self.seconds = 0.0
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        t = time.perf_counter()
        try:
            doc = next(self._docs)
        finally:
            self.seconds += time.perf_counter() - t
        self.count += 1
        return doc


class BuildContext:
    """What a runner's ``build`` gets: the documents, their files, where to write, a lap timer."""

    def __init__(self, job: dict):
        from corpus import corpus_files, iter_docs

        self.opts = job["opts"]
        self.threads = int(job["threads"])
        self.index_dir = Path(job["index_dir"])
        self.files = corpus_files(Path(job["corpus_dir"]))
        self.docs = TimedDocs(iter_docs(Path(job["corpus_dir"])))
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._t, 4)
        self._t = now


def _runner(job: dict):
    t = time.perf_counter()
    mod = importlib.import_module(job["module"])
    mod.check(job["opts"])
    return mod, time.perf_counter() - t


def phase_probe(job: dict) -> dict:
    mod, import_s = _runner(job)
    return {"import_s": import_s}


def phase_build(job: dict) -> dict:
    mod, import_s = _runner(job)
    ctx = BuildContext(job)
    t = time.perf_counter()
    extra = mod.build(ctx) or {}
    build_s = time.perf_counter() - t
    return {"build_s": build_s, "read_s": ctx.docs.seconds, "docs_read": ctx.docs.count,
            "laps": ctx.laps, "import_s": import_s, "extra": extra}


def phase_cold(job: dict) -> dict:
    mod, import_s = _runner(job)
    t = time.perf_counter()
    searcher = mod.open_index(Path(job["index_dir"]), job["opts"])
    open_s = time.perf_counter() - t
    query = json.loads(Path(job["queries"]).read_text())[0][1]
    t = time.perf_counter()
    hits = searcher.search(query, 10)
    first_query_s = time.perf_counter() - t
    print("READY", flush=True)
    return {"import_s": import_s, "open_s": open_s, "first_query_s": first_query_s,
            "in_process_s": time.perf_counter() - T_START, "first_hits": len(hits)}


def _write_run(path: Path, name: str, runs: dict[str, list[tuple[int, float]]]) -> None:
    with open(path, "w") as f:
        for qid, hits in runs.items():
            for rank, (pid, score) in enumerate(hits, 1):
                f.write(f"{qid} Q0 {pid} {rank} {score:.6f} {name}\n")


def phase_query(job: dict) -> dict:
    """Open; first sight: the even-numbered queries once (warm-up, k=10), then each odd-numbered
    query timed once at k=10, as a live search box sees most queries; then one pass at k=100 (the
    run file) and timed passes of every query at k=10 (repeated queries)."""
    mod, import_s = _runner(job)
    queries = json.loads(Path(job["queries"]).read_text())
    t = time.perf_counter()
    searcher = mod.open_index(Path(job["index_dir"]), job["opts"])
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    runs = {queries[0][0]: searcher.search(queries[0][1], job["run_depth"])}
    first_query_s = time.perf_counter() - t
    for _qid, text in queries[2::2]:
        searcher.search(text, job["k"])
    first_sight = []
    for _qid, text in queries[1::2]:
        t = time.perf_counter()
        searcher.search(text, job["k"])
        first_sight.append((time.perf_counter() - t) * 1000)
    for qid, text in queries[1:]:
        runs[qid] = searcher.search(text, job["run_depth"])
    _write_run(Path(job["run_file"]), job["engine"], runs)
    per_query = [[] for _ in queries]
    for _ in range(job["repeats"]):
        for i, (_, text) in enumerate(queries):
            t = time.perf_counter()
            searcher.search(text, job["k"])
            per_query[i].append(time.perf_counter() - t)
    grid = {}
    for value in job["opts"].get("grid", []):
        opts = dict(job["opts"], title_boost=value)
        variant = mod.open_index(Path(job["index_dir"]), opts)
        name = f"{job['engine']}@title^{value:g}"
        path = Path(job["run_file"]).with_name(f"{name}.trec")
        _write_run(path, name, {q: variant.search(text, job["run_depth"]) for q, text in queries})
        grid[name] = str(path)
    return {"import_s": import_s, "open_s": open_s, "first_query_s": first_query_s,
            "latencies_ms": [statistics.median(v) * 1000 for v in per_query],
            "first_sight_ms": first_sight,
            "empty_results": sum(1 for h in runs.values() if not h), "grid_runs": grid}


PHASES = {"probe": phase_probe, "build": phase_build, "cold": phase_cold, "query": phase_query}


def vm_hwm_mb() -> float | None:
    """This process's own peak resident set (``VmHWM``), or None where /proc has none.

    Not ``ru_maxrss``: Linux carries a process's peak across exec, so a child's ``ru_maxrss`` is at
    least what its parent held when it forked (the harness's own size), while ``VmHWM`` belongs to
    the address space exec made."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main(argv: list[str]) -> int:
    phase, job_path, result_path = argv
    job = json.loads(Path(job_path).read_text())
    result = PHASES[phase](job)
    result["vm_hwm_mb"] = vm_hwm_mb()
    Path(result_path).write_text(json.dumps(result))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: freeing a large in-memory index can take seconds nobody waits for.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
