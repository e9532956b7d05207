"""Ingest throughput per core: dump -> parse -> analyze on every real XML sample, side by side
with mwparserfromhell's full parse measured in the same run.

    python benchmarks/bench_ingest.py                     # warm-up, then median of 3 passes
    python benchmarks/bench_ingest.py --repeats 1 --limit-files 2      # quick look
    python benchmarks/bench_ingest.py --with-reference    # also wikisearch's mwparserfromhell oracle

One process, one thread: the figures are per core. Every input is decompressed and cut into
blocks once, before timing (``build`` decompresses on its own thread); a pass then runs what a
build worker runs on each block, for each pipeline:

- wikisearch: ``pages_from_block`` -> ``parse_wikitext`` -> ``field_texts`` -> ``analyze_texts``;
- mwparserfromhell: ``pages_from_block`` -> ``mwparserfromhell.parse`` + walking every template's
  name and parameters + ``strip_code`` -> ``analyze_texts`` (title and stripped text).

Articles (namespace 0, not redirects) are parsed and analyzed; every page is read. Throughput is
MB (10^6 bytes) of uncompressed XML per second of the pipeline, and MB of article wikitext (UTF-8)
per second of the parse step alone. Results: ``benchmarks/results/ingest.json`` and ``ingest.md``
(machine, versions, corpus sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("WIKISEARCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
BLOCK_BYTES = 256 << 20        # BuildConfig's cap: every sample is one block, as in a build


def corpus_files() -> list[Path]:
    return (sorted((DATA / "enwiki-xml").glob("*")) + sorted((DATA / "otherwiki-xml").glob("*")))


def corpus_checksum(files: list[Path]) -> tuple[str, dict]:
    """sha256 over the files' sha256 (from shared/data/MANIFEST.tsv, else hashed here)."""
    known = {}
    manifest = DATA / "MANIFEST.tsv"
    if manifest.exists():
        for line in manifest.read_text().splitlines()[1:]:
            parts = line.split("\t")
            known[Path(parts[0]).name] = parts[-1]
    each = {f.name: known.get(f.name) or hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    h = hashlib.sha256("".join(f"{name} {d}\n" for name, d in each.items()).encode())
    return h.hexdigest(), each


def load(files: list[Path]) -> list[dict]:
    """Decompress and cut each file into blocks (untimed by the passes; reported apart)."""
    from wikisearch.analysis.analyzer import Analyzer
    from wikisearch.ingest.dump import Dump

    out = []
    for f in files:
        t = time.perf_counter()
        with Dump(f) as dump:
            blocks = list(dump.blocks(BLOCK_BYTES))
            site, fmt = dump.siteinfo, dump.format
        out.append({"name": f.name, "site": site, "format": fmt, "blocks": blocks,
                    "xml_bytes": sum(len(data) for _, data in blocks),
                    "decompress_s": time.perf_counter() - t,
                    "analyzer": Analyzer.for_language(site.lang)})
    return out


def _articles(data, block, site, fmt):
    from wikisearch.ingest.dump import pages_from_block

    for page in pages_from_block(data, block, site, fmt):
        if page.ns == 0 and not page.redirect:
            yield page


def wikisearch_pass(corpus: list[dict], parser) -> dict:
    """One pass of the build worker's read -> parse -> analyze; parse time measured apart."""
    from wikisearch.ingest.parse import field_texts
    return _pass(corpus, parser, lambda fields: field_texts(fields).values())


def _pass(corpus: list[dict], parse, texts_of=lambda out: out) -> dict:
    """Read -> ``parse(text, title, site)`` (timed apart) -> ``texts_of`` -> analyze."""
    parse_s = wikitext = 0
    t0 = time.perf_counter()
    for item in corpus:
        for block, data in item["blocks"]:
            texts = []
            for page in _articles(data, block, item["site"], item["format"]):
                t = time.perf_counter()
                parsed = parse(page.text, page.title, item["site"])
                parse_s += time.perf_counter() - t
                wikitext += len(page.text.encode("utf-8"))
                texts.extend(texts_of(parsed))
            item["analyzer"].analyze_texts(texts)
    return {"total_s": time.perf_counter() - t0, "parse_s": parse_s, "wikitext_bytes": wikitext}


def mwparserfromhell_parse(text: str, title: str, site) -> list[str]:
    """mwparserfromhell's full parse: the tree, every template's name and parameters (what an
    infobox extractor reads), and the stripped text."""
    import mwparserfromhell

    code = mwparserfromhell.parse(text)
    for template in code.filter_templates():
        str(template.name)
        for param in template.params:
            str(param.name)
            str(param.value)
    return [title, code.strip_code()]


def mwparserfromhell_pass(corpus: list[dict]) -> dict:
    return _pass(corpus, mwparserfromhell_parse)


def measure(runs: dict, corpus: list[dict], repeats: int) -> dict:
    """Warm each pipeline up, then time them in turn, pass after pass, so that a change in the
    machine's load (it is shared) touches every pipeline alike; medians of the passes."""
    for run in runs.values():
        run(corpus[:1])                       # imports, numba kernels, caches
    passes: dict[str, list] = {name: [] for name in runs}
    for i in range(repeats):
        for name, run in runs.items():
            passes[name].append(run(corpus))
            print(f"  pass {i + 1}/{repeats} {name}: {passes[name][-1]['total_s']:.1f} s",
                  flush=True)
    xml = sum(item["xml_bytes"] for item in corpus)
    out = {}
    for name, ps in passes.items():
        total = statistics.median(p["total_s"] for p in ps)
        parse = statistics.median(p["parse_s"] for p in ps)
        out[name] = {"passes": ps, "median_total_s": total, "median_parse_s": parse,
                     "xml_mb_per_s": xml / total / 1e6,
                     "wikitext_mb_per_s_parse_only": ps[0]["wikitext_bytes"] / parse / 1e6}
    return out


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for pkg in ("numpy", "numba", "PyStemmer", "mwparserfromhell", "indexed_bzip2"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    import wikisearch
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
            "wikisearch": getattr(wikisearch, "__version__", None), **versions}


def markdown(r: dict) -> str:
    rows = [("wikisearch", r["wikisearch"]), ("mwparserfromhell", r["mwparserfromhell"])]
    if "reference" in r:
        rows.append(("wikisearch parse_reference (oracle)", r["reference"]))
    c = r["corpus"]
    lines = [
        "# bench_ingest: dump -> parse -> analyze, one core", "",
        f"{c['files']} files (enwiki-xml + otherwiki-xml), {c['xml_bytes'] / 1e6:.1f} MB of XML, "
        f"{c['articles']} articles ({c['wikitext_bytes'] / 1e6:.1f} MB of wikitext); corpus "
        f"sha256 {c['sha256'][:16]}...; warm-up, then median of {r['repeats']} passes (pipelines alternating).", "",
        "| pipeline | XML MB/s (read+parse+analyze) | wikitext MB/s (parse only) |",
        "|---|---:|---:|"]
    for name, m in rows:
        lines.append(f"| {name} | {m['xml_mb_per_s']:.2f} | {m['wikitext_mb_per_s_parse_only']:.2f} |")
    ratio = r["ratio_wikisearch_over_mwparserfromhell"]
    lines += ["", f"wikisearch / mwparserfromhell: **{ratio['pipeline']:.1f}x** end to end, "
              f"**{ratio['parse_only']:.1f}x** parse alone.", "",
              f"Decompression and block cutting (before the passes, not in the figures): "
              f"{c['decompress_s']:.1f} s ({c['xml_bytes'] / c['decompress_s'] / 1e6:.1f} MB/s).",
              "", f"Machine: {r['machine']['cpu']}, {r['machine']['cpus']} CPUs, load "
              f"{', '.join(f'{x:.1f}' for x in r['machine']['load_avg'])}; Python "
              f"{r['machine']['python']}, mwparserfromhell {r['machine']['mwparserfromhell']}.", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit-files", type=int, default=0, help="first N files only (quick look)")
    ap.add_argument("--with-reference", action="store_true",
                    help="also time parse_reference, wikisearch's mwparserfromhell oracle")
    ap.add_argument("--out", type=Path, default=None,
                    help="default benchmarks/results (benchmarks/results/tmp with --limit-files)")
    args = ap.parse_args(argv)
    from wikisearch.ingest.parse import parse_reference, parse_wikitext

    files = corpus_files()[:args.limit_files or None]
    out = args.out or (RESULTS / "tmp" if args.limit_files else RESULTS)
    if not files:
        sys.exit(f"no samples under {DATA} (set WIKISEARCH_DATA)")
    sha, each = corpus_checksum(files)
    corpus = load(files)
    r = {"benchmark": "ingest", "repeats": args.repeats, "machine": machine()}
    print(f"{len(files)} files, {sum(c['xml_bytes'] for c in corpus) / 1e6:.1f} MB XML", flush=True)
    runs = {"wikisearch": lambda c: wikisearch_pass(c, parse_wikitext),
            "mwparserfromhell": mwparserfromhell_pass}
    if args.with_reference:
        runs["reference"] = lambda c: wikisearch_pass(c, parse_reference)
    r.update(measure(runs, corpus, args.repeats))
    ws, mw = r["wikisearch"], r["mwparserfromhell"]
    r["ratio_wikisearch_over_mwparserfromhell"] = {
        "pipeline": ws["xml_mb_per_s"] / mw["xml_mb_per_s"],
        "parse_only": ws["wikitext_mb_per_s_parse_only"] / mw["wikitext_mb_per_s_parse_only"]}
    articles = sum(1 for item in corpus for b, d in item["blocks"]
                   for _ in _articles(d, b, item["site"], item["format"]))
    r["corpus"] = {"files": len(files), "sha256": sha, "file_sha256": each,
                   "xml_bytes": sum(c["xml_bytes"] for c in corpus), "articles": articles,
                   "wikitext_bytes": ws["passes"][0]["wikitext_bytes"],
                   "decompress_s": sum(c["decompress_s"] for c in corpus)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    (out / "ingest.md").write_text(markdown(r))
    print(markdown(r))
    return r


if __name__ == "__main__":
    main()
