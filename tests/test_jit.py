"""Nothing looks hung: a cold numba cache (the first run on a machine compiles the kernels for a
minute) is told apart cheaply from a warm one, and said; a warm run stays silent."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wikisearch
from wikisearch import jit

ROOT = Path(__file__).resolve().parents[1]

KERNELS = textwrap.dedent("""
    from numba import njit

    @njit(cache=True, nogil=True)
    def add_one(x):
        return x + 1

    @njit(cache=True)
    def twice(x):
        return 2 * x

    def plain(x):
        return x
""")


@pytest.fixture
def kernel_module(tmp_path, monkeypatch):
    """A fresh module of cached kernels, in a folder of its own (so its numba cache is empty)."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    (tmp_path / "fresh_kernels.py").write_text(KERNELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fresh_kernels", None)
    module = importlib.import_module("fresh_kernels")
    yield module
    sys.modules.pop("fresh_kernels", None)


def test_cold_until_compiled_once(kernel_module):
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("no numba dispatchers with NUMBA_DISABLE_JIT=1 (nothing is ever compiled)")
    assert jit.cold_kernels([kernel_module]) == ["fresh_kernels"]
    assert kernel_module.add_one(1) == 2                  # compiles, writes numba's cache
    assert jit.cold_kernels([kernel_module]) == []        # one kernel cached: not a first run


def test_an_edited_module_is_cold_again(kernel_module, tmp_path):
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("no numba dispatchers with NUMBA_DISABLE_JIT=1")
    kernel_module.add_one(1)
    kernel_module.twice(1)
    path = tmp_path / "fresh_kernels.py"
    path.write_text(KERNELS + "\n# edited\n")            # the cache is keyed to the source's stamp
    os.utime(path, (1, 1))
    sys.modules.pop("fresh_kernels")
    again = importlib.import_module("fresh_kernels")
    assert jit.cold_kernels([again]) == ["fresh_kernels"]


def test_the_library_kernels_are_found():
    from wikisearch.index import _codec_kernels
    found = jit._dispatchers(_codec_kernels)
    if os.environ.get("NUMBA_DISABLE_JIT") != "1":
        assert len(found) > 5 and all(d.py_func.__module__ == _codec_kernels.__name__ for d in found)
    assert _codec_kernels in jit.loaded_kernel_modules()
    assert all(m.__name__.endswith("_kernels") for m in jit.loaded_kernel_modules())


def test_note_compiling_fires_on_a_compile_not_on_a_cache_load(tmp_path):
    """Two fresh processes over one cache folder: the first compiles (one note for two kernels),
    the second loads from the cache (no note)."""
    (tmp_path / "fresh_kernels.py").write_text(KERNELS)
    code = textwrap.dedent("""
        from wikisearch.jit import note_compiling
        import fresh_kernels as k
        with note_compiling(lambda: print("NOTE")):
            k.add_one(1); k.twice(2.0)
        print("done")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    env.pop("NUMBA_DISABLE_JIT", None)
    env.pop("NUMBA_CACHE_DIR", None)
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]
    assert runs[0].stdout.split() == ["NOTE", "done"]
    assert runs[1].stdout.split() == ["done"]


def test_build_says_when_it_compiles(tmp_path, monkeypatch, capsys):
    import wikisearch.build as B
    wikisearch.build_index(wikisearch.sample_dump(), tmp_path / "warm")   # compiles, if ever
    capsys.readouterr()
    wikisearch.build_index(wikisearch.sample_dump(), tmp_path / "a", progress=True)
    assert "compiling" not in capsys.readouterr().err     # a warm cache: silent
    monkeypatch.setattr(B, "cold_kernels", lambda modules: [m.__name__ for m in modules])
    wikisearch.build_index(wikisearch.sample_dump(), tmp_path / "b", progress=True)
    err = capsys.readouterr().err
    assert err.count("compiling indexing kernels (first run only") == 1
    assert err.count("compiling merge kernels (first run only") == 1
    wikisearch.build_index(wikisearch.sample_dump(), tmp_path / "c", progress=False)
    assert "compiling" not in capsys.readouterr().err     # a library call without progress: quiet
