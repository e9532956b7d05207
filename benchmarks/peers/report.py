"""RESULTS.md and plots from every ``peers-<tag>.json`` in a results folder."""
from __future__ import annotations

import json
from pathlib import Path


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def _get(rec: dict, section: str, key: str):
    return (rec.get(section) or {}).get(key)


COLUMNS = [  # (header, section, key, digits)
    ("build s", "build", "seconds", 1), ("MB/s", "build", "mb_per_s", 2),
    ("build RSS MB", "build", "peak_tree_rss_mb", 0), ("index MB", "index", "mb", 1),
    ("bits/posting", "index", "bits_per_posting", 1),
    ("first-sight p50 ms", "query", "first_p50_ms", 2), ("first-sight p95 ms", "query", "first_p95_ms", 2),
    ("repeated p50 ms", "query", "p50_ms", 2), ("repeated p95 ms", "query", "p95_ms", 2),
    ("mean ms", "query", "mean_ms", 2), ("cold s", "cold", "seconds", 2),
    ("query RSS MB", "query", "peak_rss_mb", 0), ("nDCG@10", "quality", "ndcg@10", 3),
    ("MRR@10", "quality", "mrr@10", 3), ("R@100", "quality", "recall@100", 3),
]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def section(result: dict, plots: dict[str, str]) -> list[str]:
    c, m, j = result["corpus"], result["machine"], result["judgments"]
    engines = result["engines"]
    lines = [f"## {c['tag']}: {c['docs']:,} documents, {c['text_bytes'] / 1e6:,.0f} MB of text, "
             f"{j['queries']} queries", ""]
    lines += [
        f"- Run {result['started']} to {result['finished']}; wikisearch revision "
        f"`{result.get('wikisearch_revision')}`.",
        f"- Machine: {m['cpu']}, {m['logical_cores']} logical cores, {m['ram_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}; load average at start {m['load_average_at_start']}.",
        f"- Corpus: {c['real_docs']:,} real articles x {c['scale']}; "
        f"input sha256 `{c['checksum']['sha256']}` "
        f"(per-file checksums {'match' if c['checksum']['matches_manifest'] else 'DO NOT match'} "
        f"MANIFEST.tsv); {c['postings']:,} postings ({c['postings_definition']}).",
        f"- Judgments: {j['source']}, {j['queries']} queries with >= 1 relevant article in the corpus, "
        f"{j['relevant_pairs']} relevant pairs.",
        f"- Settings: {json.dumps(result['settings'])}.", "",
    ]
    rows = []
    for name, rec in engines.items():
        if rec["status"] == "ok":
            rows.append([f"**{name}**" if name == "wikisearch" else name]
                        + [_fmt(_get(rec, s, k), d) for _, s, k, d in COLUMNS])
    lines += _table(["engine"] + [h for h, *_ in COLUMNS], rows) + [""]
    rows = [[n, _fmt(r["cold"]["seconds"], 3), _fmt(r["cold"]["import_s"], 3), _fmt(r["cold"]["open_s"], 3),
             _fmt(r["cold"]["first_query_s"], 3), _fmt(r["build"]["read_seconds"], 1),
             ", ".join(f"{k} {v:.1f}" for k, v in r["build"]["laps"].items())]
            for n, r in engines.items() if r["status"] == "ok"]
    if rows:
        lines += ["Cold start (median of the new processes: spawn to first result) split into the engine's "
                  "import, opening the index and the first query; build split into laps (seconds; "
                  "'read s' is the part spent reading and parsing the corpus files):", ""]
        lines += _table(["engine", "cold s", "import s", "open s", "first query s", "read s", "build laps"],
                        rows) + [""]
    not_ok = [(n, r) for n, r in engines.items() if r["status"] != "ok"]
    if not_ok:
        lines += ["Not measured:", ""]
        lines += [f"- **{n}**: {r['status']} — {r['error']}" for n, r in not_ok] + [""]
    if result.get("ratios"):
        lines += ["Ratios wikisearch / peer, same run (below 1: wikisearch builds faster, is smaller, "
                  "answers faster; above 1 for nDCG@10: wikisearch ranks better):", ""]
        keys = ("build_s", "index_bytes", "first_p50_ms", "first_p95_ms", "p50_ms", "p95_ms", "ndcg@10")
        rows = [[peer, *(_fmt(r.get(k), 2) for k in keys)] for peer, r in result["ratios"].items()]
        lines += _table(["peer", "build time", "index size", "first-sight p50", "first-sight p95",
                         "repeated p50", "repeated p95", "nDCG@10"], rows) + [""]
    grid = {n: q for r in engines.values() for n, q in (r.get("grid") or {}).items()}
    if grid:
        lines += ["Title-boost grid (quality only; the table above uses the boost fixed before the run):", ""]
        rows = [[n, _fmt(q["ndcg@10"], 3), _fmt(q["mrr@10"], 3), _fmt(q["recall@100"], 3)]
                for n, q in grid.items()]
        lines += _table(["run", "nDCG@10", "MRR@10", "R@100"], rows) + [""]
    rows = []
    for name, rec in engines.items():
        vers = ", ".join(f"{k} {v}" for k, v in rec["versions"].items() if v) or "not installed"
        rows.append([name, rec["summary"], vers, _fmt(_get(rec, "index", "engine_postings")),
                     _fmt(_get(rec, "index", "engine_bits_per_posting"), 1)])
    lines += _table(["engine", "settings", "versions", "own postings", "bits/own posting"], rows) + [""]
    for title, path in plots.items():
        lines += [f"![{title}]({path})", ""]
    return lines


def plot(result: dict, out_dir: Path) -> dict[str, str]:
    """Latency distribution and per-engine bars as PNG; returns {title: relative path}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = {n: r for n, r in result["engines"].items() if r["status"] == "ok"}
    if not ok:
        return {}
    tag = result["tag"]
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    colors = ["tab:red" if n == "wikisearch" else "tab:blue" for n in ok]
    paths = {}

    fig, ax = plt.subplots(figsize=(1.6 * len(ok) + 2, 4.5))
    ax.boxplot([r["latencies_ms"] for r in ok.values()], whis=(5, 95), showfliers=True,
               flierprops={"markersize": 2})
    ax.set_xticks(range(1, len(ok) + 1), list(ok), rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel("query latency, ms (log; whiskers p5–p95)")
    ax.set_title(f"Per-query latency, k=10, one thread — {tag}, {result['judgments']['queries']} queries")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    rel = f"plots/{tag}-latency.png"
    fig.savefig(out_dir / rel, dpi=110)
    plt.close(fig)
    paths["latency distribution"] = rel

    panels = [("build time, s", "build", "seconds"), ("index size, MB", "index", "mb"),
              ("bits per posting", "index", "bits_per_posting"), ("p50 latency, ms", "query", "p50_ms"),
              ("cold start, s", "cold", "seconds"), ("nDCG@10", "quality", "ndcg@10")]
    fig, axes = plt.subplots(2, 3, figsize=(4.2 * 3, 7))
    for ax, (title, sec, key) in zip(axes.flat, panels):
        raw = [_get(r, sec, key) for r in ok.values()]     # None: not reported (peers.Engine.held_out)
        values = [v or 0.0 for v in raw]
        ax.bar(range(len(ok)), values, color=colors)
        if sec in ("query", "cold") and min(values) > 0 and max(values) / min(values) > 30:
            ax.set_yscale("log")  # rank_bm25's full scans would flatten every other bar
            title += " (log)"
        ax.set_xticks(range(len(ok)), list(ok), rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        for i, (v, rv) in enumerate(zip(values, raw)):
            ax.annotate("–" if rv is None else f"{v:.3g}", (i, v), ha="center", va="bottom", fontsize=7)
    fig.suptitle(f"Size, speed and quality per engine — {tag}")
    fig.tight_layout()
    rel = f"plots/{tag}-bars.png"
    fig.savefig(out_dir / rel, dpi=110)
    plt.close(fig)
    paths["size, speed and quality"] = rel
    return paths


def _order(path: Path):
    r = json.loads(path.read_text())["corpus"]
    return (r["limit_docs"] or 10**12, r["scale"])


def write_report(out_dir: Path) -> Path:
    """Regenerate ``out_dir/RESULTS.md`` (and plots) from every peers-*.json there."""
    out_dir = Path(out_dir)
    lines = ["# wikisearch and its peers: measured results", "",
             "Generated by `python benchmarks/run_all.py` (see benchmarks/README.md for the method); "
             "one section per corpus, each from its `peers-<tag>.json` beside this file. "
             "Article text: Wikipedia, CC BY-SA.", ""]
    for path in sorted(out_dir.glob("peers-*.json"), key=_order):
        result = json.loads(path.read_text())
        lines += section(result, plot(result, out_dir))
        lines += [f"Raw figures: [{path.name}]({path.name}).", ""]
    md = out_dir / "RESULTS.md"
    md.write_text("\n".join(lines))
    return md
