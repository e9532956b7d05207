"""wikisearch itself, through its public API, indexing the same WikiExtractor files.

Build: ``wikisearch.build.build_index(files, out_dir, workers=threads)``; where that function is
missing, the CLI ``python -m wikisearch index FILES -o DIR --workers N``. Search:
``wikisearch.search.open(DIR).search(query, k=k)`` -> hits with ``.page_id`` and ``.score``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DISTRIBUTIONS = ("wikisearch", "numpy", "numba", "PyStemmer")


def check(opts: dict) -> None:
    import wikisearch.search as ws

    if not hasattr(ws, "open"):
        raise ImportError("wikisearch.search has no open()")
    try:
        from wikisearch.build import build_index  # noqa: F401
    except ImportError:
        import wikisearch.cli  # noqa: F401  (the CLI fallback needs it)


def build(ctx) -> dict:
    files = [str(p) for p in ctx.files]
    try:
        from wikisearch.build import build_index
    except ImportError:
        build_index = None
    if build_index is not None:
        build_index(files, str(ctx.index_dir), workers=ctx.threads)
        how = "wikisearch.build.build_index"
    else:
        cmd = [sys.executable, "-m", "wikisearch", "index", *files, "-o", str(ctx.index_dir),
               "--workers", str(ctx.threads)]
        subprocess.run(cmd, check=True)
        how = " ".join(cmd[1:4]) + " ..."
    ctx.mark("build")
    return {"built_with": how, "engine_postings": _manifest_postings(Path(ctx.index_dir))}


def _manifest_postings(index_dir: Path):
    """The posting count from manifest.json's collection statistics, if it records one."""
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
    def __init__(self, index_dir: Path):
        import wikisearch.search as ws

        self.searcher = ws.open(str(index_dir))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        return [(int(h.page_id), float(h.score)) for h in self.searcher.search(query, k=k)]


def open_index(index_dir: Path, opts: dict) -> Searcher:
    return Searcher(Path(index_dir))
