"""The merge: windowed k-way merge of dictionaries, term-range parts, chunking; all byte-exact."""
import random

import numpy as np
import pytest

from wikisearch.index import _merge_kernels as MK
from wikisearch.index import merge as M
from wikisearch.analysis.analyzer import Analyzer
from wikisearch.build import Builder
from wikisearch.index.links import alias_postings, write_alias_segment
from wikisearch.config import BuildConfig, RankConfig
from wikisearch.index.reader import IndexReader
from wikisearch.index.segment import SegmentReader, assemble_parts

from conftest import SHARED_DATA as SHARED, requires_shared  # noqa: E402  (tests/conftest.py)
ENWIK8 = SHARED / "enwiki-xml" / "enwik8-head-4MB.xml.bz2"


def _table(words):
    enc = [w.encode() for w in words]
    offs = np.zeros(len(enc) + 1, np.int64)
    np.cumsum([len(e) for e in enc], out=offs[1:])
    return np.frombuffer(b"".join(enc), np.uint8).copy(), offs


def test_merge_runs_in_windows_equals_sorting():
    rng = random.Random(7)
    alphabet = "abcé"
    for trial in range(200):
        runs = [sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
                        for _ in range(rng.randint(0, 30))}, key=str.encode) for _ in range(rng.randint(1, 6))]
        expected = sorted(((w.encode(), r) for r, ws in enumerate(runs) for w in ws))
        pos = [0] * len(runs)          # merged so far
        seen = [0] * len(runs)         # decoded so far (window = seen[r] - pos[r] entries)
        got = []
        while True:
            for r, ws in enumerate(runs):  # refill empty windows by a random amount
                if seen[r] == pos[r] and seen[r] < len(ws):
                    seen[r] = min(len(ws), seen[r] + rng.randint(1, 5))
            live = [r for r in range(len(runs)) if seen[r] > pos[r]]
            if not live:
                break
            words, lo, hi = [], [], []
            for r in live:
                lo.append(len(words))
                words.extend(runs[r][pos[r]:seen[r]])
                hi.append(len(words))
            blob, offs = _table(words)
            final = np.asarray([seen[r] == len(runs[r]) for r in live], np.bool_)
            order, new_term, taken = MK.merge_runs(blob, offs, np.asarray(lo, np.int64),
                                                   np.asarray(hi, np.int64), final)
            assert len(order) > 0
            # the plain-Python path (where the kernels run as Python) gives the same arrays
            p_order, p_new_term, p_taken = M.merge_runs_python(blob, offs, np.asarray(lo, np.int64),
                                                               np.asarray(hi, np.int64), final)
            for a, b in ((order, p_order), (new_term, p_new_term), (taken, p_taken)):
                assert a.dtype == b.dtype and a.tolist() == b.tolist()
            step = []
            for e in order.tolist():
                r = live[next(i for i in range(len(live)) if lo[i] <= e < hi[i])]
                step.append((words[e].encode(), r))
            assert new_term.tolist() == [i == 0 or step[i][0] != step[i - 1][0] for i in range(len(step))]
            assert not got or not step or got[-1][0] != step[0][0]   # a term is never split
            got.extend(step)
            for i, r in enumerate(live):
                pos[r] += int(taken[i])
        assert got == expected, trial


def test_gather_terms():
    blob, offs = _table(["", "ab", "c", "déf"])
    out, lengths = MK.gather_terms(blob, offs, np.asarray([3, 0, 1], np.int64))
    assert out.tobytes() == "déf".encode() + b"ab" and lengths.tolist() == [4, 0, 2]


@requires_shared(ENWIK8)
@pytest.mark.parametrize("window_blocks", [1, 3])
def test_parts_windows_and_chunks_do_not_change_bytes(tmp_path, monkeypatch, window_blocks):
    cfg = BuildConfig(block_bytes=400_000)
    builder = Builder([str(ENWIK8)], tmp_path / "idx", cfg, RankConfig(), False, None)
    builder._run_blocks(builder._prepare_workdir())
    final = builder._finalize()       # the real merge: one part (no pool)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    blocks = [builder.work / "blocks" / f"{k:06d}" for k in range(builder.n_blocks)]
    readers = [SegmentReader(b) for b in blocks]
    assert len(readers) >= 3
    bases = np.cumsum([0] + [r.n_docs for r in readers])[:-1].tolist()
    idx = IndexReader(final)
    aliases = [list(idx.redirects(d)) for d in range(idx.n_docs)]
    assert sum(map(len, aliases)) > 10      # redirects are merged in as a source of their own
    alias, alias_docids, _ = alias_postings(aliases, Analyzer.from_json(builder.ctx["analyzer"]))
    alias_dir = write_alias_segment(scratch / "alias", alias, alias_docids, "bitpacked")
    monkeypatch.setattr(M, "WINDOW_BLOCKS", window_blocks)
    monkeypatch.setattr(M, "CHUNK_ENTRIES", 37)
    steps = {"in_flight": 0, "merged": 0}
    real = M.MK

    class Counting:                     # the real kernels, the merge's steps counted
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def merge_runs(blob, offs, lo, hi, final):
            got = real.merge_runs(blob, offs, lo, hi, final)
            steps["in_flight"] += int(hi[-1]) if len(hi) else 0
            steps["merged"] += len(got[0])
            return got

    monkeypatch.setattr(M, "MK", Counting())
    monkeypatch.setattr(M, "_PYTHON_GATHER", False)
    ranges = M.plan_ranges(readers + [SegmentReader(alias_dir)], 7)
    assert len(ranges) >= 5 and ranges[0][0] is None and ranges[-1][1] is None
    parts = []
    for i, (lo, hi) in enumerate(ranges):
        out = scratch / f"part{i}"
        M.merge_range({"blocks": [str(b) for b in blocks], "doc_bases": bases, "alias": str(alias_dir),
                       "codec": "bitpacked", "lo": lo, "hi": hi, "out": str(out), "chunk_bytes": 2000})
        parts.append(out)
    again = tmp_path / "again"
    again.mkdir()
    assemble_parts(parts, again, "bitpacked")
    for name in ("terms.bin", "postings.bin"):
        assert (again / name).read_bytes() == (final / name).read_bytes(), name
    # windows are topped up together, so a step merges most of what it holds (refilled one at a
    # time they held staggered ranges: 2 % of the entries in flight merged a step, 106 sources)
    assert steps["merged"] >= 0.4 * steps["in_flight"], steps


@requires_shared(ENWIK8)
def test_unmapped_readers_agree_with_mapped(tmp_path):
    # the merge opens block segments unmapped (pread): same arrays, same term ordinals
    from wikisearch.build import build_index
    idx = build_index([ENWIK8], tmp_path / "idx", block_bytes=1 << 30)
    mapped, sparse = SegmentReader(idx), SegmentReader(idx, sparse=True)
    assert sparse.terms.sparse and sparse.terms_c.arrays.keys() <= {"block_offsets", "block_post_offsets", "block_crc"}
    for name in ("page_id", "field_lengths_by_field", "inlinks"):
        assert np.array_equal(mapped.docs_c[name], sparse.docs_c[name])
    terms = mapped.all_terms()
    rng = random.Random(5)
    keys = [t.encode() for t in rng.sample(terms, 300)] + [t.encode() + b"\x00" for t in rng.sample(terms, 100)]
    keys += [b"", b"\xff\xff", terms[0].encode(), terms[-1].encode()]
    for key in keys:
        o = mapped.terms.lower_bound(key.decode("utf-8", "surrogateescape")) if key != b"\xff\xff" else mapped.n_terms
        assert sparse.terms.ordinal_at_or_after(key, -1) == o, key
    assert sparse.terms.ordinal_at_or_after(None, 7) == 7
