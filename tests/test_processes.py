"""The build's worker processes: started without re-running the caller's script (no
``if __name__ == "__main__"`` guard needed), and stopped at once, whole tree, by SIGTERM or Ctrl-C."""
from __future__ import annotations

import bz2
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wikisearch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="process-tree checks read /proc (Linux)")

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """\
import wikisearch
print("the script ran", flush=True)
wikisearch.build_index(wikisearch.sample_dump(), "idx", workers=2)
searcher = wikisearch.open("idx")
print([h.title for h in searcher.search("berlin", k=1)])
"""


def _run(args, cwd, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, **kw)


def test_script_without_main_guard(tmp_path):
    """Spawned workers must not import the script: it would build again in every worker."""
    (tmp_path / "script.py").write_text(SCRIPT)
    p = _run([sys.executable, "script.py"], tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("the script ran") == 1, p.stdout
    assert "['Berlin']" in p.stdout


def test_python_c_and_stdin_without_main_guard(tmp_path):
    """``python -c`` and ``python -`` (what a notebook's kernel looks like: no importable main)."""
    p = _run([sys.executable, "-c", SCRIPT], tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("the script ran") == 1 and "['Berlin']" in p.stdout
    p = _run([sys.executable, "-"], tmp_path, input=SCRIPT.replace('"idx"', '"idx2"'))
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("the script ran") == 1 and "['Berlin']" in p.stdout


# --- stopping -----------------------------------------------------------------------------------
def _children() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc)."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            out[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def _tree(pid: int) -> list[int]:
    parents = _children()
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(c for c, pp in parents.items() if pp == p)
    return tree


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"                        # a zombie has exited (nobody reaped it yet)


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def running_build(tmp_path):
    """``wikisearch index`` with 2 workers, in the middle of a build: its input is a pipe (a FIFO
    named like a gzip file) that holds half the sample, so the build waits for the rest while its
    workers are up and a first block is finished. Yields (process, its tree of pids, work dir)."""
    xml = bz2.open(wikisearch.sample_dump()).read()
    fifo = tmp_path / "dump.xml.gz"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # Started as a terminal starts a foreground command: SIGINT at its default. A test run that
    # was itself started in the background of a non-interactive shell inherits SIGINT ignored,
    # and so would the build (rightly: that is how nohup and `cmd &` keep Ctrl-C away).
    proc = subprocess.Popen([sys.executable, "-m", "wikisearch", "index", str(fifo), "-o", "idx",
                             "--workers", "2", "--block-size", "64KB"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_sigint_default)
    writer = open(fifo, "wb")
    gz = gzip.GzipFile(fileobj=writer, mode="wb")
    gz.write(xml[:len(xml) // 2])
    gz.flush()
    writer.flush()
    work = tmp_path / ".idx.building"
    deadline = time.monotonic() + 180
    while True:
        tree = _tree(proc.pid)
        done = list(work.glob("blocks/*/segment.json"))
        if len(tree) >= 4 and done:            # main, 2 workers, resource tracker; a block done
            break
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the build did not get going"
        time.sleep(0.05)
    try:
        yield proc, tree, work
    finally:
        for pid in _tree(proc.pid):            # the test failed: leave nothing behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.communicate()
        try:
            gz.close()
            writer.close()
        except OSError:
            pass


def _gone_within(pids, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_signal_stops_the_whole_tree(running_build, how):
    proc, tree, work = running_build
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:                                      # a terminal sends SIGINT to the process group
        os.killpg(proc.pid, signal.SIGINT)
    left = _gone_within(tree, 2.0)
    assert not left, f"still running 2 s after {how}: {left} of {tree}"
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGINT), err
    assert "run the same command" in err and "to resume" in err, err
    assert str(work) in err
    assert "Traceback" not in err, err
    assert list(work.glob("blocks/*/segment.json")), "finished blocks must be kept"


def test_workers_die_with_a_killed_main_process(running_build):
    """SIGKILL leaves no chance to clean up: the workers go by themselves (PR_SET_PDEATHSIG)."""
    proc, tree, _ = running_build
    proc.kill()
    assert not _gone_within(tree, 2.0)
