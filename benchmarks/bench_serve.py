"""Load test of ``wikisearch serve`` on the 30k index: a separate load-generating process, 8
concurrent clients on loopback, 30 s per endpoint, real DBpedia-Entity v2 queries.

    python benchmarks/bench_serve.py                        # 30k index (built if missing), 8 x 30 s
    python benchmarks/bench_serve.py --duration 5 --index /tmp/idx    # a quick look

The server is ``python -m wikisearch serve`` in its own process; "start to first answer" is the
wall time from starting that process to the first 200 of ``/api/suggest`` and then of
``/api/search``. The load generator is another process (``--client`` mode of this script): asyncio,
one keep-alive HTTP/1.1 connection per client, each client cycling through the queries from its
own starting point, every request timed on the client and, from the ``Server-Timing`` header, on the
server. ``/api/search`` is asked for 10 hits with snippets (``snippets=1``); ``/api/suggest`` for 10
titles of every prefix of 2+ characters of each query, as a user types it. Before the timed window
every query is asked once (warm-up). Reported: requests, errors (non-200 or broken connections),
requests/s, client and server p50/p95/p99, and the CPU time per request of the server's processes
and of the load generator (both on the same cores). ``--client-loop uvloop`` runs the same load
generator on uvloop's event loop (~0.6-0.8x the CPU per request of asyncio's, the default).
Results: ``results/serve-30k.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_INDEX = RESULTS / "tmp" / "enwiki30k-index"
DATA = Path(os.environ.get("WIKISEARCH_DATA", ROOT.parent / "shared" / "data"))
QUERIES = DATA / "judgments" / "dbpedia-entity-v2" / "queries-v2.txt"
TARGETS = {"search_p95_ms": 20.0, "suggest_p95_ms": 3.0, "req_per_s": 200.0, "start_to_first_answer_s": 1.0}


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def load_queries() -> list[str]:
    return [line.split("\t", 1)[1].strip() for line in QUERIES.read_text(encoding="utf-8").splitlines()
            if "\t" in line]


def paths_for(endpoint: str, queries: list[str]) -> list[str]:
    q = urllib.parse.quote
    if endpoint == "search":
        return [f"/api/search?q={q(x)}&limit=10&snippets=1" for x in queries]
    prefixes = [x[:n] for x in queries for n in range(2, len(x) + 1) if x[n - 1] != " "]
    return [f"/api/suggest?q={q(p)}&limit=10" for p in prefixes]


# --- the load generator (its own process) -------------------------------------------------------

async def _client(host, port, paths, start, stop_at, out):
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while time.perf_counter() < stop_at:
            path = paths[i % len(paths)]
            i += 1
            t = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, server_ms = 0, float("nan")
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"server-timing":
                    server_ms = float(value.split(b"dur=")[1].split(b",")[0])
            await reader.readexactly(length)
            out.append((time.perf_counter() - t, server_ms, status))
    finally:
        writer.close()


async def _load(host, port, paths, clients, duration, warm):
    if warm:                              # every request once, one client, untimed
        r, w = await asyncio.open_connection(host, port)
        for path in paths:
            w.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await r.readuntil(b"\r\n\r\n")
            length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length"))
            await r.readexactly(length)
        w.close()
    results: list = []
    errors = 0
    t0 = time.perf_counter()
    stop_at = t0 + duration
    step = max(1, len(paths) // clients)
    tasks = [asyncio.create_task(_client(host, port, paths, c * step, stop_at, results)) for c in range(clients)]
    for t in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(t, Exception):
            errors += 1
    wall = time.perf_counter() - t0
    return results, errors, wall


def run_client(args) -> int:
    paths = json.loads(Path(args.paths).read_text())
    load = _load("127.0.0.1", args.port, paths, args.clients, args.duration, True)
    if args.client_loop == "uvloop":              # the same client on uvloop's event loop (cheaper per request)
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            results, broken, wall = runner.run(load)
    else:
        results, broken, wall = asyncio.run(load)
    client_ms = [r[0] * 1000 for r in results]
    server_ms = [r[1] for r in results if r[1] == r[1]]
    bad = sum(1 for r in results if r[2] != 200)
    out = {"requests": len(results), "errors": bad + broken, "non_200": bad, "broken_connections": broken,
           "wall_s": wall, "req_per_s": len(results) / wall, "clients": args.clients, "duration_s": args.duration,
           "distinct_requests": len(paths)}
    for label, ms in (("client", client_ms), ("server", server_ms)):
        out[label] = {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
                      "mean_ms": statistics.fmean(ms) if ms else float("nan")}
    Path(args.out).write_text(json.dumps(out))
    return 0


# --- the driver ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(port: int, path: str, proc, t0: float, timeout: float = 120) -> float:
    import http.client
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > timeout:
            raise RuntimeError("the server did not answer")
        time.sleep(0.005)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:      # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick           # utime, stime
    return total


def server_info(port: int) -> dict:
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/api/info")
    info = json.loads(c.getresponse().read())
    c.close()
    return info


def ensure_index(index: Path) -> dict:
    if (index / "manifest.json").exists():
        return {"built": False}
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_query import CORPUS, ensure_index as build
    return build(index, CORPUS, 2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(DEFAULT_INDEX))
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=None, help="the server's --workers (threads)")
    ap.add_argument("--processes", type=int, default=1, help="the server's --processes")
    ap.add_argument("--cache-mb", type=int, default=0,
                    help="the server's --cache-mb (default 0: every request is computed; the warm-up asks "
                         "every request once, so with a cache the timed window is all repeats)")
    ap.add_argument("--endpoints", default="search,suggest")
    ap.add_argument("--out", default=str(RESULTS / "serve-30k"))
    ap.add_argument("--bytecode", action="store_true",
                    help="serve with Python's bytecode cache, as a user's install does (pip byte-compiles the "
                         "package; this environment sets PYTHONDONTWRITEBYTECODE=1, so every start compiles "
                         "wikisearch's modules from source): the package is byte-compiled first (the .pyc "
                         "files made are removed at the end)")
    ap.add_argument("--client-loop", choices=("asyncio", "uvloop"), default="asyncio",
                    help="the load generator's event loop: asyncio (default, earlier sessions' client) or "
                         "uvloop (the serve extra brings it: the same requests and timing at ~0.6-0.8x the "
                         "CPU per request, which leaves more of the shared cores to the server)")
    ap.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--paths", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.client:
        return run_client(args)
    index = Path(args.index)
    built = ensure_index(index)
    queries = load_queries()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    made_pyc: list[Path] = []
    if args.bytecode:                          # the .pyc files made here are removed at the end
        had = set((ROOT / "wikisearch").rglob("*.pyc"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "wikisearch")], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        made_pyc = sorted(set((ROOT / "wikisearch").rglob("*.pyc")) - had)
    cmd = [sys.executable, "-m", "wikisearch", "serve", "-i", str(index), "--port", str(port)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    cmd += ["--processes", str(args.processes), "--cache-mb", str(args.cache_mb)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "load_before": os.getloadavg()},
              "index": str(index), "index_built": built, "queries": len(queries), "targets": TARGETS,
              "server_cmd": " ".join(["wikisearch"] + cmd[3:]), "argv": " ".join(argv if argv is not None else sys.argv[1:]),
              "bytecode": "PYTHONDONTWRITEBYTECODE" not in env}
    try:
        result["start_to_first_suggest_s"] = first_answer(port, "/api/suggest?q=ab", proc, t0)
        result["start_to_first_search_s"] = first_answer(port, "/api/search?q=ab&snippets=1", proc, t0)
        # an index without spelling.bin: the server's builder process makes it (its CPU would count
        # as the server's, and searches get no correction meanwhile): the load starts once it is done
        t1 = time.perf_counter()
        while server_info(port).get("spelling") in ("building", "loading"):
            if proc.poll() is not None or time.perf_counter() - t1 > 900:
                raise RuntimeError("the server's spelling dictionary was not ready in time")
            time.sleep(0.5)
        result["waited_for_spelling_s"] = round(time.perf_counter() - t1, 1)
        for endpoint in args.endpoints.split(","):
            paths_file = Path(args.out + f".{endpoint}.paths.json")
            paths_file.parent.mkdir(parents=True, exist_ok=True)
            paths_file.write_text(json.dumps(paths_for(endpoint, queries)))
            out_file = Path(args.out + f".{endpoint}.tmp.json")
            cpu0 = cpu_seconds(proc.pid)
            children0 = os.times()
            subprocess.run([sys.executable, __file__, "--client", "--port", str(port), "--paths", str(paths_file),
                            "--clients", str(args.clients), "--duration", str(args.duration), "--out", str(out_file),
                            "--client-loop", args.client_loop],
                           check=True, cwd=ROOT)
            children1 = os.times()
            result[endpoint] = json.loads(out_file.read_text())
            # the load generator's own CPU per request (it shares the cores with the server)
            result[endpoint]["client_cpu_ms_per_request"] = (
                children1.children_user + children1.children_system - children0.children_user
                - children0.children_system) * 1000 / (result[endpoint]["requests"] + result[endpoint]["distinct_requests"])
            result[endpoint]["client_loop"] = args.client_loop
            result[endpoint]["load_after"] = os.getloadavg()
            # server CPU per request, warm-up pass (every distinct request once) and timed window together:
            # what a request costs whatever else runs on the machine
            result[endpoint]["server_cpu_ms_per_request"] = (cpu_seconds(proc.pid) - cpu0) * 1000 / (
                result[endpoint]["requests"] + result[endpoint]["distinct_requests"])
            result[endpoint]["server_cache"] = server_info(port).get("cache")
            paths_file.unlink()
            out_file.unlink()
    finally:
        proc.terminate()
        proc.wait(10)
        for pyc in made_pyc:                  # later runs compile from source again, as before
            pyc.unlink(missing_ok=True)
    result["machine"]["load_after"] = os.getloadavg()
    Path(args.out + ".json").write_text(json.dumps(result, indent=1))
    Path(args.out + ".md").write_text(report(result))
    print(report(result))
    return 0


def report(r: dict) -> str:
    t = r["targets"]
    lines = [f"# wikisearch serve under load ({r['index']}, {r['queries']} DBpedia-Entity queries)", "",
             f"Server: `{r['server_cmd']}`.", "",
             "| endpoint | requests | errors | req/s | client p50 / p95 / p99 ms | server p50 / p95 / p99 ms |",
             "|---|---|---|---|---|---|"]
    for ep in ("search", "suggest"):
        if ep in r:
            x = r[ep]
            c, s = x["client"], x["server"]
            lines.append(f"| /api/{ep} | {x['requests']:,} | {x['errors']} | {x['req_per_s']:.0f} | "
                         f"{c['p50_ms']:.2f} / {c['p95_ms']:.2f} / {c['p99_ms']:.2f} | "
                         f"{s['p50_ms']:.2f} / {s['p95_ms']:.2f} / {s['p99_ms']:.2f} |")
    cpu = [f"/api/{ep} {r[ep]['server_cpu_ms_per_request']:.2f} ms" for ep in ("search", "suggest")
           if "server_cpu_ms_per_request" in r.get(ep, {})]
    if cpu:
        lines += ["", "Server CPU time per request (user + system, every server process; warm-up pass and timed "
                  "window together; load-independent): " + ", ".join(cpu) + "."]
    client = [f"/api/{ep} {r[ep]['client_cpu_ms_per_request']:.2f} ms" for ep in ("search", "suggest")
              if "client_cpu_ms_per_request" in r.get(ep, {})]
    if client:
        loop = next(r[ep].get("client_loop", "asyncio") for ep in ("search", "suggest") if ep in r)
        lines += ["", f"Load generator's CPU time per request (its own process, {loop} event loop, on the same "
                  "cores): " + ", ".join(client) + "."]
    for ep in ("search", "suggest"):
        cache = r.get(ep, {}).get("server_cache")
        if cache:              # hits and misses since the server started (warm-up and timed window)
            lines.append(f"\n/api/{ep}: answer cache after the run: {cache['hits']:,} hits, {cache['misses']:,} "
                         f"misses, {cache['entries']:,} entries, {cache['bytes'] / 1e6:.1f} MB.")
    lines += ["", f"Start to first answer: suggest {r['start_to_first_suggest_s']:.2f} s, "
              f"search {r['start_to_first_search_s']:.2f} s"
              + (" (with wikisearch's bytecode compiled, as after pip install)." if r.get("bytecode")
                 else " (wikisearch's modules compiled from source at the start: PYTHONDONTWRITEBYTECODE)."
                 if "bytecode" in r else "."), "", "Targets (client-side p95):"]
    checks = []
    if "search" in r:
        checks += [("/api/search p95", r["search"]["client"]["p95_ms"], t["search_p95_ms"], "ms", "<="),
                   ("/api/search req/s", r["search"]["req_per_s"], t["req_per_s"], "", ">=")]
    if "suggest" in r:
        checks += [("/api/suggest p95", r["suggest"]["client"]["p95_ms"], t["suggest_p95_ms"], "ms", "<=")]
    checks += [("start to first answer", r["start_to_first_search_s"], t["start_to_first_answer_s"], "s", "<=")]
    for name, got, want, unit, op in checks:
        ok = got <= want if op == "<=" else got >= want
        lines.append(f"- {name}: {got:.2f} {unit} (target {op} {want:g} {unit}): {'met' if ok else 'MISSED'}")
    during = ", ".join(f"{r[ep]['load_after'][0]:.1f} after /api/{ep}" for ep in ("search", "suggest")
                       if ep in r and "load_after" in r[ep])
    clients = next((r[ep]["clients"] for ep in ("search", "suggest") if ep in r and "clients" in r[ep]), 8)
    lines += ["", f"{clients} clients and the server share this machine ({r['machine']['cpus']} CPUs; 1-minute load average "
              f"{r['machine']['load_before'][0]:.1f} before, {during}, {r['machine']['load_after'][0]:.1f} at the end; "
              "the machine is shared with other work). "
              f"Command: `python benchmarks/bench_serve.py {r.get('argv', '')}`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
