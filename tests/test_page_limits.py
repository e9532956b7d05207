"""Hostile pages under a memory budget (issue 18, item 5).

Fast: the splitter skips a page over the size limit while it streams past (holding a bounded
buffer, counted), names it, and calls an unterminated one an error. Slow: the whole build under
``--memory 600MB`` on an unterminated 400 MB page and on a page of 5M links stays within the
budget, by the process tree's resident memory sampled while it runs.
"""
from __future__ import annotations

import bz2
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wikisearch.errors import DumpFormatError
from wikisearch.ingest.dump import Dump

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "wikisearch" / "data" / "sample-enwiki.xml.bz2"


def _sample_parts():
    xml = bz2.decompress(SAMPLE.read_bytes())
    first, last = xml.index(b"<page>"), xml.rindex(b"</page>") + len(b"</page>")
    pages = [b"<page>" + p.split(b"</page>")[0] + b"</page>\n" for p in xml[first:last].split(b"<page>")[1:]]
    return xml[:first], pages, b"</mediawiki>\n"


def _big_page(page: bytes, size: int, close: bool = True) -> bytes:
    """A real page whose text is its own text repeated to ``size`` bytes."""
    a = page.index(b">", page.index(b"<text")) + 1
    b = page.index(b"</text>")
    body = page[a:b] or b"x "
    text = body * (size // len(body) + 1)
    out = page[:a] + text[:size] + page[b:]
    return out if close else out[:out.index(b"</text>")]


class _Watch:
    """Largest splitter buffer seen while reading (a count of bytes, not time)."""

    def __init__(self, dump: Dump):
        self.peak, self.dump, more = 0, dump, dump._more

        def watched():
            got = more()
            self.peak = max(self.peak, len(dump._buf))
            return got
        dump._more = watched


def test_oversized_page_is_skipped_and_named(tmp_path):
    head, pages, tail = _sample_parts()
    big = _big_page(pages[3], 6 << 20)
    p = tmp_path / "d.xml"
    p.write_bytes(head + b"".join(pages[:3]) + big + b"".join(pages[4:]) + tail)
    with Dump(p) as dump:
        w = _Watch(dump)
        got = [pg.title for _b, data in dump.blocks(1 << 20, 2 << 20)
               for pg in __import__("wikisearch.ingest.dump", fromlist=["x"]).pages_from_block(
                   data, _b, dump.siteinfo, dump.format)]
        skipped = dump.skipped
    title = pages[3].split(b"<title>")[1].split(b"</title>")[0].decode()
    assert title not in got and len(got) == len(pages) - 1
    assert len(skipped) == 1 and repr(title) in skipped[0] and "page size limit" in skipped[0]
    assert w.peak <= (1 << 20) + (2 << 20) + (2 << 20)      # block + limit + a read chunk or two


def test_unterminated_page_is_an_error_in_bounded_memory(tmp_path):
    head, pages, _tail = _sample_parts()
    p = tmp_path / "d.xml.gz"
    with gzip.open(p, "wb", compresslevel=1) as f:
        f.write(head + b"".join(pages[:2]) + _big_page(pages[2], 64 << 20, close=False))
    with Dump(p) as dump:
        w = _Watch(dump)
        with pytest.raises(DumpFormatError, match="ends inside a page larger than the page size limit"):
            for _ in dump.blocks(1 << 20, 2 << 20):
                pass
    assert w.peak <= 6 << 20


# --- the whole build under --memory: tree RSS -------------------------------------------------
def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(d))
            rss[int(d)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        total += rss.get(q, 0)
        todo.extend(children.get(q, []))
    return total


def peak_tree_rss(cmd: list[str], env: dict) -> tuple[int, int, str]:
    """Run ``cmd``; (peak tree RSS sampled every 50 ms, exit code, stderr)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    return peak, proc.returncode, proc.stderr.read().decode(errors="replace")


def hostile_dumps(tmp_path: Path) -> dict[str, Path]:
    head, pages, tail = _sample_parts()
    out = {}
    p = tmp_path / "unterminated.xml.gz"            # 400 MB of XML in a few hundred kB
    with gzip.open(p, "wb", compresslevel=1) as f:
        f.write(head + b"".join(pages[:5]))
        f.write(_big_page(pages[5], 1 << 20, close=False))
        chunk = (pages[5][pages[5].index(b">", pages[5].index(b"<text")) + 1:][:1 << 16] or b"x ") * 16
        for _ in range((400 << 20) // len(chunk)):
            f.write(chunk)
    out["unterminated"] = p
    p = tmp_path / "links.xml.gz"                   # one page of 5M links to real titles
    titles = [pg.split(b"<title>")[1].split(b"</title>")[0] for pg in pages]
    with gzip.open(p, "wb", compresslevel=1) as f:
        f.write(head + b"".join(pages[:5]))
        pg = pages[5]
        a = pg.index(b">", pg.index(b"<text")) + 1
        f.write(pg[:a])
        links = b"".join(b"[[" + t + b"]] " for t in titles)
        for _ in range(5_000_000 // len(titles)):
            f.write(links)
        f.write(pg[pg.index(b"</text>"):])
        f.write(b"".join(pages[6:]) + tail)
    out["links"] = p
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", ["unterminated", "links"])
def test_hostile_page_stays_within_memory(tmp_path, case):
    dump = hostile_dumps(tmp_path)[case]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "wikisearch", "index", str(dump), "-o", str(tmp_path / "idx"),
           "--memory", "600MB", "--workers", "1", "-q"]
    peak, rc, err = peak_tree_rss(cmd, env)
    print(f"{case}: peak tree RSS {peak / 1e6:,.0f} MB, exit {rc}: {err.strip()[-300:]}")
    assert peak < 600e6
    if case == "unterminated":
        assert rc == 1 and "ends inside a page" in err
    else:
        assert rc == 0 and "skipped page" in err
