"""The command line: every command works on the bundled sample; every failure is one line."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import wikisearch
from wikisearch.cli import main

DATA = Path(__file__).parent / "data"
from conftest import shared_path  # noqa: E402  (tests/conftest.py)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "idx"
    r = CliRunner().invoke(main, ["index", wikisearch.sample_dump(), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert "Indexed 24 documents" in r.output
    return out


def _one_line_error(result, pattern: str):
    assert result.exit_code == 1, result.output
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert pattern in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_query_table_and_json(index):
    r = CliRunner().invoke(main, ["query", "-i", str(index), "angela", "merkel"])
    assert r.exit_code == 0 and r.output.splitlines()[0].split()[1:3] == ["Angela", "Merkel"]
    r = CliRunner().invoke(main, ["query", "-i", str(index), "t:berlin", "--json", "-k", "3"])
    doc = json.loads(r.output)
    assert doc["query"] == "t:berlin"
    hit = doc["hits"][0]
    assert hit["title"] == "Berlin" and hit["url"] == "https://en.wikipedia.org/wiki/Berlin"
    assert {"title", "url", "page_id", "score"} <= set(hit)


def test_index_option_from_environment(index, monkeypatch):
    monkeypatch.setenv("WIKISEARCH_INDEX", str(index))
    r = CliRunner().invoke(main, ["query", "ikea"])
    assert r.exit_code == 0 and "IKEA" in r.output


def test_default_index_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WIKISEARCH_INDEX", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["index", str(DATA / "tiny.xml"), "-q"]).exit_code == 0
    assert (tmp_path / "wikisearch-index" / "manifest.json").exists()
    r = runner.invoke(main, ["query", "lata"])
    assert r.exit_code == 0 and "Lata Mangeshkar" in r.output


def test_stats_inspect_verify(index):
    runner = CliRunner()
    r = runner.invoke(main, ["stats", "-i", str(index), "--json"])
    s = json.loads(r.output)
    assert s["documents"] == 24 and s["postings"] > 0 and s["bits_per_posting"] > 0
    assert "documents" in runner.invoke(main, ["stats", "-i", str(index)]).output
    r = runner.invoke(main, ["inspect", "-i", str(index), "--term", "Berlin"])
    assert r.exit_code == 0 and "term 'berlin'" in r.output
    r = runner.invoke(main, ["inspect", "-i", str(index), "--doc", "IKEA"])
    assert r.exit_code == 0 and "[infobox]" in r.output
    r = runner.invoke(main, ["inspect", wikisearch.sample_dump(), "--page", "Berlin"])
    assert r.exit_code == 0 and "categories" in r.output and "[title] 1 terms" in r.output
    assert runner.invoke(main, ["verify", "-i", str(index)]).output.startswith("OK")


@pytest.mark.parametrize("query, message", [
    ("", "empty query"), ('"', "nothing to search"), ("AND", "nothing to search"),
    ("the of and", "only stopwords"), ("-berlin", "only excludes"),
])
def test_bad_queries_are_one_line_errors(index, query, message):
    _one_line_error(CliRunner().invoke(main, ["query", "-i", str(index), query]), message)


def test_negation_is_not_taken_for_an_option(index):
    plain = CliRunner().invoke(main, ["query", "-i", str(index), "berlin"])
    assert plain.exit_code == 0 and "1. Berlin " in plain.output
    r = CliRunner().invoke(main, ["query", "-i", str(index), "berlin", "-wall", "-k", "5"])
    assert r.exit_code == 0 and "Berlin " not in r.output   # the article mentions the Wall


def test_odd_queries_give_results(index):
    runner = CliRunner()
    for q in ["foo:berlin", "c:", '"angela merkel', "berlin " * 10_000, "t:", "NOT"]:
        r = runner.invoke(main, ["query", "-i", str(index), q])
        assert r.exit_code in (0, 1) and "Traceback" not in r.output, (q, r.output)
        if r.exit_code == 1:
            _one_line_error(r, "")


def test_missing_and_damaged_index(index, tmp_path):
    _one_line_error(CliRunner().invoke(main, ["query", "-i", str(tmp_path / "nope"), "x"]), "no index")
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in index.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    raw = bytearray((broken / "docs.bin").read_bytes())
    raw[len(raw) // 2] ^= 0x40
    (broken / "docs.bin").write_bytes(bytes(raw))
    _one_line_error(CliRunner().invoke(main, ["query", "-i", str(broken), "berlin"]), "corrupt index file")


def test_bad_dumps_are_one_line_errors(tmp_path):
    runner = CliRunner()
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    _one_line_error(runner.invoke(main, ["index", str(empty), "-o", str(tmp_path / "a"), "-q"]), "empty")
    truncated = tmp_path / "t.xml.bz2"
    raw = shared_path("enwiki-xml", "enwiki-minidump-dbpedia-extraction-framework.xml.bz2").read_bytes()
    truncated.write_bytes(raw[: len(raw) * 6 // 10])
    out = tmp_path / "b"
    _one_line_error(runner.invoke(main, ["index", str(truncated), "-o", str(out), "-q"]), "byte")
    assert not out.exists()          # nothing half-written looks like an index
    _one_line_error(runner.invoke(main, ["index", str(tmp_path / "missing.xml"), "-q"]), "not found")


def test_eval_command(index, tmp_path):
    q = tmp_path / "q.tsv"
    q.write_text("1\tangela merkel\n2\tswedish furniture\n")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 Angela_Merkel 2\n2 0 IKEA 1\n")
    r = CliRunner().invoke(main, ["eval", "-i", str(index), "--queries", str(q), "--qrels", str(qrels), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["metrics"]["nDCG@10"] == pytest.approx(1.0)


def test_python_dash_m_and_help():
    out = subprocess.run([sys.executable, "-m", "wikisearch", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "index" in out.stdout and "query" in out.stdout
    out = subprocess.run([sys.executable, "-m", "wikisearch", "--version"], capture_output=True, text=True)
    assert wikisearch.__version__ in out.stdout


def test_allow_truncated_indexes_the_whole_pages_before_the_damage(tmp_path):
    from wikisearch.ingest.dump import iter_pages
    from wikisearch.errors import DumpFormatError
    from wikisearch.index.reader import IndexReader
    raw = shared_path("enwiki-xml", "enwik8-head-4MB.xml.bz2").read_bytes()
    truncated = tmp_path / "t.xml.bz2"
    truncated.write_bytes(raw[: len(raw) // 2])
    before = []
    with pytest.raises(DumpFormatError):
        for page in iter_pages(truncated):
            before.append(page)
    articles = [p.title for p in before if p.ns == 0 and not p.redirect]
    out = tmp_path / "idx"
    r = CliRunner().invoke(main, ["index", str(truncated), "-o", str(out), "-q", "--allow-truncated"])
    assert r.exit_code == 0, r.output
    assert "Warning: " in r.output and "indexed the whole pages before it" in r.output
    reader = IndexReader(out)
    assert reader.titles() == articles and len(articles) > 50
    assert reader.manifest["warnings"]


def test_index_uses_every_available_core_by_default(tmp_path, monkeypatch):
    """No --workers: as many workers as the process may use cores; --workers lowers it."""
    import wikisearch.build as B
    seen = []
    real = B.build_index

    def recording(*args, **kw):
        seen.append(kw["workers"])
        return real(*args, **kw)
    monkeypatch.setattr(B, "build_index", recording)
    monkeypatch.setattr(B, "available_cores", lambda: 3)
    for extra, want in (([], 3), (["--workers", "1"], 1)):
        r = CliRunner().invoke(main, ["index", wikisearch.sample_dump(), "-o", str(tmp_path / "i"), "-q", *extra])
        assert r.exit_code == 0, r.output
        assert seen[-1] == want
    monkeypatch.undo()
    assert B.available_cores() == len(os.sched_getaffinity(0))
