"""The command line: every command works on the bundled sample; every failure is one line."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import wikisearch
from wikisearch.cli import main

DATA = Path(__file__).parent / "data"
from conftest import cli_lines, shared_path  # noqa: E402  (tests/conftest.py)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "idx"
    r = CliRunner().invoke(main, ["index", wikisearch.sample_dump(), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert "Indexed 24 documents" in r.output
    return out


def _one_line_error(result, pattern: str):
    assert result.exit_code == 1, result.output
    lines = cli_lines(result)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert pattern in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_query_table_and_json(index):
    r = CliRunner().invoke(main, ["query", "-i", str(index), "angela", "merkel"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].split()[1:3] == ["Angela", "Merkel"]
    r = CliRunner().invoke(main, ["query", "-i", str(index), "t:berlin", "--json", "-k", "3"])
    doc = json.loads(r.stdout)
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
    s = json.loads(r.stdout)
    assert s["documents"] == 24 and s["postings"] > 0 and s["bits_per_posting"] > 0
    assert "documents" in runner.invoke(main, ["stats", "-i", str(index)]).output
    r = runner.invoke(main, ["inspect", "-i", str(index), "--term", "Berlin"])
    assert r.exit_code == 0 and "term 'berlin'" in r.output
    r = runner.invoke(main, ["inspect", "-i", str(index), "--doc", "IKEA"])
    assert r.exit_code == 0 and "[infobox]" in r.output
    r = runner.invoke(main, ["inspect", wikisearch.sample_dump(), "--page", "Berlin"])
    assert r.exit_code == 0 and "categories" in r.output and "[title] 1 terms" in r.output
    assert runner.invoke(main, ["verify", "-i", str(index)]).stdout.startswith("OK")


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
    report = json.loads(r.stdout)
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


# --- the first hour: totals, paging, warnings, articles, priors, eval ----------------------------
def test_query_says_how_many_matched_and_pages(index):
    runner = CliRunner()
    r = runner.invoke(main, ["query", "-i", str(index), "germany", "-k", "3"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    total = json.loads(runner.invoke(main, ["query", "-i", str(index), "germany", "--json"]).stdout)
    n = total["total_matches"]
    assert n > 3
    assert lines[-1].startswith(f"1-3 of {n} matches") and "next page: --offset 3" in lines[-1]
    first = [l.split()[1] for l in lines[:3]]
    r = runner.invoke(main, ["query", "-i", str(index), "germany", "-k", "3", "--offset", "3"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0].lstrip().startswith("4. ")
    assert r.stdout.splitlines()[-1].startswith(f"4-{min(6, n)} of {n} matches")
    assert not set(first) & {l.split()[1] for l in r.stdout.splitlines()[:-1]}
    doc = json.loads(runner.invoke(main, ["query", "-i", str(index), "germany", "-k", "3",
                                          "--offset", "3", "--json"]).stdout)
    assert [h["rank"] for h in doc["hits"]] == [4, 5, 6] and doc["total_matches"] == n
    r = runner.invoke(main, ["query", "-i", str(index), "germany", "--offset", "5000"])
    assert r.exit_code == 0 and f"No results past 5,000: 'germany' has {n} matches." in r.output


def test_query_prints_its_warnings(index):
    r = CliRunner().invoke(main, ["query", "-i", str(index), "foo:berlin"])
    assert r.exit_code == 0
    assert "Warning: unknown field prefix 'foo:'" in r.output


def test_query_says_when_kernels_compile(index, monkeypatch):
    """numba's compile event (not a cache load) prints the note, once; a warm run prints none."""
    import numba
    from wikisearch.search.searcher import Searcher
    real = Searcher.search

    def compiling_search(self, *args, **kw):
        @numba.njit(cache=False)
        def fresh(x):                    # a new function: numba compiles it now
            return x + 1
        fresh(1)
        fresh(2.0)                       # a second compile: still one note
        return real(self, *args, **kw)
    runner = CliRunner()
    r = runner.invoke(main, ["query", "-i", str(index), "berlin"])
    assert "compiling" not in r.output
    monkeypatch.setattr(Searcher, "search", compiling_search)
    r = runner.invoke(main, ["query", "-i", str(index), "berlin"])
    assert r.exit_code == 0, r.output
    assert r.output.count("compiling search kernels (first run only") == 1
    assert "1. Berlin" in r.output


def test_show_an_article(index):
    runner = CliRunner()
    r = runner.invoke(main, ["show", "-i", str(index), "Angela", "Merkel"])
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.splitlines()[0] == "Angela Merkel"
    assert "https://en.wikipedia.org/wiki/Angela_Merkel" in out
    assert "Infobox:" in out and "Sections (" in out and "Categories (" in out
    doc = json.loads(runner.invoke(main, ["show", "-i", str(index), "berlin", "--json"]).stdout)
    assert doc["title"] == "Berlin" and doc["infobox"]["name"] == "Berlin"
    assert "History" in doc["sections"] and doc["categories"] and doc["text"].startswith("Berlin")
    by_id = runner.invoke(main, ["show", "-i", str(index), "--page-id", str(doc["page_id"])])
    assert by_id.stdout.splitlines()[0] == "Berlin"
    body = runner.invoke(main, ["show", "-i", str(index), "IKEA", "--text"]).stdout
    assert len(body) > len(runner.invoke(main, ["show", "-i", str(index), "IKEA"]).stdout)


def test_show_errors_are_one_line(index, tmp_path):
    _one_line_error(CliRunner().invoke(main, ["show", "-i", str(index), "No such page"]),
                    "no article titled 'No such page'")
    _one_line_error(CliRunner().invoke(main, ["show", "-i", str(tmp_path / "nope"), "Berlin"]), "no index")
    r = CliRunner().invoke(main, ["show", "-i", str(index)])
    assert r.exit_code == 2 and "TITLE or --page-id" in r.output


def test_priors_coverage_warning_and_remove(index, tmp_path):
    import shutil
    idx = tmp_path / "idx"
    shutil.copytree(index, idx)
    views = tmp_path / "views.tsv"
    views.write_text("en Berlin 1234 0\nen IKEA 99 0\n")
    runner = CliRunner()
    r = runner.invoke(main, ["priors", "-i", str(idx), str(views), "--format", "pageviews"])
    assert r.exit_code == 0, r.output
    assert "2 of 24 documents with views (8.3%" in r.output
    assert "Warning: only 2 of 24 documents (8.3%) have page views" in r.output
    assert "--no-priors" in r.output and "priors --remove" in r.output
    assert (idx / "priors.bin").exists()
    r = runner.invoke(main, ["priors", "-i", str(idx), "--remove"])
    assert r.exit_code == 0 and "Removed" in r.output and not (idx / "priors.bin").exists()
    r = runner.invoke(main, ["priors", "-i", str(idx), "--remove"])
    assert r.exit_code == 0 and "nothing to remove" in r.output
    assert runner.invoke(main, ["priors", "-i", str(idx), "--remove", str(views)]).exit_code == 2


def test_eval_says_what_matched_and_fails_when_nothing_did(index, tmp_path):
    q = tmp_path / "q.tsv"
    q.write_text("1\tangela merkel\n2\tswedish furniture\n3\tunjudged\n")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 Angela_Merkel 2\n2 0 IKEA 1\n2 0 Not_In_The_Sample 1\n")
    runner = CliRunner()
    args = ["eval", "-i", str(index), "--queries", str(q), "--qrels", str(qrels)]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "2 of 3 queries evaluated (2 judged); 2 of 3 judged documents are in the index" in r.output
    report = json.loads(runner.invoke(main, args + ["--json", "--no-priors"]).stdout)
    assert report["coverage"] == {"queries_given": 3, "queries_judged": 2, "judged_documents": 3,
                                  "judged_documents_in_index": 2}
    r = runner.invoke(main, args + ["--key", "page_id"])           # title judgments read as page ids
    _one_line_error(r, "none of the 3 judged documents")
    assert "judgments name documents by titles" in r.output and "--key title" in r.output
    other = tmp_path / "other.txt"
    other.write_text("x9 0 IKEA 1\n")
    _one_line_error(runner.invoke(main, ["eval", "-i", str(index), "--queries", str(q), "--qrels",
                                         str(other)]), "query ids of the queries file and of the qrels differ")


def test_missing_index_is_reported_before_any_compiling(tmp_path, monkeypatch):
    """A first run (cold numba cache) must not compile the search kernels for a minute to say that
    the index is not there."""
    import wikisearch.cli as cli

    def no_compiling():
        raise AssertionError("compiled before checking the index")
    monkeypatch.setattr(cli, "_precompile_search", no_compiling)
    _one_line_error(CliRunner().invoke(main, ["query", "-i", str(tmp_path / "nope"), "x"]), "no index")
    (tmp_path / "half").mkdir()
    _one_line_error(CliRunner().invoke(main, ["query", "-i", str(tmp_path / "half"), "x"]),
                    "not a complete wikisearch index")


_EXIT_PROBE = """
import atexit, gc, sys
atexit.register(lambda: sys.stderr.write(f"frozen at exit: {gc.get_freeze_count() > 0}\\n"))
from wikisearch.cli import main
main(sys.argv[1:], prog_name="wikisearch")
"""


def _cli_process(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own, its output piped; reports on stderr whether the
    collector was frozen (``startup.quick_exit``) when the process's last exit handler ran."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", _EXIT_PROBE, *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_read_only_commands_end_without_exit_collections_and_lose_nothing(index, tmp_path):
    """query, show and suggest end with the collector frozen (no collections over numba's
    objects at exit) and lose nothing: whole output when piped, same as in process, right
    exit status and one-line errors."""
    def took(text):
        return re.sub(r'\(\d+\.\d ms\)|"took_ms": [0-9.e-]+', "", text)
    runs = [["query", "-i", str(index), "berlin", "wall"],
            ["query", "-i", str(index), "berlin", "OR", "city", "--json", "-k", "30"],
            ["show", "-i", str(index), "Berlin", "--text"],
            ["suggest", "-i", str(index), "ber"]]
    for args in runs:
        ran = _cli_process(*args)
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert "frozen at exit: True" in ran.stderr
        inside = CliRunner().invoke(main, args)
        assert inside.exit_code == 0 and len(inside.stdout) > 50
        assert took(ran.stdout) == took(inside.stdout)
    ran = _cli_process("query", "-i", str(tmp_path / "nope"), "berlin")
    assert ran.returncode == 1 and "frozen at exit: True" in ran.stderr
    assert [line for line in ran.stderr.splitlines() if line.startswith("Error: ")] == [
        line for line in ran.stderr.splitlines() if "Error" in line] != []
    ran = _cli_process("show", "-i", str(index))
    assert ran.returncode == 2 and "TITLE or --page-id" in ran.stderr
