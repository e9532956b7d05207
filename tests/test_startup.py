"""What a process skips or defers at its start (search.startup, jit's kernel loads, the spelling
dictionary's read), and that it changes nothing else."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CODE = """
import sys
from wikisearch.search.startup import fast_start
fast_start()
import numba
import numba.core.config as config
print("yaml" in sys.modules, "scipy" in sys.modules, config._HAVE_YAML)
import yaml, scipy  # noqa: F401  (still import: only numba's own import skipped them)
print(int(config.DEBUGINFO_DEFAULT))
"""


def _run(cwd: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DEBUGINFO"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, cwd=cwd, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


def test_fast_start_imports_numba_without_yaml_and_scipy(tmp_path):
    """After fast_start, numba's import does not import scipy (a version check) nor yaml (only
    read for a .numba_config.yaml, absent here); both still import afterwards."""
    assert _run(tmp_path) == ["False", "False", "False", "0"]


def test_fast_start_keeps_a_numba_config_file(tmp_path):
    """Where a .numba_config.yaml is in the working directory, yaml is imported and the file
    read, as numba does without fast_start."""
    (tmp_path / ".numba_config.yaml").write_text("debuginfo: 1\n")
    assert _run(tmp_path) == ["True", "False", "True", "1"]


def test_fast_start_imports_importlib_metadata_lazily(tmp_path):
    """After fast_start, numba's import leaves importlib.metadata (which only numba's extension
    scan uses) to its first use, and it works then: the scan, and any other caller."""
    code = """
import sys
from wikisearch.search.startup import fast_start
fast_start()
import numba
print(type(sys.modules["importlib.metadata"]).__name__, "email" in sys.modules)
from numba.core import entrypoints
entrypoints.init_all()
import importlib.metadata
print(type(sys.modules["importlib.metadata"]).__name__, importlib.metadata.version("numba") == numba.__version__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["_LazyModule", "False", "module", "True"]


def _run_code(code: str, env: dict | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "WIKISEARCH_JIT": "on", **(env or {})},
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_kernel_loads_take_defined_names_from_the_object_code(tmp_path):
    """A cached kernel loads without its bitcode parsed (jit._lazy_linking_code): the names its
    object code's ELF symbol table defines are those numba takes from the bitcode, for every
    kernel a search with snippets, a suggestion and a correction load; the answers are the same
    as with numba's own loading."""
    code = """
import sys
import llvmlite.binding as ll
from numba.core import codegen
from wikisearch import jit
seen = []
if sys.argv[1] == "plain":
    jit._LIGHT_LOADS.append(False)                # numba's own loading
else:
    assert jit.light_cache_loads()
    lazy = codegen.JITCodeLibrary._unserialize.__func__
    def check(cls, cg, state):
        name, kind, data = state
        if kind == "object":
            mod = ll.parse_bitcode(data[1])
            named = {g.name for gs in (mod.functions, mod.global_variables) for g in gs if not g.is_declaration}
            seen.append((name, named == jit.elf_defined_symbols(data[0])))
        return lazy(cls, cg, state)
    codegen.JITCodeLibrary._unserialize = classmethod(check)
from wikisearch.search.searcher import Searcher
s = Searcher(sys.argv[2])
r = s.search("berlin wall", snippets=True, correct=True)
print([(h.title, h.score, h.snippet.text if h.snippet else None) for h in r])
print([str(x) for x in s.suggest("berlni", 5)], s.search("berlni", correct=True).suggestion)
print("loads", len(seen), all(ok for _, ok in seen))
"""
    from wikisearch import build_index, sample_dump
    idx = build_index([sample_dump()], tmp_path / "idx", workers=1, progress=False)
    out = [subprocess.run([sys.executable, "-c", code, mode, str(idx)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "WIKISEARCH_JIT": "on"}, timeout=600)
           for mode in ("plain", "lazy")]            # plain first: what it compiles, lazy loads
    for o in out:
        assert o.returncode == 0, o.stderr[-3000:]
    plain, lazy = (o.stdout.splitlines() for o in out)
    assert lazy[-1].split()[0] == "loads" and int(lazy[-1].split()[1]) >= 10 and lazy[-1].split()[2] == "True"
    assert plain[-1] == "loads 0 True"
    assert lazy[:2] == plain[:2]


def test_a_compile_links_a_kernel_loaded_without_its_bitcode(tmp_path):
    """A kernel loaded from the cache lazily (its bitcode unparsed) is linked into a kernel
    compiled afterwards that calls it: the bitcode is parsed then, and the new kernel computes
    what the plain Python does."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    setup = """
import numpy as np
from wikisearch.popularity import _suggest_kernels as K
blob = np.frombuffer(b"abcabdabe", np.uint8); offsets = np.array([0, 3, 6, 9], np.int64)
print(K._byte(blob, offsets, 1, 2), K._run_end(blob, offsets, 0, 3, 2, 99))
"""
    assert _run_code(setup, env).split() == ["100", "1"]          # compiled and cached
    again = setup + """
lib = K._byte.overloads[K._byte.signatures[0]].library
before = lib._shared_module is None
print(before, K._run_end(blob, offsets, 0, 3, 2, 99.5), lib._shared_module is not None)
print(K._run_end.py_func(blob, offsets, 0, 3, 2, 99.5))
"""
    out = _run_code(again, env).split()
    assert out == ["100", "1", "True", "1", "True", "1"]


def test_spelling_dictionary_read_back_finds_every_word(tmp_path, monkeypatch):
    """A dictionary read from spelling.bin cuts its words from the stored string and finds a
    word's id through sorted hashes (no dict of all words): every word gets its own id, others
    -1, answers as the dictionary it was written from -- also with the words hashed a few at a
    time, and when hashes collide a lot (the multiplier 1: anagrams share a hash)."""
    import random

    from wikisearch.popularity import spelling as S
    rng = random.Random(7)
    alphabet = list("abcdeé") + ["\U00012000", "\u00df"]
    words = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 9))) for _ in range(3000)})
    counts = [rng.randint(1, 500) for _ in words]
    for mul, chunk in ((S._MUL, S._HASH_CHUNK), (S._MUL, 7), (1, 100)):
        monkeypatch.setattr(S, "_MUL", mul)
        monkeypatch.setattr(S, "_HASH_CHUNK", chunk)          # words hashed a few at a time too
        d = S.SpellingDictionary(words, counts)
        S.write_dictionary(tmp_path / f"s{mul}-{chunk}.bin", d, "sum")
        back = S.read_dictionary(tmp_path / f"s{mul}-{chunk}.bin", "sum")
        assert not isinstance(back.words, list) and len(back.words) == len(d.words)
        assert list(back.words) == list(d.words) and back.words[-1] == d.words[-1]
        assert back.words[2:5] == d.words[2:5]
        for i, w in enumerate(d.words):
            assert back.word_id(w) == i == d.word_id(w)
            assert back.count(w) == d.count(w) > 0
        for w in ["", "zz", "ab" * 9, "\U00012000", words[0] + "a" if words[0] + "a" not in words else "q"]:
            assert back.word_id(w) == d.word_id(w) == (d.words.index(w) if w in d.words else -1)
        typed = [w[:-1] + "a" for w in words[:200]]
        assert back.correct_many(typed) == d.correct_many(typed)
        assert [back.candidates(w, 3) for w in typed[:50]] == [d.candidates(w, 3) for w in typed[:50]]
    assert len(np.unique(d._hashes)) < len(d._hashes)          # (the multiplier 1 did collide)


def test_kernel_loads_import_no_numba_implementation_modules(tmp_path):
    """A cached kernel loads without importing the numba modules whose implementations it
    includes (np.empty's, numba.np.arrayobj: jit._lazy_numba_environments) and answers as when
    it was compiled, an exception raised inside numba's own code included; a kernel compiled in
    the same process afterwards is cached and loads again."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    code = """
import sys
import numpy as np
from wikisearch.popularity import _suggest_kernels as K
blob = np.frombuffer(b"abcabdabe", np.uint8); offsets = np.array([0, 3, 6, 9], np.int64)
key = np.frombuffer(b"abx", np.uint8)
print([a.tolist() for a in K.fuzzy_ranges(blob, offsets, key, 1, 100, 0, 0, 3)])
try:
    K.fuzzy_ranges(blob, offsets, key[:0], -5, 100, 0, 0, 3)     # np.empty of a negative size
except ValueError as e:
    print("ValueError", str(e).replace(" ", "_"))
print("numba.np.arrayobj" in sys.modules)
"""
    compiled = _run_code(code, env).split()
    loaded = _run_code(code, env).split()
    assert compiled[-1] == "True" and loaded[-1] == "False"
    assert loaded[:-1] == compiled[:-1] and "ValueError" in compiled
    miss = code + """
print(K._run_end(blob, offsets, 0, 3, 2, 99.5))                   # a float: not cached, compiles
"""
    assert _run_code(miss, env).split()[-1] == "1"
    assert _run_code(miss, env).split()[-2:] == ["False", "1"]     # and now loads, as the rest


def _elf_undefined_symbols(obj: bytes) -> set[str]:
    import struct
    (shoff,) = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize) for i in range(shnum)]
    out = set()
    for _name, kind, _flags, _addr, off, size, link, _info, _align, entsize in sections:
        if kind != 2:
            continue
        strings = sections[link][4]
        for at in range(off + entsize, off + size, entsize):
            st_name, _st_info, _other, st_shndx = struct.unpack_from("<IBBH", obj, at)
            if st_shndx == 0:
                start = strings + st_name
                out.add(obj[start:obj.index(b"\0", start)].decode())
    return out - {""}


def test_kernel_loads_compile_no_runtime_functions(tmp_path):
    """Cached kernels load without numba's runtime (NRT) compiling its LLVM functions
    (jit._runtime_symbols): their object code names no runtime function but its C ones, which
    are given to LLVM; they answer as when compiled, and a kernel compiled in the same process
    afterwards initialises the runtime whole and answers right."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    code = """
import numpy as np
from numba.core.runtime import rtsys
from wikisearch.popularity import _suggest_kernels as K
blob = np.frombuffer(b"abcabdabe", np.uint8); offsets = np.array([0, 3, 6, 9], np.int64)
key = np.frombuffer(b"abx", np.uint8)
print([a.tolist() for a in K.fuzzy_ranges(blob, offsets, key, 1, 100, 0, 0, 3)])
print(rtsys._init)
"""
    compiled = _run_code(code, env).split("\n")
    loaded = _run_code(code, env).split("\n")
    assert compiled[1] == "True" and loaded[1] == "False" and loaded[0] == compiled[0]
    miss = code + """
print(K._run_end(blob, offsets, 0, 3, 2, 99.5), rtsys._init)      # a float: not cached, compiles
"""
    assert _run_code(miss, env).split("\n")[1:3] == ["False", "1 True"]
    from numba.core.runtime import _nrt_python
    c_functions = {n if n.startswith("_") else "NRT_" + n for n in _nrt_python.c_helpers}
    objects = [raw[raw.index(b"\x7fELF"):] for raw in (p.read_bytes() for p in (tmp_path / "cache").rglob("*.nbc"))]
    assert len(objects) >= 2
    for obj in objects:
        named = {s for s in _elf_undefined_symbols(obj) if s.startswith(("NRT_", "nrt_", "_nrt"))}
        assert named <= c_functions, named - c_functions
    assert any("NRT_MemInfo_alloc_aligned" in _elf_undefined_symbols(obj) for obj in objects)


def test_the_cli_module_imports_no_numpy():
    """`wikisearch.cli` imports numpy only when a command needs it, so that a command can still
    choose numpy's BLAS threads (startup.no_blas_threads) before it loads."""
    out = _run_code("import sys, wikisearch.cli, wikisearch.fileio\nprint('numpy' in sys.modules)")
    assert out.split() == ["False"]


def test_no_blas_threads_only_before_numpy_and_never_over_the_environment():
    code = """
import os, sys
from wikisearch.search import startup
print(startup.no_blas_threads(), os.environ.get("OPENBLAS_NUM_THREADS"))
import numpy
os.environ.pop("OPENBLAS_NUM_THREADS")
print(startup.no_blas_threads(), os.environ.get("OPENBLAS_NUM_THREADS"))
"""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**env, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["True", "1", "False", "None"]
    assert _run_code(code.replace('os.environ.pop("OPENBLAS_NUM_THREADS")', ""),
                     {"OPENBLAS_NUM_THREADS": "3"}).split() == ["True", "3", "False", "3"]


_ONE_SHOT = r'''
import gc, os, runpy, sys
from wikisearch.search import startup
paused = []
resume = startup.resume_collections
def resume_collections():
    paused.append((gc.isenabled(), "numpy" in sys.modules, "wikisearch.search.searcher" in sys.modules))
    resume()
startup.resume_collections = resume_collections
sys.argv = ["wikisearch", *sys.argv[1:]]
try:
    runpy.run_module("wikisearch", run_name="__main__")
finally:
    print("STATE", os.environ.get("OPENBLAS_NUM_THREADS"), gc.isenabled(), paused)
'''


def test_one_shot_commands_start_without_blas_threads_and_collections(tmp_path):
    """`wikisearch query`, `show` and `suggest` (lexical) run with numpy's BLAS on one thread and
    without garbage collections until their modules are loaded and the index open; collections
    are on again for the command's own work. Their output is the same as with both left alone
    (the functions that make the choices replaced by no-ops)."""
    import wikisearch
    index = tmp_path / "idx"
    wikisearch.build_index(wikisearch.sample_dump(), index, workers=1)
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    plain = _ONE_SHOT.replace("sys.argv = [", "startup.no_blas_threads = startup.pause_collections = lambda: None\n"
                                              "sys.argv = [")
    for args in (["query", "-i", str(index), "angela merkel"], ["show", "-i", str(index), "Angela Merkel"],
                 ["suggest", "-i", str(index), "ang"]):
        runs = [subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=600) for code in (_ONE_SHOT, plain)]
        for r in runs:
            assert r.returncode == 0, r.stderr[-3000:]
        out, state = runs[0].stdout.rsplit("STATE ", 1)
        assert state.split(None, 2)[:2] == ["1", "True"], (args, state)
        assert state.split(None, 2)[2].strip() == "[(False, True, True)]", (args, state)
        took = re.compile(r"\(\d+\.\d ms\)")           # (the query's own time)
        assert out.strip() and took.sub("", out) == took.sub("", runs[1].stdout.rsplit("STATE ", 1)[0]), args
