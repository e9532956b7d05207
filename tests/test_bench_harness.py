"""The peer benchmark harness (benchmarks/run_all.py) end to end on a tiny corpus, so it cannot rot.

Timings are never asserted; only that every figure is there and sane.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402

pytestmark = pytest.mark.skipif(not corpus.DATA.joinpath("enwiki-text").is_dir(),
                                reason="needs ../shared/data")


def test_dbpedia_titles_normalise_like_corpus_titles():
    assert corpus.normalize_dbpedia("<dbpedia:Batman_&amp;_Robin_%28film%29>") == "Batman & Robin (film)"
    assert corpus.normalize_dbpedia("<dbpedia:Words_&_Pictures_Museum>") == "Words & Pictures Museum"


def test_scaled_copies_get_new_ids_and_titles():
    doc = corpus.Doc(12, "Anarchism", "text\n")
    assert corpus.scaled(doc, 1) is doc
    assert corpus.scaled(doc, 3) == corpus.Doc(12 + 2 * 10**7, "Anarchism (copy 3)", "text\n")


def test_written_corpus_reads_back_and_matches_the_real_bytes(tmp_path):
    import lzma

    spec = corpus.CorpusSpec(limit_docs=30, scale=2)
    info = corpus.prepare(spec, tmp_path)
    docs = list(corpus.iter_docs(tmp_path))
    assert len(docs) == info["docs"] == 60
    assert docs[0].title == "Anarchism" and not docs[0].text.startswith("Anarchism\n")
    assert docs[30].page_id == docs[0].page_id + 10**7 and docs[30].title == "Anarchism (copy 2)"
    assert info["text_bytes"] == sum(len(d.full_text().encode()) for d in docs)
    # Copy 1 is byte for byte the start of the real file: title escaping and body survive.
    written = (tmp_path / "wiki-01-AA.txt").read_bytes()
    with lzma.open(spec.input_files()[0]) as f:
        assert f.read(len(written)) == written
    # Postings: distinct (term, doc) pairs under the reference analyzer.
    analyze = corpus.ReferenceAnalyzer()
    assert info["postings"] == sum(len(set(analyze(d.full_text()))) for d in docs)


def test_judgments_on_the_full_corpus_match_the_data_readme(tmp_path):
    titles: dict[str, list[int]] = {}
    for path in corpus.CorpusSpec().input_files():
        for doc in corpus.read_wikiextractor(path):
            titles.setdefault(doc.title, []).append(doc.page_id)
    assert sum(len(v) for v in titles.values()) == 30_729
    queries, qrels = corpus.load_judgments(titles)
    assert len(queries) == 276
    assert sum(1 for q in qrels.values() for r in q.values() if r > 0) == 1101


def test_run_all_end_to_end_on_a_tiny_corpus(tmp_path):
    pytest.importorskip("bm25s")
    pytest.importorskip("tantivy")
    pytest.importorskip("ir_measures")
    pytest.importorskip("matplotlib")
    pytest.importorskip("psutil")
    engines = ["wikisearch", "wikisearch-nocache", "bm25s", "tantivy-fields", "rank_bm25", "xapian"]
    cmd = [sys.executable, str(BENCH / "run_all.py"), "--limit-docs", "200", "--limit-queries", "10",
           "--engines", ",".join(engines), "--repeats", "1", "--cold-repeats", "1",
           "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out"), "--timeout", "120"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    result = json.loads((tmp_path / "out" / "peers-200docs-x1.json").read_text())
    assert result["corpus"]["docs"] == 200 and result["judgments"]["queries"] == 10
    assert result["corpus"]["checksum"]["matches_manifest"]
    assert result["machine"]["logical_cores"] >= 1
    recs = result["engines"]
    assert list(recs) == engines
    for name in ("bm25s", "tantivy-fields"):
        rec = recs[name]
        assert rec["status"] == "ok", rec["error"]
        assert rec["versions"][{"bm25s": "bm25s", "tantivy-fields": "tantivy"}[name]]
        assert rec["build"]["seconds"] > 0 and rec["build"]["peak_rss_mb"] > 0
        assert rec["index"]["bytes"] > 0 and rec["index"]["bits_per_posting"] > 0
        assert len(rec["latencies_ms"]) == 10
        assert 0 < rec["query"]["p50_ms"] <= rec["query"]["p95_ms"]
        assert rec["cold"]["seconds"] > 0 and rec["query"]["peak_rss_mb"] > 0
        assert 0.1 < rec["quality"]["ndcg@10"] <= 1 and 0 < rec["quality"]["recall@100"] <= 1
    assert set(recs["tantivy-fields"]["grid"]) == {f"tantivy-fields@title^{b}" for b in (1, 2, 5)}
    for name in ("wikisearch", "rank_bm25", "xapian"):  # measured, or the reason why not
        assert recs[name]["status"] in ("ok", "skipped", "failed", "timed_out")
        assert recs[name]["status"] == "ok" or recs[name]["error"]
    if recs["wikisearch"]["status"] == recs["wikisearch-nocache"]["status"] == "ok":
        # the cache of scored lists changes the speed, never the ranking
        assert recs["wikisearch-nocache"]["quality"] == recs["wikisearch"]["quality"]
    if recs["wikisearch"]["status"] == "ok":
        assert set(result["ratios"]) == {n for n, r in recs.items() if r["status"] == "ok"} - {"wikisearch"}

    md = (tmp_path / "out" / "RESULTS.md").read_text()
    assert "| bm25s |" in md and "200docs-x1" in md
    for png in ("200docs-x1-latency.png", "200docs-x1-bars.png"):
        assert (tmp_path / "out" / "plots" / png).stat().st_size > 1000
