"""Fuzzy title suggestions (#15): time per keystroke of ``Searcher.suggest`` with fuzziness on,
on the 30k-article index (its titles and redirect titles).

Keystrokes: 300 titles drawn with a seeded ``random.Random(15)``, each typed letter by letter up to
25 characters, once as written and once with one typo (``bench_spelling.typo``: a letter dropped,
added, replaced or swapped, never the first) -- every prefix is one ``suggest(prefix, 10)`` call.
Reported: p50/p95/max milliseconds per call with ``fuzzy=True`` and ``fuzzy=False`` (best of
``--repeats`` per call), and how often the typed title is among the 10 suggestions once 6 or more
characters are typed (with the typo: fuzzy against exact).

    python benchmarks/bench_suggest.py [--index DIR]
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_snippets import OUT, TMP, ensure_index, pct  # noqa: E402
from bench_spelling import typo  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(TMP / "idx30k"))
    ap.add_argument("--corpus", default=str(TMP / "30k-x1" / "corpus"))
    ap.add_argument("--titles", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    from wikisearch.search.searcher import Searcher

    ensure_index(Path(args.index), Path(args.corpus))
    s = Searcher(args.index)
    rng = random.Random(15)
    n = int(s.reader.n_docs)
    titles = [s.reader.title(d) for d in rng.sample(range(n), min(args.titles, n))]
    typed = [(t, t[:25]) for t in titles] + [(t, typo(t[:25], rng)) for t in titles if len(t) >= 4]
    s.suggest("warm", 10)
    s.suggest("warm up", 10, fuzzy=True)
    res = {"machine": {"python": platform.python_version(), "platform": platform.platform()},
           "index": args.index, "n_docs": n, "titles": len(titles), "repeats": args.repeats}
    for fuzzy in (True, False):
        times, cpus, found_clean, found_typo, calls = [], [], [], [], []
        for i, (title, text) in enumerate(typed):
            is_typo = i >= len(titles)
            for j in range(1, len(text) + 1):
                best = cpu = float("inf")
                for _ in range(args.repeats):
                    t, c = time.perf_counter(), time.process_time()
                    got = s.suggest(text[:j], 10, fuzzy=fuzzy)
                    best = min(best, time.perf_counter() - t)
                    cpu = min(cpu, time.process_time() - c)
                times.append(best * 1000)
                cpus.append(cpu * 1000)
                calls.append((cpu * 1000, text[:j], is_typo))
                if j >= 6 and j == len(text):
                    (found_typo if is_typo else found_clean).append(title in [g.title for g in got])
        key = "fuzzy" if fuzzy else "exact"
        res[key] = {"calls": len(times), "p50_ms": statistics.median(times), "p95_ms": pct(times, 95),
                    "max_ms": max(times), "cpu_p50_ms": statistics.median(cpus),
                    "cpu_p95_ms": pct(cpus, 95), "found_clean": statistics.mean(found_clean),
                    "found_with_typo": statistics.mean(found_typo),
                    # where the tail is: CPU p95 by typed length (1-2: exact only; 3-5: 1 edit;
                    # 6+: 2 edits) and the slowest calls
                    "cpu_p95_by_chars": {band: pct([c for c, t, _ in calls if lo <= len(t) <= hi], 95)
                                         for band, lo, hi in (("1-2", 1, 2), ("3-5", 3, 5), ("6+", 6, 10**6))
                                         if any(lo <= len(t) <= hi for _, t, _ in calls)},
                    "slowest": [{"cpu_ms": round(c, 3), "typed": t, "typo": y}
                                for c, t, y in sorted(calls, reverse=True)[:20]]}
        print(key, json.dumps({k: v for k, v in res[key].items() if k != "slowest"}), flush=True)
        print("  slowest:", ", ".join(f"{c['typed']!r} {c['cpu_ms']:.2f}" for c in res[key]["slowest"][:8]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "suggest.json").write_text(json.dumps(res, indent=1))
    md = ["# Title suggestions per keystroke", "",
          f"{n:,} articles; {len(titles)} titles typed letter by letter (and again with one typo); "
          f"best of {args.repeats} per call.", "",
          "| | calls | p50 ms | p95 ms | max ms | CPU p50 ms | CPU p95 ms | title in top 10 (typed whole) | with one typo |",
          "|---|---|---|---|---|---|---|---|---|"]
    for key in ("fuzzy", "exact"):
        r = res[key]
        md.append(f"| {key} | {r['calls']:,} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | {r['max_ms']:.2f} | "
                  f"{r['cpu_p50_ms']:.3f} | {r['cpu_p95_ms']:.3f} | "
                  f"{r['found_clean']:.1%} | {r['found_with_typo']:.1%} |")
    md += ["", "Command: `python benchmarks/bench_suggest.py " + " ".join(argv or sys.argv[1:]) + "`"]
    (out / "suggest.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
