"""wikisearch itself, through its public API, indexing the same WikiExtractor files.

Build: ``wikisearch.build.build_index(files, out_dir, workers=threads, store_text=...)``, or with
``opts["via"] == "cli"`` (``run_all.py --wikisearch-via cli``) the CLI
``python -m wikisearch index FILES -o DIR --workers N --quiet [--no-store]``.
``opts["store_text"]`` (default False) keeps the document text for snippets and phrase checks; the
peers keep no text, so the compared engine ``wikisearch`` is built without it. Search:
``wikisearch.search.open(DIR).search(query, k=k)`` -> hits with ``.page_id`` and ``.score``;
with ``opts["rerank"]`` (the engine ``wikisearch-rerank``) ``wikisearch.search.rerank.rerank(searcher,
query, k=k)`` with the shipped model, as ``wikisearch query --rerank`` searches.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DISTRIBUTIONS = ("wikisearch", "numpy", "numba", "PyStemmer")


def check(opts: dict) -> None:
    """Import errors propagate: the harness records them and skips wikisearch."""
    from wikisearch.search import searcher as ws

    if not hasattr(ws, "open"):
        raise ImportError("wikisearch.search has no open()")
    if opts.get("via", "api") == "cli":
        import wikisearch.cli  # noqa: F401
    from wikisearch.build import build_index  # noqa: F401  (the CLI needs it too)


def build(ctx) -> dict:
    files = [str(p) for p in ctx.files]
    store_text = bool(ctx.opts.get("store_text", False))
    if ctx.opts.get("via", "api") == "api":
        from wikisearch.build import build_index

        build_index(files, str(ctx.index_dir), workers=ctx.threads, store_text=store_text)
        how = f"wikisearch.build.build_index(workers={ctx.threads}, store_text={store_text})"
    else:
        cmd = [sys.executable, "-m", "wikisearch", "index", *files, "-o", str(ctx.index_dir),
               "--workers", str(ctx.threads), "--quiet"] + ([] if store_text else ["--no-store"])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = [ln for ln in proc.stderr.splitlines() if ln.strip()][-3:]
            raise RuntimeError(f"wikisearch index exited {proc.returncode}: {' | '.join(tail)}")
        how = "python -m wikisearch index FILES -o DIR " + " ".join(cmd[cmd.index("--workers"):])
    ctx.mark("build")
    return {"built_with": how, "engine_postings": _own_postings(Path(ctx.index_dir)),
            "engine_postings_definition": "wikisearch's own count: (term, doc) pairs, any fields"}


def _own_postings(index_dir: Path):
    """wikisearch's own posting count (``wikisearch.index.stats``, else manifest.json), if it has one."""
    try:
        from wikisearch.index.stats import index_stats

        return int(index_stats(index_dir)["postings"])
    except Exception:  # an API still being written must not sink the build's figures
        pass
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    stack = [manifest]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("postings", "n_postings", "num_postings", "postings_count") \
                        and isinstance(value, int):
                    return value
                stack.append(value)
    return None


class Searcher:
    def __init__(self, index_dir: Path, cache_postings: int | None = None, rerank: bool = False):
        from wikisearch.search import searcher as ws

        ws.fast_start()   # a one-shot process, as the CLI: skip numba's scipy BLAS probe
        self.searcher = ws.open(str(index_dir)) if cache_postings is None else \
            ws.Searcher(str(index_dir), cache_postings=cache_postings)
        self._rerank = self.model = None
        if rerank:        # as `wikisearch query --rerank`: the shipped model, loaded once
            from wikisearch.search.rerank import load_model, rerank as rerank_fn
            self._rerank, self.model = rerank_fn, load_model()

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        hits = (self._rerank(self.searcher, query, k=k, model=self.model) if self._rerank
                else self.searcher.search(query, k=k))
        return [(int(h.page_id), float(h.score)) for h in hits]


def open_index(index_dir: Path, opts: dict) -> Searcher:
    return Searcher(Path(index_dir), opts.get("cache_postings"), bool(opts.get("rerank", False)))
