"""The build's main process under a memory budget with many documents and redirects (issue 13).

A dump of many small articles, each with 1.6 redirects (enwiki's ratio) and a word of its own
(the term dictionary grows with the corpus), built with ``--workers 2`` and small blocks so that
the main process parses and merges nothing and holds little in the block phase: its peak is then
what it holds per document and per redirect between the blocks and the published index (titles,
redirect titles and their resolution, the document table, field lengths). Built at two sizes, by
the main process's resident memory sampled while the build runs (not a timed test): both within
``--memory``, and the peak growing by less than :data:`MAX_BYTES_PER_ENTRY` per article +
redirect (measured: ~105 bytes; the Python tables of session 9 held 274 bytes each, and a
Python string per redirect in the main process costs ~500 bytes).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAD = (ROOT / "tests" / "data" / "tiny.xml").read_text(encoding="utf-8").split("  <page>")[0]
WORDS = ("river city music film album station school church league species village county "
         "island football player season party election war battle ship railway bridge").split()


def write_dump(path: Path, n_articles: int) -> int:
    """``n_articles`` small articles and 1.6 redirects each; returns the number of redirects."""
    n_red = n_articles * 8 // 5
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEAD)
        pid = 0

        def page(title: str, text: str, redirect: str | None = None) -> None:
            nonlocal pid
            pid += 1
            red = f'    <redirect title="{redirect}" />\n' if redirect else ""
            f.write(f"  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>{pid}</id>\n{red}"
                    f"    <revision>\n      <id>{pid}</id>\n      <text xml:space=\"preserve\">{text}</text>\n"
                    f"    </revision>\n  </page>\n")
        for i in range(n_articles):
            w = [WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)]
            text = (f"'''Topic {i}''' is a {w[0]} and {w[1]} near the {w[2]} of [[Topic {(i * 7919) % n_articles}]]"
                    f" and [[Topic {(i * 104729) % n_articles}]], known as uniq{i}x.\n"
                    f"[[Category:{w[0].title()} {i % 97}]]")
            page(f"Topic {i}", text)
        for k in range(n_red):
            target = f"Topic {(k * 31) % n_articles}"
            page(f"Alias {k} of topic", f"#REDIRECT [[{target}]]", target)
        f.write("</mediawiki>\n")
    return n_red


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[21]) * os.sysconf("SC_PAGE_SIZE")


def main_peak_rss(cmd: list[str], env: dict) -> tuple[int, int, str]:
    """Run ``cmd``; (peak RSS of its main process, sampled every 20 ms; exit code; stderr)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, _rss(proc.pid))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.02)
    return peak, proc.returncode, proc.stderr.read().decode(errors="replace")


#: Bound on the main process's growth per article + redirect between the two sizes. Session 12
#: measured 115-124 bytes with main's code and with the branch that halved the traced per-entry
#: tables (titles and redirect resolution ~95 -> ~52 bytes an entry, docs.bin ~70 -> ~34): with
#: blocks this small (~30 of them at 80K articles) the peak is the store merge's, and RSS keeps
#: glibc's heap high-water, so this resident-memory test does not see the change; not tightened.
MAX_BYTES_PER_ENTRY = 160


@pytest.mark.slow
def test_main_process_within_budget_and_per_document_growth_bounded(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    peaks = {}
    for n in (20_000, 80_000):
        dump = tmp_path / f"many-{n}.xml"
        n_red = write_dump(dump, n)
        cmd = [sys.executable, "-m", "wikisearch", "index", str(dump), "-o", str(tmp_path / f"idx-{n}"),
               "--memory", "1GB", "--workers", "2", "--block-size", "2MB", "-q"]
        peak, rc, err = main_peak_rss(cmd, env)
        assert rc == 0, err[-500:]
        peaks[n] = (peak, n + n_red)
        print(f"{n} articles + {n_red} redirects: main process peak {peak / 1e6:,.0f} MB")
        assert peak < 1e9
    (p1, e1), (p2, e2) = peaks[20_000], peaks[80_000]
    per_entry = (p2 - p1) / (e2 - e1)
    print(f"growth per article + redirect: {per_entry:,.0f} bytes")
    assert per_entry < MAX_BYTES_PER_ENTRY


def test_alias_segments_in_chunks_give_the_same_bytes(tmp_path, monkeypatch):
    """The redirect titles inverted a chunk of documents at a time (several alias segments,
    merged in by docid) give the bytes of one alias segment."""
    from wikisearch.build import build_index
    from wikisearch.index import links
    dump = tmp_path / "many.xml"
    n_red = write_dump(dump, 300)
    one = build_index([dump], tmp_path / "one", workers=1, block_bytes="64KB")
    seen = []
    real = links.build_alias_segments

    def spy(*a, **k):
        lengths, dirs = real(*a, **k)
        seen.append(len(dirs))
        return lengths, dirs
    monkeypatch.setattr(links, "ALIAS_CHUNK", 37)
    monkeypatch.setattr("wikisearch.build.build_alias_segments", spy)
    chunked = build_index([dump], tmp_path / "chunked", workers=1, block_bytes="64KB")
    assert seen and seen[0] >= n_red // 37
    for name in ("terms.bin", "postings.bin", "docs.bin", "blocks.bin", "store.bin"):
        assert (one / name).read_bytes() == (chunked / name).read_bytes(), name


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("n, cut", [(0, 5), (1, 1), (63, 10), (64, 64), (65, 7), (300, 64), (300, 1000)])
def test_docs_written_in_pieces_give_the_bytes_of_the_whole_table(tmp_path, n, cut, plain):
    """``write_docs_columns`` (the merged index's ``docs.bin`` from pieces, a piece at a time)
    against ``write_docs`` of the whole table in memory: the same bytes, whatever the pieces
    (``plain``: no redirects and no in-links, whose columns format 10 leaves out)."""
    import random

    import numpy as np

    from wikisearch.config import N_FIELDS
    from wikisearch.index.segment import DocColumns, DocTable, write_docs, write_docs_columns
    from wikisearch.index.strings import StringTable
    rng = random.Random(n * 31 + cut)
    titles = ["".join(rng.choice("abé日") for _ in range(rng.randint(0, 6))) for _ in range(n)]
    aliases = [["".join(rng.choice("xyzé") for _ in range(rng.randint(0, 5))) for _ in range(rng.choice([0, 0, 1, 3]))]
               for _ in range(n)]
    page_ids = np.asarray([rng.randint(1, 10**9) for _ in range(n)], np.int64)
    lengths = np.asarray([[rng.randint(0, 70000) for _ in range(N_FIELDS)] for _ in range(n)], np.uint32).reshape(n, N_FIELDS)
    inlinks = np.asarray([rng.randint(0, 9) for _ in range(n)], np.uint32)
    if plain:
        aliases, inlinks = [[] for _ in range(n)], np.zeros(n, np.uint32)
    tt = StringTable.from_strings(titles)
    order = tt.sorted_ids().astype(np.int32)
    counts = np.asarray([len(a) for a in aliases], np.int64)
    a_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    at = StringTable.from_strings([a for lst in aliases for a in lst])
    whole = tmp_path / "whole.bin"
    write_docs(whole, DocTable(page_ids, tt, lengths, (a_off, at), inlinks, order))
    cuts = list(range(0, n, cut)) + [n]
    spans = list(zip(cuts[:-1], cuts[1:]))

    def title_pieces():      # offsets with a base of their own, blobs longer than the piece
        for lo, hi in spans:
            yield tt.offsets[lo:hi + 1] + 5, np.concatenate([np.zeros(5, np.uint8), tt.blob, np.ones(3, np.uint8)])

    def alias_pieces():
        for lo, hi in spans:
            yield a_off[lo:hi + 1].astype(np.int64), at.offsets, at.blob
    cols = DocColumns(n, lambda: (page_ids[lo:hi] for lo, hi in spans),
                      lambda: (lengths[lo:hi] for lo, hi in spans), title_pieces, alias_pieces, inlinks, order)
    pieces = tmp_path / "pieces.bin"
    write_docs_columns(pieces, cols)
    assert pieces.read_bytes() == whole.read_bytes()
    from wikisearch.index.container import Container
    c = Container(whole, b"DOCS")
    left_out = (["alias_block_crc", "alias_offsets"] if not sum(map(len, aliases)) else []) + \
        ([] if inlinks.any() else ["inlinks"])
    assert (left_out == ["alias_block_crc", "alias_offsets", "inlinks"]) == (plain or n == 0) or n < 5
    assert c.meta["zero_columns"] == left_out and not set(left_out) & set(c.specs)
    c.close()
    if n:
        short = DocColumns(n, lambda: (page_ids[lo:hi] for lo, hi in spans[:-1]), cols.field_lengths,
                           title_pieces, alias_pieces, inlinks, order)
        with pytest.raises(ValueError):
            write_docs_columns(tmp_path / "short.bin", short)
