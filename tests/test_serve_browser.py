"""The search page in a real browser: Debian's chromium (``apt-get install chromium``; .ci/run
installs it) driven by Playwright for Python, never a downloaded browser. The server is uvicorn on a
loopback port, in a thread of this process, over the same index as tests/test_serve.py.

    python tests/test_serve_browser.py docs/serve-page.png     # the screenshot in docs/
"""
from __future__ import annotations

import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import require_import, require_or_skip  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DATA = Path(__file__).parent / "data"
HOSTILE = "<script>alert(1)</script>"


def build_index(out: Path) -> Path:
    from wikisearch import build_index as build, sample_dump
    return build([sample_dump(), str(DATA / "tiny.xml"), str(DATA / "serve_hostile.xml")], out,
                 workers=1, progress=False)


class Server:
    """uvicorn serving ``index`` on a free loopback port, in a thread; ``url``; ``stop()``."""

    def __init__(self, index):
        import uvicorn
        from wikisearch.serve.app import create_app
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(create_app(index), host="127.0.0.1", port=port,
                                                     log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self):
        self._server.should_exit = True
        self._thread.join(10)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_import("starlette", "uvicorn", why="the serve extra")
    s = Server(build_index(tmp_path_factory.mktemp("browser") / "idx"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = require_import("playwright.sync_api", why="the dev extra (Playwright for Python)")
    require_or_skip(Path(CHROMIUM).exists() or shutil.which("chromium"),
                    "needs Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)       # waits, not timings: a first request under load (CI) can take seconds
    dialogs, errors = [], []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: r.url.startswith(server.url) or errors.append(f"outside request {r.url}"))
    pg.goto(server.url + "/")
    yield pg
    assert not dialogs, f"a script ran: {dialogs}"
    assert not errors, errors
    context.close()


def test_type_see_suggestions_pick_one_with_the_keyboard(page):
    box = page.locator("#q")
    assert box.evaluate("e => e === document.activeElement")            # focused on load
    box.press_sequentially("lat", delay=30)
    option = page.locator("#suggestions li").first
    option.wait_for()
    assert option.inner_text().startswith("Lata Mangeshkar")
    box.press("ArrowDown")
    assert option.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    box.press("Enter")
    page.locator("#reader h1").wait_for()
    assert page.locator("#ptitle").inner_text() == "Lata Mangeshkar"
    assert "page=Lata+Mangeshkar" in page.url
    page.go_back()
    page.locator("#reader").wait_for(state="hidden")


def test_search_results_open_an_article_and_come_back(page):
    box = page.locator("#q")
    box.fill("berlin")
    box.press("Enter")
    first = page.locator("#hits li a.title").first
    first.wait_for()
    assert first.inner_text() == "Berlin"
    assert page.locator("#total").inner_text().startswith("Results 1\u2013")
    assert page.locator("#goto a").inner_text() == "Berlin"          # the exact title, offered
    first.click()
    page.locator("#ptitle").wait_for()
    assert page.locator("#ptitle").inner_text() == "Berlin"
    assert page.locator("#ptext p").count() > 5 and page.locator("#infobox tr").count() > 3
    page.go_back()
    first.wait_for()
    assert page.locator("#reader").is_hidden() and page.locator("#q").input_value() == "berlin"
    assert page.url.endswith("/?q=berlin")


def test_highlights_did_you_mean_and_sections(page):
    from playwright.sync_api import expect
    box = page.locator("#q")
    box.fill("swedish furnture")
    box.press("Enter")
    dym = page.locator("#didyoumean a")
    dym.wait_for()
    assert page.locator("#didyoumean").inner_text() == "Did you mean: swedish furniture?"
    dym.click()
    page.wait_for_url("**/?q=swedish+furniture")
    expect(page.locator("#didyoumean")).to_be_hidden()
    expect(page.locator("#hits li a.title").first).to_have_text("IKEA")
    assert box.input_value() == "swedish furniture"
    marks = page.locator("#hits .snippet .searchmatch").all_inner_texts()
    assert marks and {m.lower() for m in marks} <= {"swedish", "furniture"}
    box.fill("berln")
    box.press("Enter")
    expect(page.locator("#didyoumean")).to_contain_text("Showing results for berlin. Search instead for berln")
    page.locator("#didyoumean a").click()
    expect(page.locator("#total")).to_have_text("No results for \u201cberln\u201d.")
    box.fill("smart home")
    box.press("Enter")
    expect(page.locator("#hits li").first.locator(".via")).to_have_text("(section Smart home)")


def test_paging_with_the_keyboard_and_back(page):
    from playwright.sync_api import expect
    box = page.locator("#q")
    box.fill("city")
    box.press("Enter")
    page.locator("#hits li").first.wait_for()
    firsts = page.locator("#hits li a.title").all_inner_texts()
    assert len(firsts) == 10
    page.locator("#next").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**offset=10")
    expect(page.locator("#total")).to_contain_text("Results 11\u2013")
    assert set(page.locator("#hits li a.title").all_inner_texts()).isdisjoint(firsts)
    page.go_back()
    expect(page.locator("#total")).to_contain_text("Results 1\u2013")
    assert page.locator("#hits li a.title").all_inner_texts() == firsts


def test_rerank_toggle_reorders_the_results_and_stays_in_the_url(page, server):
    """The Re-rank box asks the API for rerank=1: the page shows the re-ranked order, says so, keeps
    it in the URL (and through paging, Back and a reload), and unticked shows the plain order."""
    import json
    import urllib.parse
    import urllib.request
    from playwright.sync_api import expect
    text = "german chancellor physicist"

    def api(**extra):
        url = server.url + "/api/search?" + urllib.parse.urlencode({"q": text, "limit": 10, **extra})
        with urllib.request.urlopen(url) as r:
            return [h["title"] for h in json.loads(r.read())["hits"]]
    plain, reranked = api(), api(rerank=1)
    assert plain != reranked                                    # (the check can fail)
    titles = page.locator("#hits li a.title")
    box = page.locator("#q")
    box.fill(text)
    page.locator("#rerank").check()
    box.press("Enter")
    page.wait_for_url("**rerank=1")
    expect(page.locator("#total")).to_contain_text(", re-ranked")
    assert titles.all_inner_texts() == reranked
    page.locator("#rerank").uncheck()                           # the same query, the plain order
    expect(page.locator("#total")).not_to_contain_text("re-ranked")
    assert "rerank" not in page.url and titles.all_inner_texts() == plain
    page.go_back()
    expect(page.locator("#total")).to_contain_text(", re-ranked")
    assert page.locator("#rerank").is_checked() and titles.all_inner_texts() == reranked
    page.reload()
    expect(page.locator("#total")).to_contain_text(", re-ranked")
    assert page.locator("#rerank").is_checked() and titles.all_inner_texts() == reranked


def test_hostile_title_renders_as_text(page, server):
    page.locator("#q").fill("hostile title markup")
    page.locator("#q").press("Enter")
    first = page.locator("#hits li a.title").first
    first.wait_for()
    assert first.inner_text() == HOSTILE
    assert page.locator("#hits script").count() == 0
    first.click()
    page.locator("#ptitle").wait_for()
    assert page.locator("#ptitle").inner_text() == HOSTILE
    assert page.locator("#ptext img, #ptext b, #reader script").count() == 0
    assert page.evaluate("document.title").startswith(HOSTILE)


def test_readable_on_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.goto(server.url + "/?page=IKEA")
    pg.locator("#ptitle").wait_for()
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert pg.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    context.close()


def screenshot(path: str) -> None:
    """The page after a search, for docs/ (a real index of the bundled sample)."""
    import tempfile
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(build_index(Path(tmp) / "idx"))
        try:
            with sync_playwright() as p:
                b = launch(p)
                pg = b.new_page(viewport={"width": 900, "height": 700})
                for _ in range(2):              # the second time warm (kernels loaded)
                    pg.goto(server.url + "/?q=swedish+furniture")
                    pg.locator("#hits li").first.wait_for()
                pg.locator("#q").fill("ang")
                pg.locator("#q").press("End")
                pg.locator("#q").press_sequentially("e", delay=50)
                pg.locator("#suggestions li").first.wait_for()
                pg.screenshot(path=path)
                b.close()
        finally:
            server.stop()


if __name__ == "__main__":
    screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/serve-page.png")
