"""wikisearch serve: every endpoint through a real HTTP client (Starlette's TestClient, httpx), and
the same against a real ``wikisearch serve`` process under uvicorn, driven by mwclient (a MediaWiki
client library from PyPI that knows nothing of wikisearch).

The index: the bundled real sample (27 pages), tests/data/tiny.xml (a redirect "Lata" -> "Lata
Mangeshkar") and tests/data/serve_hostile.xml (one page titled ``<script>alert(1)</script>``).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, child_pids, require_import

HOSTILE = "<script>alert(1)</script>"
DATA = Path(__file__).parent / "data"


def _stop(proc) -> None:
    """End a server process started by a test: politely, then for sure."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    require_import("starlette", "uvicorn", "httpx", why="the serve extra and the dev extra")
    from wikisearch import build_index, sample_dump
    out = tmp_path_factory.mktemp("serve") / "idx"
    return build_index([sample_dump(), str(DATA / "tiny.xml"), str(DATA / "serve_hostile.xml")], out,
                       workers=1, progress=False)


@pytest.fixture(scope="module")
def searcher(index):
    from wikisearch.search.searcher import Searcher
    return Searcher(index)


@pytest.fixture(scope="module")
def client(searcher):
    from starlette.testclient import TestClient
    from wikisearch.serve.app import create_app
    with TestClient(create_app(searcher, threads=2)) as c:
        yield c


# --- /api/search -----------------------------------------------------------------------------------

def test_search_answers_as_the_library_does(client, searcher):
    r = client.get("/api/search", params={"q": "swedish furniture", "limit": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    lib = searcher.search("swedish furniture", k=3)
    assert [h["title"] for h in body["hits"]] == [h.title for h in lib]
    assert [h["pageid"] for h in body["hits"]] == [h.page_id for h in lib]
    assert body["hits"][0]["title"] == "IKEA" and body["hits"][0]["url"].endswith("/IKEA")
    assert body["searchinfo"]["totalhits"] == lib.total_matches
    for name in ("snippet", "redirecttitle", "sectiontitle", "categorysnippet", "wordcount"):
        assert name in body["hits"][0]
    assert body["took_ms"] >= 0 and "app;dur=" in r.headers["server-timing"]


def test_search_pages_through_the_same_ranking(client, searcher):
    every = [h.title for h in searcher.search("berlin", k=6)]
    first = client.get("/api/search", params={"q": "berlin", "limit": 3}).json()
    second = client.get("/api/search", params={"q": "berlin", "limit": 3, "offset": 3}).json()
    assert [h["title"] for h in first["hits"] + second["hits"]] == every
    assert [h["rank"] for h in second["hits"]] == [4, 5, 6][:len(second["hits"])]


def test_a_server_reranks_with_the_model_it_was_given(searcher, tmp_path):
    """``create_app(rerank_model=FILE)`` (``serve --rerank-model``): rerank=1 answers with that
    model's order, the plain search is unchanged; without one, the shipped model's."""
    from starlette.testclient import TestClient
    from wikisearch.search.rerank import TreeModel, FEATURES, rerank
    from wikisearch.serve.app import create_app
    col = FEATURES.index("cov_title")
    mine = TreeModel({"format": "wikisearch-rerank", "version": 1, "features": list(FEATURES), "depth": 100,
                      "trees": [{"feature": [col], "threshold": [0.5], "left": [~0], "right": [~1],
                                 "value": [1.0, 0.0]}]})
    path = tmp_path / "mine.json"
    mine.save(path)
    q = "german chancellor physicist"
    want = [h.title for h in rerank(searcher, q, k=5, model=mine)]
    assert want != [h.title for h in rerank(searcher, q, k=5)]
    with TestClient(create_app(searcher, threads=2, rerank_model=path)) as c:
        got = c.get("/api/search", params={"q": q, "limit": 5, "rerank": "1"}).json()
        plain = c.get("/api/search", params={"q": q, "limit": 5}).json()
    assert [h["title"] for h in got["hits"]] == want
    assert [h["title"] for h in plain["hits"]] == [h.title for h in searcher.search(q, k=5)]


def test_serve_refuses_an_unusable_rerank_model_in_one_line(index, tmp_path):
    from click.testing import CliRunner
    from wikisearch.cli import main
    from wikisearch.search.rerank import DEFAULT_DENSE_MODEL
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path, code, says in [(bad, 1, "not valid JSON"),
                             (DEFAULT_DENSE_MODEL, 2, "reads dense similarity: it re-ranks mode=hybrid")]:
        r = CliRunner().invoke(main, ["serve", "-i", str(index), "--port", "0", "--rerank-model", str(path)])
        assert r.exit_code == code and says in r.output, r.output
        assert "Traceback" not in r.output


def test_search_reranks_as_the_library_does(client, searcher):
    from wikisearch.search.rerank import rerank
    every = rerank(searcher, "german chancellor physicist", k=6, snippets=True, correct=True)
    first = client.get("/api/search", params={"q": "german chancellor physicist", "limit": 3,
                                              "rerank": "1"}).json()
    second = client.get("/api/search", params={"q": "german chancellor physicist", "limit": 3,
                                               "offset": 3, "rerank": "1"}).json()
    assert first["rerank"] is True and second["rerank"] is True
    assert [h["title"] for h in first["hits"] + second["hits"]] == [h.title for h in every]
    assert [h["rank"] for h in second["hits"]] == [4, 5, 6][:len(second["hits"])]
    assert first["hits"][0]["snippet"]
    plain = client.get("/api/search", params={"q": "german chancellor physicist", "limit": 3}).json()
    assert plain["rerank"] is False
    for params, message in [({"rerank": "2"}, "must be one of 0, 1"),
                            ({"rerank": "1", "mode": "hybrid"}, "rerank=1 re-ranks lexical results")]:
        r = client.get("/api/search", params={"q": "berlin", **params})
        assert r.status_code == 400 and message in r.json()["error"], r.text


def test_exact_title_is_offered_as_go_to(client):
    assert client.get("/api/search", params={"q": "berlin"}).json()["exact"]["title"] == "Berlin"
    assert client.get("/api/search", params={"q": "Lata"}).json()["exact"]["title"] == "Lata Mangeshkar"
    assert client.get("/api/search", params={"q": "swedish furniture"}).json()["exact"] is None


@pytest.mark.parametrize("params, message", [
    ({}, "missing parameter 'q'"),
    ({"q": "   "}, "missing parameter 'q'"),
    ({"q": "x" * 301}, "at most 300"),
    ({"q": "berlin", "limit": "0"}, "between 1 and 100"),
    ({"q": "berlin", "limit": "101"}, "between 1 and 100"),
    ({"q": "berlin", "limit": "ten"}, "must be an integer"),
    ({"q": "berlin", "offset": "-1"}, "between 0 and 10000"),
    ({"q": "berlin", "offset": "10001"}, "between 0 and 10000"),
    ({"q": "berlin", "mode": "magic"}, "must be one of lexical, dense, hybrid"),
    ({"q": "berlin", "mode": "dense"}, "needs a dense index"),
    ({"q": '"unclosed'}, None),
])
def test_bad_search_input_is_400_with_one_line(client, params, message):
    r = client.get("/api/search", params=params)
    if message is None and r.status_code == 200:     # the parser forgives an unclosed quote
        return
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert "\n" not in err and (message is None or message in err), err


def test_a_query_the_parser_refuses_is_400(client, searcher):
    from wikisearch.errors import InvalidQueryError
    with pytest.raises(InvalidQueryError) as e:
        searcher.search("-berlin")
    r = client.get("/api/search", params={"q": "-berlin"})
    assert r.status_code == 400 and r.json()["error"] == " ".join(str(e.value).split())


# --- snippets, matched via, did you mean (the library's, through HTTP) ----------------------------------

def test_hits_carry_highlighted_snippets(client, searcher):
    hits = client.get("/api/search", params={"q": "merkel chancellor", "limit": 3}).json()["hits"]
    lib = searcher.search("merkel chancellor", k=3, snippets=True)
    for h, l in zip(hits, lib):
        assert h["snippet"]["text"] == l.snippet.text and h["snippet"]["html"] == l.snippet.html()
        assert [tuple(x) for x in h["snippet"]["highlights"]] == l.snippet.highlights
    marked = {hits[0]["snippet"]["text"][a:b].lower() for a, b in hits[0]["snippet"]["highlights"]}
    assert marked <= {"merkel", "chancellor"} and marked
    plain = client.get("/api/search", params={"q": "merkel chancellor", "snippets": "0"}).json()["hits"]
    assert all(h["snippet"] is None for h in plain)
    assert client.get("/api/search", params={"q": "x", "snippets": "yes"}).status_code == 400


def test_snippet_html_is_its_slow_oracle(searcher):
    """Snippet.html skips escaping where the text has nothing to escape: the same markup as
    escaping every piece (html_slow), on the index's snippets and on texts that need escaping."""
    import random

    from wikisearch.search.results import Snippet
    snippets = [h.snippet for q in ("merkel chancellor", "swedish furniture", "ikea", "berlin germany")
                for h in searcher.search(q, k=10, snippets=True) if h.snippet is not None]
    assert snippets
    rng = random.Random(7)
    for _ in range(400):
        text = "".join(rng.choice("ab &<>\"'\u00e9x") for _ in range(rng.randrange(0, 30)))
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, 2 * rng.randrange(0, 4))))
        snippets.append(Snippet(text, list(zip(cuts[::2], cuts[1::2]))))
    snippets.append(Snippet("", []))
    for s in snippets:
        assert s.html() == s.html_slow(), s
    assert Snippet("a<b", [(0, 1)]).html() == '<span class="searchmatch">a</span>&lt;b'


def test_matched_via_becomes_section_and_category(client):
    ikea = client.get("/api/search", params={"q": "smart home"}).json()["hits"][0]
    assert ikea["title"] == "IKEA" and ikea["sectiontitle"] == "Smart home" and ikea["sectionanchor"] == "Smart_home"
    assert ikea["matched_via"] == {"kind": "heading", "text": "Smart home", "anchor": "Smart_home"}
    cat = client.get("/api/search", params={"q": "mattress retailers"}).json()["hits"][0]
    assert cat["categorysnippet"] == "Mattress retailers of Sweden" and cat["sectiontitle"] is None
    mw = client.get("/w/api.php", params={"action": "query", "list": "search", "srsearch": "smart home",
                                          "srprop": "snippet|sectiontitle"}).json()["query"]["search"][0]
    assert mw["sectiontitle"] == "Smart home" and '<span class="searchmatch">' in mw["snippet"]


def test_did_you_mean_and_rewritten_query(client, searcher):
    info = client.get("/api/search", params={"q": "swedish furnture"}).json()["searchinfo"]
    assert info["suggestion"] == searcher.search("swedish furnture", correct=True).suggestion == "swedish furniture"
    rewritten = client.get("/api/search", params={"q": "berln"}).json()
    assert rewritten["searchinfo"]["rewrittenquery"] == "berlin" and rewritten["hits"][0]["title"] == "Berlin"
    exact = client.get("/api/search", params={"q": "berln", "correct": "0"}).json()
    assert exact["hits"] == [] and exact["searchinfo"]["rewrittenquery"] is None
    mw = client.get("/w/api.php", params={"action": "query", "list": "search", "srsearch": "swedish furnture"}).json()
    assert mw["query"]["searchinfo"]["suggestion"] == "swedish furniture"


# --- /api/suggest, /api/page -------------------------------------------------------------------------

def test_suggest_is_opensearch(client, searcher):
    r = client.get("/api/suggest", params={"q": "lat", "limit": 5})
    q, titles, descriptions, urls = r.json()
    assert q == "lat" and titles == [s.title for s in searcher.suggest("lat", 5)]
    assert "Lata Mangeshkar" in titles and len(titles) == len(descriptions) == len(urls)
    assert all(u.startswith("https://en.wikipedia.org/wiki/") for u in urls)
    assert client.get("/api/suggest", params={"q": "zzzzqq"}).json() == ["zzzzqq", [], [], []]
    assert client.get("/api/suggest", params={"q": "a", "limit": "51"}).status_code == 400


def test_page_reads_the_stored_article(client, searcher):
    d = client.get("/api/page/IKEA").json()
    doc = searcher.doc("IKEA")
    assert d["title"] == "IKEA" and d["pageid"] == doc.page_id and d["opening"] == doc.opening
    assert d["sections"] == doc.sections and d["categories"] == doc.categories and d["body"]
    assert d["redirected"] is False


def test_page_resolves_redirects_and_odd_titles(client):
    d = client.get("/api/page/Lata").json()
    assert d["title"] == "Lata Mangeshkar" and d["redirected"] is True and d["requested"] == "Lata"
    assert client.get("/api/page/" + "The Ren %26 Stimpy Show").json()["title"] == "The Ren & Stimpy Show"
    assert client.get("/api/page/Ranma%20%C2%BD").json()["title"] == "Ranma ½"


def test_unknown_page_is_404_and_bad_title_400(client):
    r = client.get("/api/page/No such article anywhere")
    assert r.status_code == 404 and "no article titled" in r.json()["error"]
    assert client.get("/api/page/" + "x" * 600).status_code == 400
    assert client.get("/api/page/%20").status_code == 400


def test_no_request_reaches_the_file_system(client, index):
    for path in ("/static/../manifest.json", "/static/%2e%2e%2fmanifest.json", "/static/index.html",
                 "/static/app.py", "/api/page/../../manifest.json", "/manifest.json", "/static/"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "format_version" not in r.text and "import" not in r.text
    assert client.get("/static/style.css").status_code == 200


# --- escaping ----------------------------------------------------------------------------------------

def test_hostile_title_is_data_not_markup(client):
    hits = client.get("/api/search", params={"q": "hostile title markup"}).json()["hits"]
    assert hits[0]["title"] == HOSTILE                  # JSON carries the text; the page escapes it
    assert client.get("/api/page/" + HOSTILE).json()["title"] == HOSTILE
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    js = client.get("/static/app.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


def test_page_is_small_and_self_contained(client):
    html = client.get("/").text
    total = len(html.encode()) + sum(len(client.get(f"/static/{n}").content) for n in ("app.js", "style.css"))
    assert total < 50_000, total
    for text in (html, client.get("/static/app.js").text, client.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text   # no CDN, nothing fetched from outside


# --- Kiwix and MediaWiki shapes ------------------------------------------------------------------

def test_kiwix_search_and_suggest(client):
    j = client.get("/search", params={"pattern": "berlin", "format": "json", "pageLength": 2}).json()
    assert j["hits"][0]["title"] == "Berlin" and len(j["hits"]) == 2
    j2 = client.get("/search", params={"pattern": "berlin", "format": "json", "start": 1, "pageLength": 1}).json()
    assert j2["hits"][0]["title"] == j["hits"][1]["title"]
    r = client.get("/search", params={"pattern": "berlin"}, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/?q=berlin"
    assert client.get("/search", params={"pattern": "berlin", "format": "xml"}).status_code == 400
    s = client.get("/suggest", params={"term": "lata"}).json()
    assert s[0] == {"value": "Lata Mangeshkar", "label": "Lata Mangeshkar", "kind": "path", "path": "Lata Mangeshkar"}
    assert s[-1]["kind"] == "pattern" and s[-1]["value"] == "lata"


def test_mediawiki_list_search(client, searcher):
    r = client.get("/w/api.php", params={"action": "query", "list": "search", "srsearch": "berlin",
                                         "srlimit": 2, "format": "json"}).json()
    assert [x["title"] for x in r["query"]["search"]] == [h.title for h in searcher.search("berlin", k=2)]
    row = r["query"]["search"][0]
    assert row["ns"] == 0 and row["pageid"] == 3354 and row["size"] > 0 and row["wordcount"] > 0
    assert r["query"]["searchinfo"]["totalhits"] == searcher.search("berlin").total_matches
    assert r["continue"] == {"sroffset": 2, "continue": "-||"}
    title_only = client.get("/w/api.php", params={"action": "query", "list": "search", "srsearch": "berlin",
                                                  "srwhat": "title", "srprop": ""}).json()
    assert [x["title"] for x in title_only["query"]["search"]] == \
        [h.title for h in searcher.search("berlin", fields=["title"])]
    assert set(title_only["query"]["search"][0]) == {"ns", "title", "pageid"}


def test_mediawiki_errors_are_mediawiki_errors(client):
    for params, code in (({"action": "query", "list": "search"}, "badvalue"),
                         ({"action": "parse"}, "badvalue"), ({}, "missingparam"),
                         ({"action": "query", "list": "search", "srsearch": "x", "srlimit": "0"}, "badvalue"),
                         ({"action": "query", "list": "search", "srsearch": "x", "srprop": "bogus"}, "badvalue")):
        r = client.get("/w/api.php", params=params)
        assert r.status_code == 200 and r.headers["mediawiki-api-error"] == code, params
        assert "\n" not in r.json()["error"]["info"]
    r = client.get("/w/api.php", params={"action": "query", "list": "search", "srsearch": "berlin", "srlimit": "500"})
    assert "srlimit may not be over 100" in r.json()["warnings"]["search"]["*"]      # as MediaWiki: capped


def test_mediawiki_post_form(client):
    form = {"action": "query", "list": "search", "srsearch": "berlin", "srlimit": "1", "format": "json"}
    assert client.post("/w/api.php", data=form).json()["query"]["search"][0]["title"] == "Berlin"
    big = client.post("/w/api.php", data={"action": "query", "srsearch": "x" * 20_000})
    assert big.status_code == 400 and "over 16384 bytes" in big.json()["error"]
    assert client.post("/w/api.php", content=b"{}", headers={"content-type": "application/json"}).status_code == 400


def test_openapi_describes_every_route(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    served = {r.path.replace(":path}", "}") for r in client.app.routes} - {"/", "/static/{name}", "/favicon.ico"}
    assert served == set(spec["paths"]), served ^ set(spec["paths"])
    for path, item in spec["paths"].items():
        for p in item["get"]["parameters"]:
            assert p["in"] in ("query", "path") and "schema" in p, (path, p)


def test_unknown_route_and_method(client):
    assert client.get("/nope").status_code == 404
    assert client.post("/api/search", data={"q": "x"}).status_code == 405


# --- a real server process ---------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(index):
    """``python -m wikisearch serve`` on a free loopback port; its base URL."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "wikisearch", "serve", "-i", str(index), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    import httpx
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/info", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {proc.stdout.read()}") from None
                time.sleep(0.1)
        yield base
    finally:
        _stop(proc)


def test_real_server_answers_every_endpoint(server, searcher):
    import httpx
    with httpx.Client(base_url=server, timeout=180) as c:      # a cold numba cache compiles first
        assert c.get("/api/info").json()["documents"] == searcher.n_docs
        assert c.get("/api/search", params={"q": "swedish furniture"}).json()["hits"][0]["title"] == "IKEA"
        assert c.get("/api/suggest", params={"q": "ike"}).json()[1] == [x.title for x in searcher.suggest("ike")]
        assert c.get("/api/page/Lata").json()["title"] == "Lata Mangeshkar"
        assert c.get("/api/page/Nothing here").status_code == 404
        assert c.get("/api/search", params={"q": "x", "limit": 1000}).status_code == 400
        assert c.get("/search", params={"pattern": "ikea", "format": "json"}).json()["hits"][0]["title"] == "IKEA"
        assert c.get("/suggest", params={"term": "ike"}).json()[0]["value"] == "IKEA"
        assert c.get("/openapi.json").json()["info"]["title"] == "wikisearch"
        home = c.get("/")
        assert "<title>wikisearch</title>" in home.text and "server" not in home.headers


def test_mwclient_searches_it_unchanged(server, searcher):
    """mwclient, pointed at the server, connects (siteinfo), searches with continuation, and
    runs opensearch: the same titles as the library, in the same order."""
    mwclient = require_import("mwclient", why="the dev extra")
    host = server.removeprefix("http://")
    site = mwclient.Site(host, path="/w/", scheme="http", clients_useragent="wikisearch-tests")
    assert site.version >= (1, 16)
    got = [r["title"] for r in site.search("berlin", max_items=5, api_chunk_size=2)]   # 3 requests
    assert got == [h.title for h in searcher.search("berlin", k=5)]
    first = next(iter(site.search("swedish furniture")))
    assert first["title"] == "IKEA" and first["pageid"] == 14751 and "wordcount" in first
    # opensearch answers a JSON list (as Wikipedia does), which mwclient's api() cannot parse: raw_call
    raw = site.raw_call("api", {"action": "opensearch", "search": "lata", "limit": 3, "format": "json"},
                        http_method="GET")
    assert json.loads(raw)[1] == [x.title for x in searcher.suggest("lata", 3)]
    assert json.loads(raw)[1][0] == "Lata Mangeshkar"
    with pytest.raises(mwclient.errors.APIError):
        site.api("parse", page="IKEA")


def test_cli_serve_help_names_the_safe_default():
    from click.testing import CliRunner
    from wikisearch.cli import main
    out = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "127.0.0.1" in out and "--workers" in out and "--port" in out


def test_loopback_check():
    from wikisearch.serve.server import is_loopback
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_json_is_utf8_not_escaped(client):
    r = client.get("/api/search", params={"q": "Москва"})
    assert "Москва" in r.content.decode("utf-8")
    assert json.loads(r.content)["hits"][0]["title"] == "Москва"


# --- speed: the answer cache, orjson, several processes --------------------------------------------

def test_repeated_answers_come_from_the_cache_unchanged(searcher):
    """A repeated search or suggest URL is answered from the cache (Server-Timing says so) with the
    very bytes of the first answer; errors and MediaWiki errors are never cached; the cache stays
    under its bound."""
    from starlette.testclient import TestClient
    from wikisearch.serve.app import create_app
    app = create_app(searcher, threads=2, cache_bytes=20_000)
    with TestClient(app) as c:
        for url in ("/api/search?q=swedish+furniture", "/api/suggest?q=ike", "/search?pattern=ikea&format=json",
                    "/suggest?term=ike", "/w/api.php?action=query&list=search&srsearch=ikea&format=json"):
            first, again = c.get(url), c.get(url)
            assert first.status_code == again.status_code == 200
            assert "cache" not in first.headers["server-timing"] and "cache;desc=hit" in again.headers["server-timing"]
            assert again.content == first.content and again.headers["content-type"] == first.headers["content-type"]
        for url in ("/api/search?q=x&limit=1000", "/w/api.php?action=query&list=search&format=json"):
            c.get(url)
            assert "cache" not in c.get(url).headers["server-timing"]
        for i in range(40):                          # ~1 kB each: the cache drops the oldest
            c.get(f"/api/search?q=berlin&limit={i + 1}&snippets=0")
        stats = c.get("/api/info").json()["cache"]
        assert 0 < stats["bytes"] <= 20_000 and stats["hits"] >= 5
        assert "cache;desc=hit" not in c.get("/api/search?q=swedish+furniture").headers["server-timing"]
    with TestClient(create_app(searcher, cache_bytes=0)) as c:     # off
        c.get("/api/suggest?q=ike")
        assert "cache" not in c.get("/api/suggest?q=ike").headers["server-timing"]
        assert c.get("/api/info").json()["cache"] is None


def test_json_writer_matches_the_standard_library(client):
    """The fast JSON writer (orjson) writes what json.dumps writes, value for value."""
    from wikisearch.serve.app import dumps, dumps_std
    for url in ("/api/search?q=berlin&limit=20", "/api/page/IKEA", "/w/api.php?action=query&list=search&srsearch=lata&format=json",
                "/api/suggest?q=b", "/openapi.json"):
        data = client.get(url).json()
        assert json.loads(dumps(data)) == json.loads(dumps_std(data)) == data


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/stat").exists(),
                    reason="forks, and reads /proc (Linux)")
def test_several_processes_serve_one_index(index, searcher):
    """``--processes 2``: two workers forked from one ready process answer on one port as the
    library does; a worker that dies is forked again; SIGTERM to the server stops every worker."""
    import signal

    import httpx
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "wikisearch", "serve", "-i", str(index), "--port", str(port),
                             "--processes", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    workers = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(base + "/api/search", params={"q": "swedish furniture"}, timeout=60)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {proc.stdout.read()}") from None
                time.sleep(0.1)
        assert r.json()["hits"][0]["title"] == "IKEA"
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(6):
                assert c.get("/api/suggest", params={"q": "ike"}).json()[1] == [x.title for x in searcher.suggest("ike")]
        workers = child_pids(proc.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)              # a worker dies: another is forked, ready
        deadline = time.monotonic() + 30
        while _alive(workers[0]) or len(child_pids(proc.pid)) < 2:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        for _ in range(6):                               # fresh connections reach both workers
            assert httpx.get(base + "/api/search", params={"q": "swedish furniture"},
                             timeout=60).json()["hits"][0]["title"] == "IKEA"
        workers = child_pids(proc.pid)
        assert len(workers) == 2 and workers[0] not in workers[1:]
    finally:
        _stop(proc)
    assert proc.returncode == 0, proc.stdout.read()
    assert not [w for w in workers if _alive(w)]         # no worker left behind


def test_a_spawned_worker_serves_from_the_environment(index, monkeypatch):
    """Where there is no fork, uvicorn spawns the workers: each makes its app from
    ``$WIKISEARCH_SERVE`` (what serve() sets there), and answers as the forked ones do."""
    from starlette.testclient import TestClient
    from wikisearch.serve.server import ENV, app_from_env
    monkeypatch.setenv(ENV, json.dumps({"index": str(index), "dense_dir": None, "threads": 2, "cache_bytes": 0}))
    with TestClient(app_from_env()) as c:
        assert c.get("/api/search", params={"q": "swedish furniture"}).json()["hits"][0]["title"] == "IKEA"
        assert c.get("/api/info").json()["cache"] is None


def test_processes_refuse_a_missing_index_in_one_line(tmp_path):
    require_import("starlette", "uvicorn", why="the serve extra")
    from click.testing import CliRunner
    from wikisearch.cli import main
    out = CliRunner().invoke(main, ["serve", "-i", str(tmp_path / "none"), "--processes", "2", "--port", "0"])
    assert out.exit_code != 0 and "none" in out.output and "Traceback" not in out.output


def test_the_direct_path_answers_the_bytes_of_starlettes_routes(searcher):
    """GET /api/search and /api/suggest skip Starlette's routing (``_App.fast``): status, headers
    (names, order, values but Server-Timing's duration) and body are what the routes answer (the
    body's took_ms aside), for good and bad parameters, repeated names, blanks, escapes, non-ASCII,
    with the cache and without, first answers and cached ones; HEAD still goes through Starlette."""
    import re

    from starlette.testclient import TestClient
    from wikisearch.serve.app import create_app

    def shape(r):
        if r.request.method == "GET":              # took_ms's digits vary: the length is checked here
            assert int(r.headers["content-length"]) == len(r.content)
        headers = [(k, re.sub(rb"dur=[0-9.]+", b"dur=", v) if k != b"content-length" else b"")
                   for k, v in r.headers.raw]
        return r.status_code, headers, re.sub(rb'"took_ms":[0-9.e+-]+', b'"took_ms":0', r.content)

    urls = ["/api/suggest?q=ike", "/api/suggest?q=ike&limit=3", "/api/suggest?q=l&q=lata&limit=2",
            "/api/suggest?q=%C3%A9", "/api/suggest?q=M%D0%BE", "/api/suggest?q=", "/api/suggest",
            "/api/suggest?q=ike&limit=x", "/api/suggest?q=ike&limit=0", "/api/suggest?q=a%00b",
            "/api/suggest?q=" + "a" * 301, "/api/suggest?q=ike&&limit=", "/api/suggest?q=lata+man",
            "/api/search?q=swedish+furniture", "/api/search?q=berlin&limit=3&offset=2",
            "/api/search?q=berlin&snippets=0", "/api/search?q=swedsh+furnture", "/api/search?q=Москва",
            "/api/search?q=x&limit=1000", "/api/search?q=", "/api/search?q=berlin&mode=dense",
            "/api/search?q=berlin&mode=nope", "/api/search?q=%22lata+mangeshkar%22", "/api/search?q=a&q=ikea",
            "/api/search?q=t:", "/api/search?q=berlin&correct=0&snippets=1"]
    for cache_bytes in (0, 1 << 20):
        fast = create_app(searcher, threads=2, cache_bytes=cache_bytes)
        slow = create_app(searcher, threads=2, cache_bytes=cache_bytes, fast=False)
        assert set(fast.fast) == {"/api/search", "/api/suggest"} and not slow.fast
        with TestClient(fast) as f, TestClient(slow) as s:
            for url in urls + urls:                        # the second time from the cache (if on)
                a, b = f.get(url), s.get(url)
                assert shape(a) == shape(b), url
                assert ("cache;desc=hit" in a.headers["server-timing"]) == \
                    ("cache;desc=hit" in b.headers["server-timing"])
            assert shape(f.head("/api/suggest?q=ike")) == shape(s.head("/api/suggest?q=ike"))
            assert f.get("/api/suggest/?q=ike", follow_redirects=False).status_code == \
                s.get("/api/suggest/?q=ike", follow_redirects=False).status_code


def test_warm_up_before_serving_makes_no_spelling_dictionary(index, tmp_path):
    """Before serving (``rest=False``) the warm-up loads only what the first answers need: no
    spelling dictionary, neither read from spelling.bin (it is there, and stays unread) nor made
    when missing or stale (a minute for 30k articles: every answer would wait); the background
    warm-up (``rest=True``) makes it, as the first correction would."""
    import shutil

    from wikisearch.popularity.spelling import spelling_path, stored_dictionary
    from wikisearch.search.searcher import Searcher
    from wikisearch.serve.api import Service
    from wikisearch.serve.app import warm_up
    copy = tmp_path / "idx"
    shutil.copytree(index, copy)
    Searcher(copy).spelling()                                 # spelling.bin made if missing
    assert stored_dictionary(Searcher(copy).reader) is not None
    fresh = Searcher(copy)
    warm_up(Service(fresh), rest=False)
    assert fresh._spelling is None and fresh._suggester is not None
    spelling_path(copy).write_bytes(b"stale")                 # stale or damaged: as missing
    s = Searcher(copy)
    assert stored_dictionary(s.reader) is None
    warm_up(Service(s), rest=False)
    assert spelling_path(copy).read_bytes() == b"stale" and s.spelling(build=False) is None
    warm_up(Service(s), rest=True)
    assert stored_dictionary(s.reader) is not None and s.spelling(build=False) is not None
    fresh = Searcher(copy)
    assert fresh.spelling(build=False) is not None            # stored now: loaded, not made


def test_background_warm_up_waits_while_requests_are_in_flight(searcher):
    """The background warm-up runs each step once no request has been in flight for a moment
    (``Activity.wait_idle``), waiting at most ``MAX_WAIT_S`` in all; the app counts its requests."""
    import threading
    import time

    from starlette.testclient import TestClient

    from wikisearch.serve.app import Activity, create_app
    a = Activity()
    a.IDLE_S, a.MAX_WAIT_S = 0.02, 30.0
    a.begin()
    waiter = threading.Thread(target=a.wait_idle)
    waiter.start()
    time.sleep(0.2)
    assert waiter.is_alive()                                   # a request in flight: it waits
    a.end()
    waiter.join(10)
    assert not waiter.is_alive()
    busy = Activity()
    busy.MAX_WAIT_S = 0.1
    busy.begin()
    t0 = time.monotonic()
    busy.wait_idle()                                           # busy from the start: it warms up anyway
    assert time.monotonic() - t0 < 5
    app = create_app(searcher, cache_bytes=0)
    with TestClient(app) as c:
        before = app.activity.last
        assert c.get("/api/suggest", params={"q": "ik"}).status_code == 200
        assert c.get("/api/page/IKEA").status_code == 200
    assert app.activity.in_flight == 0 and app.activity.last > before
