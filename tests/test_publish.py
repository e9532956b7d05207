"""Atomic publish (``index/publish.py``): a publish killed at every step leaves the old or the new
index answering, and readers opening in a loop while indexes are swapped never see an error."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wikisearch import build_index
from wikisearch.index.publish import generations, old_dir, publish, resolve_index
from wikisearch.index.reader import IndexReader

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "wikisearch" / "data" / "sample-enwiki.xml.bz2"
TINY = Path(__file__).parent / "data" / "tiny.xml"
STEPS = ["publish:generation", "publish:link", "publish:swap", "publish:cleanup"]


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """Two finished indexes (the real sample: 24 articles; tiny.xml: 4), as plain directories."""
    base = tmp_path_factory.mktemp("two")
    out = {}
    for name, dump in (("a", SAMPLE), ("b", TINY)):
        idx = build_index([dump], base / name)
        out[name] = resolve_index(idx)
    return out


def _answer(path) -> int:
    """The index's document count, after one lookup and one title read (raises if unreadable)."""
    r = IndexReader(path)
    try:
        o = r.term_ordinal(r.term(0))
        r.postings(o)
        r.title(r.n_docs - 1)
        return r.n_docs
    finally:
        r.close()


def _publish_in_child(final: Path, out: Path, kill_at: str | None) -> int:
    code = f"from pathlib import Path; from wikisearch.index.publish import publish; " \
           f"publish(Path({str(final)!r}), Path({str(out)!r}))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if kill_at:
        env["WIKISEARCH_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", code], env=env).returncode


@pytest.mark.parametrize("step, layout", [(s, "linked") for s in STEPS] +
                         [(s, "older") for s in STEPS + ["publish:migrate"]])
def test_publish_killed_at_every_step(two, tmp_path, step, layout):
    """``older``: the index path is a real directory, as earlier versions left it."""
    n_a, n_b = _answer(two["a"]), _answer(two["b"])
    out = tmp_path / "idx"
    if layout == "older":                       # a real directory, as earlier versions left it
        shutil.copytree(two["a"], out)
    else:
        shutil.copytree(two["a"], tmp_path / "fa")
        publish(tmp_path / "fa", out)
    assert _answer(out) == n_a
    shutil.copytree(two["b"], tmp_path / "fb")
    rc = _publish_in_child(tmp_path / "fb", out, step)
    assert rc == -signal.SIGKILL
    assert _answer(out) in (n_a, n_b)                            # old or new, never neither
    # the next publish recovers what the kill left and completes
    final = tmp_path / "fb" if (tmp_path / "fb").exists() else tmp_path / "fb2"
    if final.name == "fb2":
        shutil.copytree(two["b"], final)
    assert _publish_in_child(final, out, None) == 0
    assert _answer(out) == n_b
    assert len(generations(out)) == 1 and not old_dir(out).exists()
    assert not list(tmp_path.glob(".idx.link.tmp*"))


def test_build_killed_in_publish_resumes(two, tmp_path):
    """A build killed just before its swap: the old index answers; the same command completes."""
    out = tmp_path / "idx"
    shutil.copytree(two["a"], tmp_path / "fa")
    publish(tmp_path / "fa", out)
    code = f"from wikisearch import build_index; build_index([{str(TINY)!r}], {str(out)!r})"
    env = dict(os.environ, PYTHONPATH=str(ROOT), WIKISEARCH_KILL_AT="publish:swap")
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == -signal.SIGKILL
    assert _answer(out) == _answer(two["a"])
    env.pop("WIKISEARCH_KILL_AT")
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    assert _answer(out) == _answer(two["b"])
    assert len(generations(out)) == 1


def test_readers_in_a_loop_during_swaps(two, tmp_path):
    """One process publishes the two indexes in turn, 40 times; this one opens and reads the
    index in a loop meanwhile. Every open reads one consistent generation: no error at all."""
    out = tmp_path / "idx"
    shutil.copytree(two["a"], tmp_path / "seed")
    publish(tmp_path / "seed", out)
    swaps = 40
    script = textwrap.dedent(f"""
        import shutil, sys
        from pathlib import Path
        from wikisearch.index.publish import publish
        src = [Path({str(two['a'])!r}), Path({str(two['b'])!r})]
        for i in range({swaps}):
            final = Path({str(tmp_path)!r}) / f"final{{i}}"
            shutil.copytree(src[(i + 1) % 2], final)
            publish(final, Path({str(out)!r}))
        """)
    child = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    seen, errors, opens = set(), [], 0
    try:
        while child.poll() is None or opens < 50:
            try:
                seen.add(_answer(out))
            except Exception as e:                  # noqa: BLE001 -- any error is the failure
                errors.append(repr(e))
            opens += 1
            if child.poll() is not None and opens >= 50:
                break
    finally:
        child.wait(timeout=120)
    assert child.returncode == 0
    assert errors == []
    assert opens >= 50
    assert seen <= {_answer(two["a"]), _answer(two["b"])}
    assert len(generations(out)) == 1


def test_remove_index_takes_the_link_and_every_generation(tmp_path):
    from wikisearch.index.publish import generations, remove_index
    out = tmp_path / "idx"
    for n in range(2):
        final = tmp_path / f"final{n}"
        final.mkdir()
        (final / "manifest.json").write_text("{}")
        publish(final, out)
    assert out.is_symlink() and generations(out)
    remove_index(out)
    assert not os.path.lexists(out) and generations(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    remove_index(out)                                   # nothing there: nothing to do
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x").write_text("1")
    remove_index(plain)
    assert not plain.exists()
