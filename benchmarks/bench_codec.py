"""Codec benchmark: bits per posting and decode speed of each postings codec on a real index.

    python benchmarks/bench_codec.py [--corpus DIR]

Builds the 30k-article corpus once per codec (cached under benchmarks/results/tmp/), then decodes
every postings list (warm-up pass, then median of 3 passes). Results: results/codec.json and .md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
TMP = HERE / "results" / "tmp"


def ensure_index(corpus: Path, codec: str) -> Path:
    out = TMP / f"codec-{codec}"
    if not (out / "manifest.json").exists():
        files = sorted(str(p) for p in corpus.glob("wiki-*.txt"))
        subprocess.run([sys.executable, "-m", "wikisearch", "index", *files, "-o", str(out), "--codec", codec,
                        "--workers", "2", "--no-store", "-q"], check=True, cwd=ROOT)
    return out


def decode_all(path: Path) -> dict:
    from wikisearch.index.reader import IndexReader
    r = IndexReader(path)
    lists = [(r.raw_postings(t), r.doc_freq(t)) for t in range(r.n_terms)]
    codec = r.codec
    big = [(d, n) for d, n in lists if n >= 128]

    def run(items):
        t0 = time.perf_counter()
        for data, n in items:
            codec.decode(data, n)
        return time.perf_counter() - t0

    out = {}
    for name, items in (("all lists", lists), ("lists >= 128 postings", big)):
        run(items)
        times = [run(items) for _ in range(3)]
        n = sum(k for _d, k in items)
        out[name] = {"lists": len(items), "postings": n, "seconds": statistics.median(times),
                     "postings_per_s": n / statistics.median(times)}
    m = r.manifest["stats"]
    out["bits_per_posting"] = 8 * m["postings_bytes"] / m["n_postings"]
    out["postings_mb"] = m["postings_bytes"] / 1e6
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(TMP / "30k-x1" / "corpus"))
    args = ap.parse_args(argv)
    results = {c: decode_all(ensure_index(Path(args.corpus), c)) for c in ("bitpacked", "varbyte")}
    (HERE / "results" / "codec.json").write_text(json.dumps(results, indent=1))
    md = ["# Codec benchmark (`python benchmarks/bench_codec.py`)", "",
          "30k-article corpus; decode = Python call per list (as a query does), median of 3 passes.", "",
          "| codec | postings MB | bits/posting | decode all lists (M postings/s) | decode lists >= 128 (M postings/s) |",
          "|---|---|---|---|---|"]
    for c, r in results.items():
        md.append(f"| {c} | {r['postings_mb']:.1f} | {r['bits_per_posting']:.2f} | "
                  f"{r['all lists']['postings_per_s'] / 1e6:.1f} | {r['lists >= 128 postings']['postings_per_s'] / 1e6:.1f} |")
    (HERE / "results" / "codec.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
