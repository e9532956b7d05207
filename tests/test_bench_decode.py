"""benchmarks/bench_decode.py: it runs on a real index and counts what it decodes."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, require_import  # noqa: E402


def test_bench_decode_measures_the_lists_it_names(tmp_path, monkeypatch):
    import wikisearch
    from wikisearch.build import build_index
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    bench = require_import("bench_decode", why="benchmarks/bench_decode.py")
    idx = build_index([wikisearch.sample_dump()], str(tmp_path / "idx"), workers=1, progress=False)
    r = wikisearch.open(str(idx)).reader
    terms = ("berlin", "compani")
    got = bench.measure(idx, terms, reps=2)
    assert got["postings"] == sum(int(r.doc_freq(r.term_ordinal(t))) for t in terms) > 0
    assert got["score_ns"] > 0 and got["decode_ns"] > 0
    assert [(d["kernel"], d["term"]) for d in got["lists"]] == [(k, t) for k in ("score", "decode") for t in terms]
    with pytest.raises(SystemExit, match="no term 'zzzqqq'"):
        bench.measure(idx, ("zzzqqq",), reps=1)
