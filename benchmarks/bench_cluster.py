"""Cluster build benchmark: a 2-worker Dask LocalCluster build of the 30k corpus against the local
``--workers 2`` build (both `python -m wikisearch index` in a child process, same settings, same
bytes checked), the scheduler's overhead per task, per-block costs from the scheduler's task
stream, and from those a projection of English Wikipedia's build time on 1, 4 and 16 machines.

    python benchmarks/bench_cluster.py            # results/cluster.json and results/cluster.md

The LocalCluster (2 worker processes, 1 thread each) is started before the timed build, as a real
cluster would be running already; its start-up is reported apart. Run it niced on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_build import RESULTS, SHARED, TMP, corpus_dir, machine, run_build  # noqa: E402

#: English Wikipedia, pages-articles (2024): ~100 GB of uncompressed XML, ~6.9 M articles.
ENWIKI_XML_MB = 100_000
ENWIKI_ARTICLES = 6_900_000
CORES_PER_MACHINE = 16


def _files(index: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(index.iterdir())}


def _phases(records: list[dict]) -> dict:
    """Per task function: count, compute seconds (sum, mean), first start and last stop."""
    out: dict = {}
    for r in records:
        key = r["key"] if isinstance(r["key"], str) else str(r["key"])
        name = key.split("-", 1)[0]                 # "build_shared_block-<uuid4>"
        for ss in r["startstops"]:
            if ss["action"] != "compute":
                continue
            p = out.setdefault(name, {"tasks": 0, "compute_s": 0.0, "start": math.inf, "stop": 0.0})
            p["tasks"] += 1
            p["compute_s"] += ss["stop"] - ss["start"]
            p["start"] = min(p["start"], ss["start"])
            p["stop"] = max(p["stop"], ss["stop"])
    for p in out.values():
        p["mean_s"] = p["compute_s"] / p["tasks"]
        p["span_s"] = p["stop"] - p["start"]
    return out


def _noop(x=None):
    return x


def task_overhead(client, n: int = 200) -> dict:
    """Seconds per no-op task: one at a time (submit -> result round trip) and n in flight."""
    client.submit(_noop, pure=False).result()
    t0 = time.perf_counter()
    for _ in range(n):
        client.submit(_noop, pure=False).result()
    serial = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    client.gather([client.submit(_noop, i, pure=False) for i in range(n)])
    bulk = (time.perf_counter() - t0) / n
    return {"round_trip_s": serial, "in_flight_s": bulk}


def cluster_build(client, files, out: Path, memory: str, extra) -> tuple[dict, dict]:
    address = client.scheduler.address
    client.get_task_stream(start=time.time())         # registers the scheduler's task stream
    t0 = time.time()
    r = run_build(files, out, 2, memory, (*extra, "--scheduler", address))
    return r, _phases(client.get_task_stream(start=t0))


def projection(xml_s_per_mb: float, overhead_s: float, block_mb: float, merge_s_per_index_mb: float,
               index_ratio: float, serial_s_per_doc: float) -> list[dict]:
    """English Wikipedia's build on m machines of CORES_PER_MACHINE worker threads each."""
    n_blocks = math.ceil(ENWIKI_XML_MB / block_mb)
    block_task = block_mb * xml_s_per_mb + overhead_s
    merge_total = ENWIKI_XML_MB * index_ratio * merge_s_per_index_mb
    serial = ENWIKI_ARTICLES * serial_s_per_doc
    rows = []
    for m in (1, 4, 16):
        slots = m * CORES_PER_MACHINE
        blocks = math.ceil(n_blocks / slots) * block_task
        merge = merge_total / slots + overhead_s * 2
        rows.append({"machines": m, "worker_threads": slots, "blocks": n_blocks, "block_phase_s": blocks,
                     "merge_phase_s": merge, "serial_s": serial, "total_s": blocks + merge + serial})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--memory", default="2GB")
    ap.add_argument("--out", default=str(RESULTS / "cluster.json"))
    ap.add_argument("--report-only", action="store_true",
                    help="no builds: the projection and markdown again from the figures in --out")
    args = ap.parse_args(argv)
    if args.report_only:
        return report(json.loads(Path(args.out).read_text()), args.out)
    import distributed
    extra = ("--no-store",)
    files, nbytes, info = corpus_dir(1)
    for p in files:                                   # the page cache warm for both builds
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    t0 = time.perf_counter()
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40)
    client = distributed.Client(lc)
    startup = time.perf_counter() - t0
    try:
        overhead = task_overhead(client)
        local = run_build(files, TMP / "cluster-bench-local", 2, args.memory, extra)
        remote, phases = cluster_build(client, files, TMP / "cluster-bench-dask", args.memory, extra)
        same = _files(TMP / "cluster-bench-local") == _files(TMP / "cluster-bench-dask")
        # real XML (wikitext parsing: the cost that matters for Wikipedia), small blocks
        xml = sorted((SHARED / "enwiki-xml").glob("*.bz2"))
        xml_r, xml_phases = cluster_build(client, xml, TMP / "cluster-bench-xml", args.memory,
                                          (*extra, "--block-size", "1MB"))
    finally:
        client.close()
        lc.close()
    raw = {"local": local, "cluster": remote, "phases": phases, "xml": xml_r, "xml_phases": xml_phases,
           "noop": overhead, "startup_s": startup, "same_bytes": same}
    (TMP / "cluster-bench.raw.json").write_text(json.dumps(raw, indent=1, default=str))  # (if the report fails)
    from bench_build import uncompressed_bytes
    per_block = (remote["wall_s"] - local["wall_s"]) / phases["build_shared_block"]["tasks"]
    result = {
        "machine": machine(), "memory": args.memory, "corpus": "enwiki-text 30k x1",
        "input_mb": nbytes / 1e6, "sha256": info["checksum"]["sha256"],
        "cluster_startup_s": startup, "local_wall_s": local["wall_s"], "cluster_wall_s": remote["wall_s"],
        "ratio_cluster_over_local": remote["wall_s"] / local["wall_s"], "same_bytes": same,
        "noop_task": overhead, "wall_difference_per_block_s": per_block,
        "phases_30k": phases, "xml": {"files": [p.name for p in xml], "input_mb": uncompressed_bytes(xml) / 1e6,
                                      "wall_s": xml_r["wall_s"], "phases": xml_phases},
        "documents": local["documents"], "index_mb": local["index_mb"],
    }
    return report(result, args.out)


_CPU_COSTS = ("xml_s_per_mb", "overhead_s", "merge_s_per_index_mb", "serial_s_per_doc")


def report(result: dict, out: str) -> int:
    """Projection and markdown from the measured figures (``--report-only``: from cluster.json)."""
    phases = result["phases_30k"]
    blk, mrg = phases["build_shared_block"], phases["merge_range"]
    xblk = result["xml"]["phases"]["build_shared_block"]
    serial = result["cluster_wall_s"] - blk["span_s"] - mrg["span_s"]
    xml_s_per_mb = xblk["compute_s"] / result["xml"]["input_mb"]
    costs = dict(xml_s_per_mb=xml_s_per_mb, overhead_s=result["noop_task"]["round_trip_s"], block_mb=154.0,
                 merge_s_per_index_mb=mrg["compute_s"] / result["index_mb"],
                 index_ratio=result["index_mb"] / result["input_mb"],
                 serial_s_per_doc=max(serial, 0.0) / result["documents"])
    # the CPU share this run had: its local build against the same build on a quieter machine
    slowdown, ref = None, RESULTS / "build-scale.json"
    if ref.exists():
        rows = [r for r in json.loads(ref.read_text())["rows"] if r["corpus"] == result["corpus"]]
        if rows:
            slowdown = result["local_wall_s"] / rows[0]["wall_s"]
    result["projection"] = {
        "assumptions": {"enwiki_xml_mb": ENWIKI_XML_MB, "articles": ENWIKI_ARTICLES,
                        "cores_per_machine": CORES_PER_MACHINE, **costs},
        "slowdown_vs_build_scale_run": slowdown,
        "rows": projection(**costs),
        "rows_load_corrected": (projection(**{k: (v / slowdown if k in _CPU_COSTS else v)
                                              for k, v in costs.items()}) if slowdown else None)}
    Path(out).write_text(json.dumps(result, indent=1))
    md = _markdown(result, blk, mrg, xblk, serial)
    Path(out).with_suffix(".md").write_text(md)
    print(md)
    return 0


def _markdown(r: dict, blk: dict, mrg: dict, xblk: dict, serial: float) -> str:
    m = r["machine"]
    lines = [
        "# Cluster build benchmark (`bench_cluster.py`)", "",
        f"{m['cores']} cores, load average {m['load_avg'][0]:.2f} (a shared machine); corpus "
        f"{r['corpus']} ({r['input_mb']:.0f} MB, {r['documents']:,} documents), --memory {r['memory']}, "
        "no stored text.", "",
        "| build | wall s | ratio |", "|---|---|---|",
        f"| local `--workers 2` | {r['local_wall_s']:.1f} | 1.00 |",
        f"| Dask LocalCluster, 2 worker processes | {r['cluster_wall_s']:.1f} | "
        f"{r['ratio_cluster_over_local']:.2f} |", "",
        f"Same index bytes: {r['same_bytes']}. Cluster start-up (not in the wall time): "
        f"{r['cluster_startup_s']:.1f} s.", "",
        "## Task overhead", "",
        f"- no-op task, submit -> result one at a time: {r['noop_task']['round_trip_s'] * 1e3:.1f} ms; "
        f"{r['noop_task']['in_flight_s'] * 1e3:.2f} ms each with 200 in flight",
        f"- wall-time difference cluster - local, per block task: {r['wall_difference_per_block_s']:.2f} s "
        f"({blk['tasks']} blocks)",
        f"- 30k blocks: {blk['tasks']} tasks, {blk['mean_s']:.1f} s compute each "
        f"({blk['compute_s'] / r['input_mb'] * 1e3:.1f} ms per MB); merge: {mrg['tasks']} ranges, "
        f"{mrg['compute_s']:.1f} s compute in all; serial part on the client (links, document table, "
        f"block maxima, publish): {serial:.1f} s",
        f"- real XML ({', '.join(r['xml']['files'])}; {r['xml']['input_mb']:.1f} MB, 1 MB blocks): "
        f"{xblk['tasks']} block tasks, {xblk['compute_s'] / r['xml']['input_mb'] * 1e3:.0f} ms of compute "
        "per MB of XML (wikitext parsing)", "",
        "## Projection: English Wikipedia", "",
    ]
    a = r["projection"]["assumptions"]
    slow = r["projection"]["slowdown_vs_build_scale_run"]
    lines += [
        f"Assumed: {a['enwiki_xml_mb'] / 1000:.0f} GB of uncompressed XML on shared storage (workers "
        f"read their blocks' byte ranges), {a['articles'] / 1e6:.1f} M articles, {a['cores_per_machine']} "
        f"worker threads (processes) per machine, {a['block_mb']:.0f} MB blocks (--memory 2GB per worker), "
        f"the per-MB block cost of the real XML above ({a['xml_s_per_mb'] * 1e3:.0f} ms/MB), a no-op "
        f"task's round trip per task ({a['overhead_s'] * 1e3:.0f} ms), the merge's compute per index MB "
        f"and the client's serial part per document from the 30k run, scaled to English Wikipedia. "
        "Not modelled: storage bandwidth (100 GB at 1 GB/s is 100 s), and a compressed dump (the client "
        "would decompress it: give the cluster plain XML). The serial part (redirects, in-links, "
        "document table, block maxima on the client) is assumed linear in documents; it does not "
        "shrink with machines and dominates at 16.", ""]
    for title, key in (("as measured in this run", "rows"), ("load-corrected", "rows_load_corrected")):
        rows = r["projection"][key]
        if not rows:
            continue
        if key == "rows_load_corrected":
            lines += [f"Load-corrected: this run's local build took {slow:.1f}x as long as the same "
                      "build in results/build-scale.md (load average 2.5), so every measured cost "
                      f"above is divided by {slow:.1f} (CPU share, an approximation).", ""]
        lines += [f"**{title}**", "",
                  "| machines | worker threads | blocks | block phase | merge | serial (client) | total |",
                  "|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row['machines']} | {row['worker_threads']} | {row['blocks']} | "
                         f"{row['block_phase_s'] / 60:.1f} min | {row['merge_phase_s'] / 60:.1f} min | "
                         f"{row['serial_s'] / 60:.1f} min | {row['total_s'] / 3600:.2f} h |")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
