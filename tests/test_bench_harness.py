"""The peer benchmark harness (benchmarks/run_all.py) end to end on a tiny corpus, so it cannot rot.

Timings are never asserted; only that every figure is there and sane. Every engine must be measured:
a wikisearch run that fails or finds nothing fails the test, and so does a peer's. Without the shared
data or the ``bench`` extra (bm25s, tantivy, rank_bm25, xapian, ir_measures, matplotlib, psutil) the
tests that need them are skipped locally and FAIL under CI (tests/conftest.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
from conftest import require_import, requires_shared  # noqa: E402  (tests/conftest.py)

#: The corpus (the four WikiExtractor files) and the DBpedia-Entity judgments, where corpus.py reads them.
needs_corpus = requires_shared(*(corpus.DATA / corpus.TEXT_NAME.format(p) for p in corpus.TEXT_PARTS),
                               corpus.DATA / corpus.QUERIES, corpus.DATA / corpus.QRELS)
#: What run_all.py imports to measure, score and plot (the harness), and the peers' own packages.
HARNESS_MODULES = ("ir_measures", "matplotlib", "psutil")
PEER_MODULES = ("bm25s", "tantivy", "rank_bm25", "xapian")
ENGINES = ["wikisearch", "wikisearch-nocache", "wikisearch-rerank", "bm25s", "tantivy-fields", "rank_bm25", "xapian"]


def test_dbpedia_titles_normalise_like_corpus_titles():
    assert corpus.normalize_dbpedia("<dbpedia:Batman_&amp;_Robin_%28film%29>") == "Batman & Robin (film)"
    assert corpus.normalize_dbpedia("<dbpedia:Words_&_Pictures_Museum>") == "Words & Pictures Museum"


def test_scaled_copies_get_new_ids_and_titles():
    doc = corpus.Doc(12, "Anarchism", "text\n")
    assert corpus.scaled(doc, 1) is doc
    assert corpus.scaled(doc, 3) == corpus.Doc(12 + 2 * 10**7, "Anarchism (copy 3)", "text\n")


@needs_corpus
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


@needs_corpus
def test_judgments_on_the_full_corpus_match_the_data_readme(tmp_path):
    titles: dict[str, list[int]] = {}
    for path in corpus.CorpusSpec().input_files():
        for doc in corpus.read_wikiextractor(path):
            titles.setdefault(doc.title, []).append(doc.page_id)
    assert sum(len(v) for v in titles.values()) == 30_729
    queries, qrels = corpus.load_judgments(titles)
    assert len(queries) == 276
    assert sum(1 for q in qrels.values() for r in q.values() if r > 0) == 1101


@needs_corpus
def test_run_all_end_to_end_on_a_tiny_corpus(tmp_path):
    require_import(*HARNESS_MODULES, *PEER_MODULES, why="the bench extra: pip install -e '.[bench]'")
    work = tmp_path / "work"
    cmd = [sys.executable, str(BENCH / "run_all.py"), "--limit-docs", "200", "--limit-queries", "10",
           "--engines", ",".join(ENGINES), "--repeats", "1", "--cold-repeats", "1",
           "--work", str(work), "--out", str(tmp_path / "out"), "--timeout", "300"]
    # (hang guards, not speed checks: a 200-document build passed 120 s on a machine loaded by a
    # full-scale build beside the test run)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]

    result = json.loads((tmp_path / "out" / "peers-200docs-x1.json").read_text())
    assert result["corpus"]["docs"] == 200 and result["judgments"]["queries"] == 10
    assert result["corpus"]["checksum"]["matches_manifest"]
    assert result["machine"]["logical_cores"] >= 1
    qids = {qid for qid, _ in json.loads((work / "queries.json").read_text())}
    assert len(qids) == 10
    recs = result["engines"]
    assert list(recs) == ENGINES
    for name, rec in recs.items():
        # measured, not skipped or failed: the peers' packages were importable (above), and a
        # wikisearch that cannot build, start or answer is exactly what this test is for
        assert rec["status"] == "ok", f"{name}: {rec['status']}: {rec['error']}"
        assert rec["versions"] and all(rec["versions"].values()), (name, rec["versions"])
        assert rec["build"]["seconds"] > 0 and rec["build"]["peak_rss_mb"] > 0
        assert rec["index"]["bytes"] > 0 and rec["index"]["bits_per_posting"] > 0
        assert rec["query"]["n_queries"] == len(rec["latencies_ms"]) == 10
        assert 0 < rec["query"]["p50_ms"] <= rec["query"]["p95_ms"]
        first = rec["query"]["first_sight"]   # the 5 odd-numbered queries, each timed once
        assert first["n_queries"] == 5 and 0 < first["p50_ms"] <= first["p95_ms"]
        assert rec["cold"]["seconds"] > 0 and rec["query"]["peak_rss_mb"] > 0
        # it found something for every query: the run file has hits for all 10
        assert rec["query"]["empty_results"] == 0, f"{name}: no hits for some queries"
        run = (work / "runs" / f"{name}.trec").read_text().splitlines()
        assert {line.split()[0] for line in run if line.strip()} == qids, name
        quality = rec["quality"] if name != "wikisearch-rerank" else rec["quality_on_training_queries"]
        assert 0.1 < quality["ndcg@10"] <= 1 and 0 < quality["recall@100"] <= 1, name
    # the re-ranker's model trained on these judgments: timed, its nDCG kept apart and not reported
    assert recs["wikisearch-rerank"]["quality"] == {} and recs["wikisearch-rerank"]["per_query"] == {}
    assert result["ratios"]["wikisearch-rerank"]["ndcg@10"] is None
    assert set(recs["tantivy-fields"]["grid"]) == {f"tantivy-fields@title^{b}" for b in (1, 2, 5)}
    # the cache of scored lists changes the speed, never the ranking
    assert recs["wikisearch-nocache"]["quality"] == recs["wikisearch"]["quality"]
    # the re-ranker re-orders the first stage's top 100: the same pages in the run file, another order
    def pages(name):
        return {(ln.split()[0], ln.split()[2]) for ln in (work / "runs" / f"{name}.trec").read_text().splitlines() if ln}
    assert pages("wikisearch-rerank") == pages("wikisearch")
    assert set(result["ratios"]) == set(ENGINES) - {"wikisearch"}

    md = (tmp_path / "out" / "RESULTS.md").read_text()
    assert "| bm25s |" in md and "| wikisearch |" in md and "200docs-x1" in md
    for png in ("200docs-x1-latency.png", "200docs-x1-bars.png"):
        assert (tmp_path / "out" / "plots" / png).stat().st_size > 1000


def test_a_child_process_peak_memory_is_its_own_not_the_harness(tmp_path):
    """Linux keeps a process's peak RSS across exec, so wait4's ru_maxrss of a child is at least what
    the harness held when it started it; the measured peak must be the child's own (VmHWM)."""
    require_import("psutil")
    require_import("tantivy")
    import numpy as np
    from peers.measure import run_child

    held = np.ones(300 * 2**20 // 8)          # 300 MB resident in this process while the child runs
    job = {"engine": "tantivy", "module": "peers.run_tantivy", "opts": {}}
    res = run_child("probe", job, tmp_path, timeout=120)
    assert res.ok, res.error
    assert res.ru_maxrss_mb >= 300            # the inherited figure, kept beside it
    assert 0 < res.peak_rss_mb < 200          # a Python that imported one module
    assert res.peak_tree_rss_mb >= res.peak_rss_mb
    del held
