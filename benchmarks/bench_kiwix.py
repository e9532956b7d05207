"""wikisearch side by side with Kiwix's engine on the same 30,729 real articles (30k corpus).

    python benchmarks/bench_kiwix.py                 # build both (cached), measure, write results
    python benchmarks/bench_kiwix.py --limit-queries 50

Kiwix: a ZIM file written with ``libzim`` (PyPI; Xapian full-text index, ``config_indexing(True,
"eng")``, 2 workers), one HTML item per article (title as <h1>, the text's paragraphs as <p>),
searched with ``libzim.search.Searcher`` and completed with ``libzim.suggestion.SuggestionSearcher``
in this process; and, when Debian's ``kiwix-serve`` is installed, the same ZIM over HTTP
(``/search?format=xml``: results with snippets, which the Python binding does not expose;
``/suggest``). wikisearch: ``build_index(..., workers=2)`` of the same files (text stored, as the
ZIM stores it), ``Searcher.search``/``suggest`` in process, and ``wikisearch serve`` over HTTP.

Measured for each: build time, bytes on disk, search p50/p95 (k=10, each query once warm, then
``--repeats`` timed passes), suggest p50/p95 (every prefix of 2+ characters of each query, as typed),
nDCG@10 / MRR@10 on DBpedia-Entity v2 (the queries with a relevant article in the corpus; ZIM
paths are mapped back to page ids through their titles). Results: ``results/kiwix-30k.json``/``.md``.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import CorpusSpec, iter_real_docs, load_judgments  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
WORK = RESULTS / "tmp" / "kiwix"


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "mean_ms": statistics.fmean(ms), "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99)}


def zim_path(title: str) -> str:
    return title.replace(" ", "_")


def article_html(title: str, text: str) -> bytes:
    paras = "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n") if p.strip())
    t = html.escape(title)
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>"
            f"<body><h1>{t}</h1>\n{paras}</body></html>").encode("utf-8")


def build_zim(path: Path, spec: CorpusSpec, workers: int) -> dict:
    from libzim.writer import Creator, Hint, Item, StringProvider

    class Article(Item):
        def __init__(self, doc):
            super().__init__()
            self.doc = doc

        def get_path(self):
            return zim_path(self.doc.title)

        def get_title(self):
            return self.doc.title

        def get_mimetype(self):
            return "text/html"

        def get_contentprovider(self):
            return StringProvider(article_html(self.doc.title, self.doc.text))

        def get_hints(self):
            return {Hint.FRONT_ARTICLE: True}

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    t0, c0 = time.perf_counter(), cpu_seconds()
    seen, dup = set(), 0
    with Creator(str(path)).config_indexing(True, "eng").config_nbworkers(workers) as creator:
        for _part, doc in iter_real_docs(spec):
            p = zim_path(doc.title)
            if p in seen:
                dup += 1
                continue
            seen.add(p)
            creator.add_item(Article(doc))
        creator.set_mainpath(zim_path("Anarchism"))
        for k, v in {"Name": "wikisearch_30k", "Title": "enwiki 30k (2015)", "Language": "eng",
                     "Creator": "Wikipedia", "Publisher": "wikisearch benchmarks", "Date": "2015-04-01",
                     "Description": "30,729 English Wikipedia articles"}.items():
            creator.add_metadata(k, v)
    return {"build_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0,
            "bytes": path.stat().st_size, "articles": len(seen),
            "duplicate_titles_skipped": dup}


def cpu_seconds() -> float:
    """CPU of this process (libzim's writer threads included) and of its waited-for children
    (wikisearch's build workers): on a shared machine the build's wall time says little."""
    import resource
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def index_files(index: Path) -> dict:
    """Bytes of each file of the index (the directory the symlink names)."""
    return {p.name: p.stat().st_size for p in sorted(Path(index).resolve().iterdir()) if p.is_file()}


def build_wikisearch(index: Path, spec: CorpusSpec, workers: int) -> dict:
    from wikisearch.build import build_index
    from wikisearch.index.publish import remove_index
    remove_index(index)
    t0, c0 = time.perf_counter(), cpu_seconds()
    build_index([str(p) for p in spec.input_files()], index, workers=workers, progress=False)
    return {"build_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0,
            "bytes": sum(p.stat().st_size for p in index.iterdir() if p.is_file())}


def prefixes(queries: list[str]) -> list[str]:
    return [q[:n] for q in queries for n in range(2, len(q) + 1) if q[n - 1] != " "]


def timed(fn, items, repeats: int):
    for it in items:                    # warm: pages in cache, kernels loaded
        fn(it)
    times = []
    for _ in range(repeats):
        for it in items:
            t = time.perf_counter()
            fn(it)
            times.append(time.perf_counter() - t)
    return times


def ndcg(runs: dict[str, list[int]], qrels: dict) -> dict:
    import ir_measures
    run = {q: {str(pid): 1000.0 - i for i, pid in enumerate(pids)} for q, pids in runs.items() if pids}
    out = {}
    for name in ("nDCG@10", "RR@10"):
        m = ir_measures.parse_measure(name)
        per = {q: 0.0 for q in qrels}
        for x in ir_measures.iter_calc([m], qrels, run):
            per[x.query_id] = float(x.value)
        out[name] = statistics.fmean(per.values())
    return out


def libzim_side(zim: Path, queries: dict, qrels: dict, title_to_ids: dict, repeats: int) -> dict:
    from libzim.reader import Archive
    from libzim.search import Query, Searcher
    from libzim.suggestion import SuggestionSearcher
    archive = Archive(str(zim))
    searcher, suggester = Searcher(archive), SuggestionSearcher(archive)

    def search(q):
        return list(searcher.search(Query().set_query(q)).getResults(0, 10))

    def suggest(p):
        return list(suggester.suggest(p).getResults(0, 10))

    texts = list(queries.values())
    out = {"search": summary_ms(timed(search, texts, repeats)),
           "suggest": summary_ms(timed(suggest, prefixes(texts), 1))}
    runs = {}
    for qid, q in queries.items():
        pids = []
        for path in search(q):
            title = archive.get_entry_by_path(path).title
            pids.extend(title_to_ids.get(title, [])[:1])
        runs[qid] = pids
    out["quality"] = ndcg(runs, qrels)
    return out


def wikisearch_side(index: Path, queries: dict, qrels: dict, repeats: int, snippets: bool) -> dict:
    from wikisearch.search.searcher import Searcher
    s = Searcher(index)
    s.warmup()
    kw = {"snippets": True} if snippets else {}

    def search(q):
        try:
            return s.search(q, k=10, **kw)
        except Exception:               # a query the parser refuses counts as empty, as for libzim
            return []

    texts = list(queries.values())
    out = {"search": summary_ms(timed(search, texts, repeats)),
           "suggest": summary_ms(timed(lambda p: s.suggest(p, 10), prefixes(texts), 1)),
           "snippets": snippets}
    out["quality"] = ndcg({qid: [h.page_id for h in search(q)] for qid, q in queries.items()}, qrels)
    return out


def http_side(base: str, search_path, suggest_path, queries: list[str]) -> dict:
    """Sequential requests over one keep-alive connection: p50/p95 per endpoint."""
    import http.client
    u = urllib.parse.urlsplit(base)
    # a generous timeout (it was 30 s): before session 10, wikisearch's first corrected query on an
    # index without spelling.bin built it (~20 s of CPU for 30k articles) in the request; the server
    # now builds it in a process of its own, and serve_both waits for it (wait_spelling)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=180)

    def get(path):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{path}: HTTP {r.status} {body[:200]!r}")
        return body

    out = {}
    for name, make, items in (("search", search_path, queries), ("suggest", suggest_path, prefixes(queries))):
        out[name] = summary_ms(timed(lambda x: get(make(x)), items, 1))
    conn.close()
    return out


def wait_http(url: str, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} did not answer")
            time.sleep(0.1)


def wait_spelling(base: str, timeout: float = 900) -> float:
    """Wait until ``wikisearch serve`` has its spelling dictionary (on an index without
    spelling.bin its builder process makes it, and until then searches get no correction): the
    timed passes measure the server as it then answers, not beside its builder. Seconds waited."""
    t0 = time.monotonic()
    while json.loads(urllib.request.urlopen(base + "/api/info", timeout=30).read()).get("spelling") \
            in ("building", "loading"):
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("the server's spelling dictionary was not ready in time")
        time.sleep(0.5)
    return time.monotonic() - t0


def serve_both(zim: Path, index: Path, queries: list[str], snippets_param: str) -> dict:
    import shutil
    q = urllib.parse.quote
    out = {}
    if shutil.which("kiwix-serve"):
        version = subprocess.run(["kiwix-serve", "--version"], capture_output=True, text=True).stdout.split()
        proc = subprocess.Popen(["kiwix-serve", "--address", "127.0.0.1", "--port", "18391", str(zim)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = "http://127.0.0.1:18391"
            wait_http(base + "/", proc)
            book = zim.stem
            out["kiwix-serve"] = http_side(
                base, lambda x: f"/search?content={book}&pattern={q(x)}&pageLength=10&format=xml",
                lambda x: f"/suggest?content={book}&term={q(x)}&count=10", queries)
            out["kiwix-serve"]["version"] = " ".join(version[:2])
        finally:
            proc.terminate()
            proc.wait(10)
    else:
        out["kiwix-serve"] = {"skipped": "kiwix-serve not installed (apt-get install kiwix-tools)"}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # no answer cache: the timed pass repeats the warm pass's requests, and a cache would answer them
    # from memory (kiwix-serve keeps only a few recent searches, KIWIX_SEARCH_CACHE_SIZE: with 276
    # queries between repeats none of them hits it)
    proc = subprocess.Popen([sys.executable, "-m", "wikisearch", "serve", "-i", str(index), "--port", "18392",
                             "--cache-mb", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        base = "http://127.0.0.1:18392"
        wait_http(base + "/api/info", proc)
        waited = wait_spelling(base)
        out["wikisearch-serve"] = http_side(
            base, lambda x: f"/api/search?q={q(x)}&limit=10{snippets_param}",
            lambda x: f"/api/suggest?q={q(x)}&limit=10", queries)
        out["wikisearch-serve"]["waited_for_spelling_s"] = round(waited, 1)
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default=str(WORK))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit-queries", type=int, default=None)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--no-snippets", action="store_true", help="wikisearch without snippets (before #15)")
    args = ap.parse_args(argv)
    spec = CorpusSpec()
    work = Path(args.work)
    zim, index = work / "wikisearch_30k.zim", work / "wikisearch-index"
    builds = {}
    for name, path, make in (("zim", zim, lambda: build_zim(zim, spec, args.workers)),
                             ("wikisearch", index / "manifest.json",
                              lambda: build_wikisearch(index, spec, args.workers))):
        record = work / f"builds-{name}.json"          # build time and bytes, kept with the build
        if args.rebuild or not record.exists() or not path.exists():
            print(f"building {name} ...", file=sys.stderr)
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(make()))
        builds[name] = json.loads(record.read_text())
    title_to_ids: dict = {}
    for _part, doc in iter_real_docs(spec):
        title_to_ids.setdefault(doc.title, []).append(doc.page_id)
    queries, qrels = load_judgments(title_to_ids)
    if args.limit_queries:
        queries = dict(list(queries.items())[:args.limit_queries])
        qrels = {q: qrels[q] for q in queries}
    snippets = not args.no_snippets
    result = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count()},
        "corpus": spec.tag, "queries": len(queries), "builds": builds,
        "libzim": libzim_side(zim, queries, qrels, title_to_ids, args.repeats),
        "wikisearch": wikisearch_side(index, queries, qrels, args.repeats, snippets),
        "http": serve_both(zim, index, list(queries.values()), "&snippets=1" if snippets else ""),
    }
    # the server corrects queries (did-you-mean), which writes spelling.bin into the index on its
    # first correction: the bytes the index takes once it has served, file by file
    result["builds"]["wikisearch"]["files_after_run"] = index_files(index)
    import libzim
    result["versions"] = {"libzim": getattr(libzim, "__version__", None) or _pkg_version("libzim")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kiwix-30k.json").write_text(json.dumps(result, indent=1))
    (RESULTS / "kiwix-30k.md").write_text(report(result))
    print(report(result))
    return 0


def _pkg_version(name: str) -> str:
    from importlib.metadata import version
    return version(name)


def report(r: dict) -> str:
    b, z, w, h = r["builds"], r["libzim"], r["wikisearch"], r["http"]
    ks = h.get("kiwix-serve", {})
    ws = h["wikisearch-serve"]

    def cell(d, key):
        return f"{d[key]['p50_ms']:.2f} / {d[key]['p95_ms']:.2f}" if key in d else "n/a"

    rows = [
        ("build time (s), 2 workers", f"{b['wikisearch']['build_s']:.0f}", f"{b['zim']['build_s']:.0f}"),
        ("build CPU (s)", *(f"{b[k]['cpu_s']:.0f}" if "cpu_s" in b[k] else "n/a" for k in ("wikisearch", "zim"))),
        ("bytes on disk (MB)", f"{b['wikisearch']['bytes'] / 1e6:.1f}", f"{b['zim']['bytes'] / 1e6:.1f}"),
        ("bytes on disk after serving (MB; spelling.bin included)",
         f"{sum(b['wikisearch']['files_after_run'].values()) / 1e6:.1f}" if "files_after_run" in b["wikisearch"]
         else "n/a", f"{b['zim']['bytes'] / 1e6:.1f}"),
        ("search p50 / p95 ms, in process (k=10)" + (", wikisearch with snippets" if w["snippets"] else ""),
         cell(w, "search"), cell(z, "search") + " (no snippets: the binding has none)"),
        ("suggest p50 / p95 ms, in process", cell(w, "suggest"), cell(z, "suggest")),
        ("search p50 / p95 ms over HTTP, with snippets", cell(ws, "search"), cell(ks, "search")),
        ("suggest p50 / p95 ms over HTTP", cell(ws, "suggest"), cell(ks, "suggest")),
        ("nDCG@10 (DBpedia-Entity v2)", f"{w['quality']['nDCG@10']:.4f}", f"{z['quality']['nDCG@10']:.4f}"),
        ("MRR@10", f"{w['quality']['RR@10']:.4f}", f"{z['quality']['RR@10']:.4f}"),
    ]
    out = [f"# wikisearch vs Kiwix (libzim {r['versions']['libzim']}"
           f"{', kiwix-serve ' + ks['version'] if 'version' in ks else ''}) on {r['corpus']}, "
           f"{r['queries']} queries", "", "| | wikisearch | Kiwix |", "|---|---|---|"]
    out += [f"| {a} | {x} | {y} |" for a, x, y in rows]
    out += ["", f"Machine: {r['machine']['platform']}, {r['machine']['cpus']} CPUs (shared). "
            "Command: `python benchmarks/bench_kiwix.py`."]
    if "skipped" in ks:
        out.append(f"kiwix-serve: {ks['skipped']}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
