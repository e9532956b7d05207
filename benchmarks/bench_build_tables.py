"""Memory of the build's title and redirect tables in the main process: the Python objects the
build held before (title list, title -> docid dict, redirect pairs, resolved dict, alias lists)
against the numpy string tables that replace them, on the titles and redirects of a real or
synthetic dump (tracemalloc peak of each; numpy reports its buffers to tracemalloc).

    python benchmarks/bench_build_tables.py synth-1x.xml      # -> bytes per document and per redirect
"""
from __future__ import annotations

import html
import json
import re
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from wikisearch.index.links import resolve_redirects
from wikisearch.index.strings import StringTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _oracle import resolve_redirects_slow  # noqa: E402  (the dict code, kept as the tests' oracle)

_PAGE = re.compile(rb"<title>([^<]*)</title>\n    <ns>0</ns>\n    <id>\d+</id>\n(?:    <redirect title=\"([^\"]*)\" />)?")


def read_titles(path: str):
    titles, pairs = [], []
    with open(path, "rb") as f:
        for m in _PAGE.finditer(f.read()):
            t = html.unescape(m.group(1).decode("utf-8"))
            if m.group(2) is None:
                titles.append(t)
            else:
                pairs.append((t, html.unescape(m.group(2).decode("utf-8"))))
    return titles, pairs


def old_tables(title_bytes, pair_bytes):
    """What build._merge held before (the same statements)."""
    titles = [t.decode("utf-8") for t in title_bytes]
    docid_of = {t: i for i, t in enumerate(titles)}
    redirects = [(a.decode("utf-8"), b.decode("utf-8")) for a, b in pair_bytes]
    target_of = resolve_redirects_slow(redirects, docid_of)
    aliases: list = [()] * len(titles)
    for src, d in target_of.items():
        if not aliases[d]:
            aliases[d] = []
        aliases[d].append(src)
    order = sorted(range(len(titles)), key=titles.__getitem__)
    return len(target_of), (titles, docid_of, redirects, target_of, aliases, order)


def table(items):
    off = np.zeros(len(items) + 1, np.int64)
    np.cumsum([len(x) for x in items], out=off[1:])
    return StringTable(off, np.frombuffer(b"".join(items), np.uint8).copy())


def new_tables(titles, src, dst):
    """What build._merge holds now, given the tables (read from the blocks' arrays)."""
    ids = titles.sorted_ids()
    red = resolve_redirects(titles, ids, src, dst)
    aliases = red.aliases(len(titles))
    return len(red), (ids, red, aliases)


def measure(fn, *args):
    tracemalloc.start()
    t = time.perf_counter()
    n, held = fn(*args)
    dt = time.perf_counter() - t
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    return n, peak, dt


def main(argv=None) -> int:
    path = (argv or sys.argv[1:])[0]
    titles, pairs = read_titles(path)
    tb = [t.encode("utf-8") for t in titles]
    pb = [(a.encode("utf-8"), b.encode("utf-8")) for a, b in pairs]
    tables = (table(tb), table([a for a, _ in pb]), table([b for _, b in pb]))
    table_bytes = sum(t.offsets.nbytes + t.blob.nbytes for t in tables)
    new_tables(*(t.take(np.arange(min(10, len(t)))) for t in tables))   # kernels loaded before measuring
    n_old, peak_old, t_old = measure(old_tables, tb, pb)
    n_new, peak_ops, t_new = measure(new_tables, *tables)
    peak_new = table_bytes + peak_ops
    assert n_old == n_new
    nd, nr = len(titles), len(pairs)
    per = lambda peak: peak / (nd + nr)  # noqa: E731
    res = {"input": path, "documents": nd, "redirect_pages": nr, "resolved_redirects": n_new,
           "old_peak_bytes": peak_old, "new_peak_bytes": peak_new, "new_table_bytes": table_bytes, "old_s": t_old, "new_s": t_new,
           "old_bytes_per_title_or_redirect": per(peak_old), "new_bytes_per_title_or_redirect": per(peak_new),
           "projected_enwiki_old_gb": per(peak_old) * (6.9e6 + 11e6) / 1e9,
           "projected_enwiki_new_gb": per(peak_new) * (6.9e6 + 11e6) / 1e9}
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
