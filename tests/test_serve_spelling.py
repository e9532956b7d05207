"""wikisearch serve on an index without spelling.bin: ONE builder process makes it (a process of
its own, not a serving one), no request waits for it (did-you-mean answers as if no correction
were found meanwhile), the serving processes pick it up once it is written, and a builder that
is killed is reported and leaves no file. Real servers, as tests/test_serve.py runs them.

The builder is held in its start (``WIKISEARCH_SPELLING_PAUSE``) and stopped there (SIGSTOP) by
the test, so that "while it builds" lasts as long as the test needs, whatever the machine's load.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, child_pids, require_import

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/stat").exists(),
                                reason="forks, and reads /proc (Linux)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    require_import("starlette", "uvicorn", "httpx", why="the serve extra and the dev extra")
    from wikisearch import build_index, sample_dump
    out = tmp_path_factory.mktemp("spell") / "idx"
    return build_index([sample_dump(), str(DATA / "tiny.xml")], out, workers=1, progress=False)


@pytest.fixture
def bare(built, tmp_path):
    """A copy of the index without spelling.bin."""
    copy = tmp_path / "idx"
    shutil.copytree(built, copy)
    (copy / "spelling.bin").unlink(missing_ok=True)
    return copy


class Server:
    """``python -m wikisearch serve`` on a free port, its output collected line by line."""

    def __init__(self, index, *args, pause: float = 5.0):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, PYTHONPATH=str(ROOT), WIKISEARCH_SPELLING_PAUSE=str(pause))
        self.proc = subprocess.Popen([sys.executable, "-m", "wikisearch", "serve", "-i", str(index),
                                      "--port", str(self.port), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
        self.lines: list[str] = []
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            assert time.monotonic() < deadline and self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.01)

    def wait_ready(self) -> None:
        import httpx
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.base + "/api/info", timeout=5)
                return
            except httpx.TransportError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "\n".join(self.lines)
                time.sleep(0.1)

    def get(self, path: str, **params) -> dict:
        import httpx
        r = httpx.get(self.base + path, params=params, timeout=60)   # a fresh connection each time
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _builders(pid: int) -> list[int]:
    """``pid``'s children running the spelling builder."""
    out = []
    for c in child_pids(pid):
        try:
            if b"popularity.spelling" in Path(f"/proc/{c}/cmdline").read_bytes():
                out.append(c)
        except OSError:
            continue
    return out


def _uncorrected(server: Server) -> None:
    """Misspelled queries answered at once, as if no correction were found."""
    t0 = time.monotonic()
    info = server.get("/api/search", q="swedish furnture")["searchinfo"]
    assert info["suggestion"] is None and info["rewrittenquery"] is None
    berln = server.get("/api/search", q="berln")
    assert berln["hits"] == [] and berln["searchinfo"]["rewrittenquery"] is None
    assert time.monotonic() - t0 < 30          # (no wait on a build; generous for a loaded machine)


def _corrected(server: Server) -> None:
    info = server.get("/api/search", q="swedish furnture")["searchinfo"]
    assert info["suggestion"] == "swedish furniture"
    berln = server.get("/api/search", q="berln")
    assert berln["searchinfo"]["rewrittenquery"] == "berlin" and berln["hits"][0]["title"] == "Berlin"


@pytest.mark.parametrize("processes", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_one_builder_and_no_request_waits_for_it(bare, processes):
    from wikisearch.index.reader import IndexReader
    from wikisearch.popularity.spelling import stored_dictionary
    server = Server(bare, *(["--processes", str(processes)] if processes > 1 else []))
    try:
        pid = int(server.wait_line(r"spelling\.bin is missing: building .* separate process \(pid (\d+)\)").group(1))
        os.kill(pid, signal.SIGSTOP)              # held in its start (the pause) until the test lets it go
        server.wait_ready()
        assert _builders(server.proc.pid) == [pid]
        for _ in range(2 * processes):
            assert server.get("/api/info")["spelling"] == "building"
        _uncorrected(server)
        assert not (bare / "spelling.bin").exists()
        os.kill(pid, signal.SIGCONT)
        server.wait_line(r"spelling dictionary ready")
        deadline = time.monotonic() + 60
        while not all(server.get("/api/info")["spelling"] == "ready" for _ in range(4 * processes)):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        for _ in range(processes):
            _corrected(server)                    # the same URLs: the answer cache was emptied
        assert _builders(server.proc.pid) == []
        assert len(child_pids(server.proc.pid)) == (processes if processes > 1 else 0)
        assert stored_dictionary(IndexReader(bare)) is not None
    finally:
        server.stop()
    out = "\n".join(server.lines)
    assert out.count("building the spelling dictionary") == 1, out   # once, not once per process
    assert "of this index" not in out             # no serving process made it (load_dictionary's message)
    assert server.proc.returncode in (0, -signal.SIGTERM), out   # (one process: uvicorn ends by the signal)


def test_a_killed_builder_is_reported_and_leaves_no_file(bare):
    server = Server(bare)
    try:
        pid = int(server.wait_line(r"separate process \(pid (\d+)\)").group(1))
        os.kill(pid, signal.SIGKILL)
        server.wait_line(r"Error: building the spelling dictionary failed \(exit status -9")
        server.wait_ready()
        assert server.get("/api/info")["spelling"] == "failed"
        _uncorrected(server)
    finally:
        server.stop()
    assert sorted(p.name for p in bare.iterdir() if p.name.startswith("spelling")) == []
    assert server.proc.returncode in (0, -signal.SIGTERM)


def test_a_usable_spelling_bin_is_read_not_built(bare):
    from wikisearch.search.searcher import Searcher
    Searcher(bare).spelling()                     # made in this process (the CLI's way), stored
    before = (bare / "spelling.bin").stat().st_mtime_ns
    server = Server(bare, pause=0)
    try:
        server.wait_ready()
        deadline = time.monotonic() + 60
        while server.get("/api/info")["spelling"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        _corrected(server)
    finally:
        server.stop()
    assert "building the spelling dictionary" not in "\n".join(server.lines)
    assert (bare / "spelling.bin").stat().st_mtime_ns == before


def test_stopping_the_server_stops_its_builder(bare):
    server = Server(bare)
    pid = int(server.wait_line(r"separate process \(pid (\d+)\)").group(1))
    os.kill(pid, signal.SIGSTOP)                  # still building when the server stops
    server.wait_ready()
    server.stop()
    assert server.proc.returncode in (0, -signal.SIGTERM)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists():          # (reaped by the server: gone, not a zombie)
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert not [p for p in bare.iterdir() if p.name.startswith("spelling")]


def test_the_answer_cache_empties_when_did_you_mean_comes_on():
    from wikisearch.serve.app import ResponseCache
    gen = [0]
    cache = ResponseCache(1 << 20, lambda: gen[0])
    cache.put("/a", b"old")
    assert cache.get("/a") == b"old"
    epoch = cache.epoch                            # an answer begun now ...
    gen[0] = 1                                     # ... the dictionary is loaded meanwhile
    cache.put("/b", b"begun before", epoch)
    assert cache.get("/a") is None and cache.get("/b") is None and cache.bytes == 0
    cache.put("/a", b"new", cache.epoch)
    assert cache.get("/a") == b"new"


def test_a_read_only_index_directory_gets_a_temporary_one(bare, monkeypatch):
    """Where the index directory cannot be written, the builder writes into a temporary
    directory of the server's (removed at stop), and the serving process reads it from there.
    (``os.access`` answers "read-only" for the index directory: root may write anywhere.)"""
    from wikisearch.popularity.spelling import PAUSE_ENV
    from wikisearch.search.searcher import Searcher
    from wikisearch.serve.spelling_build import SpellingBuild
    monkeypatch.setenv(PAUSE_ENV, "0")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == bare and mode == os.W_OK
                        else real(p, mode, **kw))
    searcher = Searcher(bare)
    said: list[str] = []
    build = SpellingBuild.for_searcher(searcher, said.append)
    searcher.spelling_source = build
    assert build.tmpdir is not None and build.path.parent == Path(build.tmpdir)
    assert searcher.search("berln", correct=True).rewritten_query is None
    build.start()
    build.reap_in_thread()
    assert "read-only" in said[0] and build.state() == "building"
    build.watch()                                 # returns once loaded (or failed)
    assert build.state() == "ready", said
    assert searcher.search("berln", correct=True).rewritten_query == "berlin"
    assert not (bare / "spelling.bin").exists() and build.path.exists()
    build.close()
    assert not Path(build.tmpdir).exists()
