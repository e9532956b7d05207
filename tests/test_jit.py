"""jit: the recorded kernel signatures match what the code compiles, and precompile fills numba's
cache in parallel processes so that the run after it compiles nothing."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from wikisearch import jit

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, env: dict | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, **(env or {})}, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _triples(record: dict) -> set:
    return {(m, f, str(sig)) for m, funcs in record.items() for f, sigs in funcs.items() for sig in sigs}


def test_recorded_signatures_cover_the_workload(tmp_path):
    """The workload of benchmarks/record_kernels.py, run now, compiles nothing the committed file
    lacks (else: a kernel changed; run `python benchmarks/record_kernels.py`). The file is recorded
    in an empty numba cache, so it also holds the kernels called only from other kernels, which a
    run on a partly warm cache (this test's) may compile."""
    fresh = tmp_path / "sigs.pkl"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "record_kernels.py"), "--current-cache",
                    "--out", str(fresh)], check=True, capture_output=True, cwd=ROOT, timeout=900)
    now = _triples(jit.load_signatures(fresh))
    committed = _triples(jit.load_signatures())
    assert now, "the workload recorded nothing"
    missing = sorted(now - committed)
    assert not missing, ("kernel signatures missing from wikisearch/data/kernel_signatures.pkl "
                         f"(run `python benchmarks/record_kernels.py`): {missing[:5]}")


def test_plan_jobs_balances_and_keeps_modules_together():
    record = {"a": {"f": [1, 2, 3], "g": [4]}, "b": {"h": [5, 6]}, "c": {"i": [7]}, "d": {}}
    groups = jit.plan_jobs(record, ["a", "b", "c", "d", "missing"], 2)
    assert sorted(len(g) for g in groups) == [3, 4]
    for g in groups:                            # a module's jobs in one group
        assert len({m for m, _f, _s in g} & {"a"}) == 0 or all(m == "a" for m, _f, _s in g)
    assert sorted(s for g in groups for _m, _f, s in g) == [1, 2, 3, 4, 5, 6, 7]
    assert jit.plan_jobs(record, ["d"], 4) == []
    assert len(jit.plan_jobs(record, ["a", "b", "c"], 1)) == 1


def test_signatures_of_another_numba_or_damaged_are_ignored(tmp_path):
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"numba": "0.0.1", "kernels": {"m": {"f": [1]}}}))
    assert jit.load_signatures(other) == {}
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x04garbage")
    assert jit.load_signatures(bad) == {}
    assert jit.load_signatures(tmp_path / "none.pkl") == {}


def test_precompile_fills_the_cache_so_the_next_run_compiles_nothing(tmp_path):
    """precompile in 2 processes into an empty cache; a fresh process then calls the kernel
    and numba compiles nothing (a compile event would say so)."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    n = _run("from wikisearch import jit\n"
             "print(jit.precompile(['wikisearch._topk_kernels', 'wikisearch.index._strings_kernels'], 2))",
             env)
    assert int(n.strip()) >= 2
    out = _run("""
import numpy as np
from numba.core import event
from wikisearch import _topk_kernels as K
compiled = []
class L(event.Listener):
    def on_start(self, ev): compiled.append(ev.data['dispatcher'].py_func.__name__)
    def on_end(self, ev): pass
with event.install_listener('numba:compile', L()):
    K.heap_sorted(np.zeros(3), np.zeros(3, np.int64), np.zeros(3, np.int64), 0)
print(compiled)
""", env)
    assert out.strip() == "[]"
    again = _run("from wikisearch import jit\n"
                 "print(jit.precompile(['wikisearch._topk_kernels'], 2))", env)
    assert again.strip() == "0"                 # warm: nothing to do


def test_calls_from_kernels_compile_one_specialisation():
    """A constant argument (0, -1) from another kernel does not compile a Literal[int] copy of
    the callee beside its int64 version (jit.njit)."""
    import numpy as np

    @jit.njit(nogil=True)
    def callee(a, i, j):
        return a[i] + j

    @jit.njit(nogil=True)
    def caller(a, n):
        s = callee(a, 0, -1)
        for i in range(n):
            s += callee(a, i, 2)
        return s

    a = np.arange(10.0)
    assert caller(a, 5) == 19.0 and callee(a, 1, 1) == 2.0
    assert [str(s) for s in callee.signatures] == ["(Array(float64, 1, 'C', False, aligned=True), int64, int64)"]


def test_a_small_job_on_a_cold_cache_interprets(tmp_path):
    """interpret_small_job: a small job on an empty cache runs the kernels as Python (plain
    functions); a large one, a warm cache or WIKISEARCH_JIT=on compiles."""
    mod = "wikisearch._topk_kernels"
    code = ("import os, sys\nfrom wikisearch import jit\n"
            f"print(jit.module_cached('{mod}'), jit.interpret_small_job(int(sys.argv[1]), ['{mod}']))\n"
            f"from wikisearch import _topk_kernels as K\n"
            "print(hasattr(K.heap_sorted, 'py_func'))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("WIKISEARCH_JIT", None)

    def run(size, **extra):
        out = subprocess.run([sys.executable, "-c", code, str(size)], capture_output=True, text=True,
                             cwd=ROOT, env={**env, **extra}, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.split()

    assert run(1000) == ["False", "True", "False"]                 # cold, small: Python functions
    assert run(10 ** 9) == ["False", "False", "True"]              # cold, large: compiled
    assert run(1000, WIKISEARCH_JIT="on") == ["False", "False", "True"]
    _run(f"from wikisearch import jit\nprint(jit.precompile(['{mod}'], 2))", {"NUMBA_CACHE_DIR": env["NUMBA_CACHE_DIR"]})
    assert run(1000) == ["True", "False", "True"]                  # warm: loaded from the cache


def test_the_sample_as_python_gives_the_same_index_and_hits(tmp_path):
    """The interpreted path (every kernel as Python) is the oracle of the compiled one and the
    other way round: the bundled sample gives byte-identical index files and the same hits."""
    import json
    import wikisearch
    idx = {}
    for how in ("on", "off"):
        env = {**os.environ, "WIKISEARCH_JIT": how}
        out = tmp_path / how
        subprocess.run([sys.executable, "-m", "wikisearch", "index", wikisearch.sample_dump(), "-o", str(out),
                        "-q", "-w", "1"], check=True, capture_output=True, cwd=ROOT, env=env, timeout=900)
        files = {p.name: p.read_bytes() for p in out.resolve().iterdir() if p.is_file() and p.name != "manifest.json"}
        hits = subprocess.run([sys.executable, "-m", "wikisearch", "query", "-i", str(out), "--json", "-k", "20",
                               "--no-snippets", "--no-correct", "swedish furniture OR berlin"], check=True,
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=900).stdout
        idx[how] = files, [(h["title"], h["score"]) for h in json.loads(hits)["hits"]]
    assert sorted(idx["on"][0]) == sorted(idx["off"][0])
    for name in idx["on"][0]:
        assert idx["on"][0][name] == idx["off"][0][name], name
    assert idx["on"][1] == idx["off"][1] and len(idx["on"][1]) >= 5


def test_cached_kernels_load_without_the_compiler_and_compile_as_before(tmp_path):
    """light_cache_loads: a kernel loaded from numba's cache answers as compiled, without numba
    readying its compiler (its array math, where the BLAS probe is, stays unimported); a cache
    miss in the same process still compiles, after a full refresh, and answers the same."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    code = """
import sys
import numpy as np
from wikisearch import _topk_kernels as K
from wikisearch import jit
hs, hd, hf = np.array([3.0, 1.0, 2.0]), np.array([7, 8, 9]), np.array([0, 0, 0])
out = K.heap_sorted(hs.copy(), hd.copy(), hf.copy(), 3)
print(jit.light_cache_loads(), "numba.np.arraymath" in sys.modules, [a.tolist() for a in out])
"""
    miss = """
out32 = K.heap_sorted(hs.astype(np.float32), hd.copy(), hf.copy(), 3)   # not in the cache: compiles
print("numba.np.arraymath" in sys.modules, [a.tolist() for a in out32])
"""
    _run(code, env)                                          # fills the cache (float64 only)
    first, second = _run(code + miss, env).strip().splitlines()
    light, loaded_compiler, hits = first.split(" ", 2)
    assert light == "True" and loaded_compiler == "False"
    assert second.split(" ", 1) == ["True", hits]            # compiled after a full refresh: same answer
    py = _run(code, {**env, "NUMBA_DISABLE_JIT": "1"}).strip().splitlines()[0].split(" ", 2)[2]
    assert hits == py                                        # and the plain Python's


def test_fast_start_skips_the_blas_probe_when_numba_readies_its_compiler():
    """fast_start imports nothing itself; when a compile later imports numba's array math, the
    BLAS probe finds no scipy (so scipy.linalg is not imported), and scipy still imports after."""
    out = _run("""
import sys
from wikisearch.search.startup import fast_start
fast_start()
print("numba.np.arraymath" in sys.modules)
import numba
import numpy as np
@numba.njit
def f(a):
    return a.sum()
print(f(np.arange(4)), "numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules)
import numba.np.arraymath as am
print(am._HAVE_BLAS)
import scipy.linalg  # noqa: F401
print("ok")
""")
    assert out.split() == ["False", "6", "True", "False", "False", "ok"]



def _build_small(tmp_path, jit_mode: str, env: dict | None = None) -> str:
    """Build tests/data/dump_small.xml in a fresh process (one worker); print the kernel modules
    imported and, as ``compiled:`` lines, those whose kernels numba compiled."""
    code = ("import sys\nfrom numba.core import event\ncompiled = set()\n"
            "class L(event.Listener):\n"
            "    def on_start(self, ev):\n"
            "        f = ev.data['dispatcher'].py_func\n"
            "        compiled.add(f.__module__ + ':' + f.__name__)\n"
            "    def on_end(self, ev): pass\n"
            "event.register('numba:compile', L())\n"
            "from wikisearch.build import build_index\n"
            f"build_index([{str(ROOT / 'tests' / 'data' / 'dump_small.xml')!r}], {str(tmp_path / 'idx')!r}, workers=1)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('wikisearch.') and m.endswith('_kernels'))))\n"
            "print('compiled:', ' '.join(sorted(m for m in compiled if m.startswith('wikisearch.'))))")
    return _run(code, {"WIKISEARCH_JIT": jit_mode, **(env or {})})


def test_build_kernels_are_imported_by_a_build(tmp_path):
    """Every module of jit.BUILD_KERNELS (what a first build precompiles) is one a build imports
    (not a stale entry compiled for nothing), and each kernel named has recorded signatures."""
    imported = _build_small(tmp_path, "off").splitlines()[0].split()
    assert set(jit.BUILD_KERNELS) <= set(imported)
    record = jit.load_signatures()
    for m, funcs in jit.BUILD_KERNELS.items():
        assert record.get(m), m
        assert funcs is None or set(funcs) <= set(record[m]), (m, sorted(set(funcs) - set(record[m])))


def test_precompile_takes_kernels_of_a_module(tmp_path):
    """precompile({module: functions}) compiles those kernels (and what they call) and no
    other; precompile of the whole module then compiles the rest, and a module whose
    cached kernels are exactly a build's counts as cold for the others."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    mod = "wikisearch.index._termdict_kernels"
    some = jit.BUILD_KERNELS[mod]
    n = _run(f"from wikisearch import jit\nprint(jit.precompile({{'{mod}': {some!r}}}, 2))\n"
             f"print(' '.join(sorted(jit.cached_functions('{mod}'))))", env).split()
    # the kernels called from Python (their helpers compile as part of them, for the types needed)
    assert int(n[0]) == sum(len(jit.load_signatures()[mod][f]) for f in some if not f.startswith("_"))
    assert set(n[1:]) == set(some)
    rest = set(jit.load_signatures()[mod]) - set(some)
    n = _run(f"from wikisearch import jit\nprint(jit.precompile(['{mod}'], 2))\n"
             f"print(' '.join(sorted(jit.cached_functions('{mod}'))))", env).split()
    assert int(n[0]) >= sum(len(jit.load_signatures()[mod][f]) for f in rest if not f.startswith("_")) > 0
    assert set(n[1:]) == set(jit.load_signatures()[mod])
    assert _run(f"from wikisearch import jit\nprint(jit.precompile(['{mod}'], 2))", env).strip() == "0"


@pytest.mark.slow
def test_a_build_compiles_only_build_kernels(tmp_path):
    """A build in an empty numba cache compiles kernels of jit.BUILD_KERNELS and of no other
    module (a module it lacks would compile one kernel at a time in the middle of a first build,
    after the precompile)."""
    out = _build_small(tmp_path, "on", {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}).splitlines()
    import importlib
    compiled = [k.split(":") for k in out[1].split()[1:]]
    # the module's kernels (not what numba compiles as part of one: an @overload's impl)
    compiled = [(m, f) for m, f in compiled if hasattr(importlib.import_module(m), f)]
    assert compiled
    extra = [(m, f) for m, f in compiled
             if m not in jit.BUILD_KERNELS or (jit.BUILD_KERNELS[m] is not None and f not in jit.BUILD_KERNELS[m])]
    assert not extra, f"kernels a build compiles that jit.BUILD_KERNELS lacks: {extra}"


def test_search_kernels_are_those_a_query_imports(tmp_path):
    """jit.SEARCH_KERNELS (what a first build compiles for the first query, and a first query
    precompiles) holds every kernel module a CLI query imports: snippets, did-you-mean and the
    title lookup it scores a correction by included."""
    _build_small(tmp_path, "off")
    code = ("import sys\nfrom wikisearch.cli import main\n"
            "sys.argv = ['wikisearch', 'query', '-i', sys.argv[1], sys.argv[2]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('KERNELS', ' '.join(sorted(m for m in sys.modules\n"
            "                                  if m.startswith('wikisearch.') and m.endswith('_kernels'))))")
    imported = set()
    for q in ("entities", "entites co", "histroy page", "naive kyiv"):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "idx"), q], capture_output=True, text=True,
                             cwd=ROOT, env={**os.environ, "WIKISEARCH_JIT": "off"}, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        imported |= set(out.stdout.split("KERNELS", 1)[1].split())
    assert "wikisearch.search._snippet_kernels" in imported and "wikisearch.popularity._spelling_kernels" in imported
    assert imported <= set(jit.SEARCH_KERNELS), sorted(imported - set(jit.SEARCH_KERNELS))


@pytest.mark.slow
def test_a_first_build_leaves_the_first_query_nothing_to_compile(tmp_path):
    """A build with 2 workers in an empty numba cache has its workers compile the search kernels
    once no block is left to start (Builder._search_groups): the query after it compiles nothing."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "WIKISEARCH_JIT": "on"}
    idx = tmp_path / "idx"
    subprocess.run([sys.executable, "-m", "wikisearch", "index", str(ROOT / "tests" / "data" / "dump_small.xml"),
                    "-o", str(idx), "-q", "-w", "2"], check=True, capture_output=True, cwd=ROOT, env=env, timeout=1200)
    code = ("import sys\nfrom numba.core import event\ncompiled = []\n"
            "class L(event.Listener):\n"
            "    def on_start(self, ev): compiled.append(ev.data['dispatcher'].py_func.__qualname__)\n"
            "    def on_end(self, ev): pass\n"
            "event.register('numba:compile', L())\n"
            "from wikisearch.cli import main\n"
            "sys.argv = ['wikisearch', 'query', '-i', sys.argv[1], sys.argv[2]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('COMPILED', compiled)")
    for q in ("entities", "entites co", "histroy page"):
        out = subprocess.run([sys.executable, "-c", code, str(idx), q], capture_output=True, text=True, cwd=ROOT,
                             env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.split("COMPILED", 1)[1].strip() == "[]", (q, out.stdout[-2000:])


def test_precompile_compiles_a_helper_for_the_types_its_callers_need(tmp_path):
    """A build's precompile of _strings_kernels compiles _bound (a helper: leading underscore)
    only for the types the build's kernels call it with, not the other recorded ones (the
    search's callers'); precompiling the search's kernels then adds those, and a helper no entry
    reached would still be compiled from its own record."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    mod = "wikisearch.index._strings_kernels"
    count = (f"from wikisearch.index import _strings_kernels as K\n"
             "print(len(K._bound._cache._cache_file._load_index()))")
    _run(f"from wikisearch import jit\njit.precompile({{'{mod}': {jit.BUILD_KERNELS[mod]!r}}}, 2)", env)
    after_build = int(_run(count, env))
    recorded = len(jit.load_signatures()[mod]["_bound"])
    assert 1 <= after_build < recorded
    _run(f"from wikisearch import jit\njit.precompile(['{mod}'], 2)", env)
    assert int(_run(count, env)) == recorded
    out = _run(f"from wikisearch import jit\n"        # no entry kernel among the jobs: compiled from the record
               f"jobs = [('{mod}', '_less', s) for s in jit.load_signatures()['{mod}']['_less']]\n"
               "print(jit.compile_jobs(jobs), len(jobs))", {"NUMBA_CACHE_DIR": str(tmp_path / "cache2")}).split()
    assert out[0] == out[1] != "0"


def test_a_fresh_install_runs_the_first_command_without_numba(tmp_path):
    """The README's first command after a fresh install (a copy of the package, nothing cached,
    numba caching beside it): a small job runs every kernel as Python through its Python paths,
    never imports numba, compiles nothing (no cache file appears), and builds the bytes of a
    compiled build; the query finds Angela Merkel first."""
    import shutil
    import wikisearch
    copy = tmp_path / "fresh"
    shutil.copytree(Path(wikisearch.__file__).parent, copy / "wikisearch",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", "_aot*"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "WIKISEARCH_JIT", "WIKISEARCH_INTERPRET_KERNELS", "NUMBA_DISABLE_JIT")}
    env["PYTHONPATH"] = str(copy)
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('NUMBA', 'numba' in sys.modules, file=sys.stderr))\n"
            "from wikisearch.cli import main\nsys.argv = ['wikisearch'] + sys.argv[1:]\nmain()\n")
    runs = []
    for args in (["index", "wikisearch/data/sample-enwiki.xml.bz2", "-w", "2"], ["query", "german chancellor"]):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=copy,
                             env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "small input, first run: " in out.stderr and "NUMBA False" in out.stderr, out.stderr[-2000:]
        runs.append(out)
    assert "1. Angela Merkel" in runs[1].stdout
    assert not list(copy.rglob("*.nbi")) and not list(copy.rglob("*.nbc"))       # nothing compiled
    compiled = tmp_path / "compiled"
    subprocess.run([sys.executable, "-m", "wikisearch", "index", wikisearch.sample_dump(), "-o", str(compiled),
                    "-q", "-w", "2"], check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "WIKISEARCH_JIT": "on"}, timeout=900)
    fresh = (copy / "wikisearch-index").resolve()
    names = sorted(p.name for p in compiled.resolve().iterdir() if p.is_file() and p.name != "manifest.json")
    assert names == sorted(p.name for p in fresh.iterdir()
                           if p.is_file() and p.name not in ("manifest.json", "spelling.bin"))
    for name in names:
        assert (fresh / name).read_bytes() == (compiled.resolve() / name).read_bytes(), name
    import json
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (fresh, compiled.resolve())]
    for m in manifests:                          # (when and how long it was built)
        for key in ("created", "build_seconds", "built_at", "build"):
            m.pop(key, None)
    assert manifests[0] == manifests[1]


def test_cache_index_names_match_the_glob_pattern(tmp_path):
    """jit._index_names and _nothing_cached_in_tree pick exactly the names their glob patterns
    (``<stem>.*-*.pyXY*.nbi``, ``<stem>.*.nbi``) match."""
    import fnmatch
    import random
    py = f"py{sys.version_info[0]}{sys.version_info[1]}"
    parts = ["_k", ".", "-", py, f".{py}", "nbi", ".nbi", "x", "_k.", "1", "py3", "-12"]
    rng = random.Random(7)
    names = {rng.choice(["_k.", "_k", "_kk.", ""]) + "".join(rng.choice(parts) for _ in range(rng.randint(0, 5)))
             + rng.choice([".nbi", ".nbi", "nbi", ".nbc", ""]) for _ in range(3000)}
    names |= {f"_k.f-3.{py}.nbi", f"_k.f.{py}.nbi", f"_k.-.{py}.nbi", f"_k.a-b.{py}.1.nbi", "_k.nbi",
              f"_k.f-3.{py}.nbc", f"_kk.f-3.{py}.nbi", "_k..nbi", "_k.x.nbi"}
    for n in names:
        (tmp_path / n).touch()
    want = {n for n in names if fnmatch.fnmatchcase(n, f"_k.*-*.{py}*.nbi")}
    assert set(jit._index_names(tmp_path, "_k")) == want and len(want) >= 10
    assert jit._index_names(tmp_path / "nope", "_k") == []
    (tmp_path / "__pycache__").mkdir()
    origin = str(tmp_path / "_k.py")
    assert jit._nothing_cached_in_tree(origin)
    (tmp_path / "__pycache__" / "_k.nbi").touch()            # "<stem>.*.nbi" needs the dot
    (tmp_path / "__pycache__" / "_kk.f.nbi").touch()
    assert jit._nothing_cached_in_tree(origin)
    (tmp_path / "__pycache__" / "_k..nbi").touch()
    assert not jit._nothing_cached_in_tree(origin)


def test_opaque_unpickler_reads_cache_indexes_as_pickle_does(tmp_path):
    """What cached_functions reads of numba's cache indexes (their source stamp, whether any
    overload) without building numba's types is what pickle reads."""
    import io
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    mod = "wikisearch.index._termdict_kernels"
    _run(f"from wikisearch import jit\nprint(jit.precompile(['{mod}'], 2))", env)
    indexes = list((tmp_path / "cache").rglob("*.nbi"))
    assert indexes
    for index in indexes:
        with open(index, "rb") as f:
            pickle.load(f)
            raw = f.read()
        stamp, overloads = jit._OpaqueUnpickler(io.BytesIO(raw)).load()
        want_stamp, want = pickle.loads(raw)
        assert stamp == want_stamp and len(overloads) == len(want) > 0
    empty = pickle.dumps(((1.5, 10), {}))
    assert jit._OpaqueUnpickler(io.BytesIO(empty)).load() == ((1.5, 10), {})


def test_a_kernel_modules_cache_stamp_covers_the_kernel_modules_it_imports(tmp_path):
    """numba keys a kernel's cached machine code by the SHA-256 of its own module's source, yet
    that code holds what it calls from other kernel modules, compiled into it: after format 11
    changed ``_codec_kernels.read_stream``, ``_merge_kernels.gather_chunk`` cached under format
    10 (its module unchanged) still read the streams the old way and a JIT build failed
    ("undecodable postings during merge"). jit's stamp of a kernel module hashes the kernel
    modules it imports (transitively, in any import form) with it; a module importing none keeps
    numba's own stamp (its cache stays valid); numba's locators and :func:`jit.cached_functions`
    use that stamp for this package's kernels."""
    import hashlib
    root = tmp_path / "wikisearch"
    (root / "index").mkdir(parents=True)
    (root / "search").mkdir()
    leaf, mid = root / "index" / "_b_kernels.py", root / "index" / "_a_kernels.py"
    top = root / "search" / "_c_kernels.py"
    leaf.write_text("from wikisearch.jit import njit\nX = 1\n")
    mid.write_text("from wikisearch.index import _b_kernels as B\n")
    top.write_text("import numpy as np\nfrom wikisearch.index._a_kernels import (\n    f,\n    g)\n")
    stamp = lambda p: jit.kernel_source_stamp(str(p), root)      # noqa: E731
    assert stamp(leaf) == hashlib.sha256(leaf.read_bytes()).digest()
    before = stamp(mid), stamp(top)
    assert before[0] != hashlib.sha256(mid.read_bytes()).digest()
    leaf.write_text("from wikisearch.jit import njit\nX = 2\n")
    after = stamp(mid), stamp(top)
    assert after[0] != before[0] and after[1] != before[1]
    # the package's own modules, through numba's cache machinery
    from numba.core import caching
    jit.stamp_kernel_caches()
    pkg = Path(jit.__file__).parent
    merge, codec = str(pkg / "index" / "_merge_kernels.py"), str(pkg / "index" / "_codec_kernels.py")
    for path, plain in ((merge, False), (codec, True)):
        st = os.stat(path)
        got = caching._hash_source_file(path, st.st_mtime, st.st_size)
        assert got == jit.kernel_source_stamp(path)
        assert (got == hashlib.sha256(Path(path).read_bytes()).digest()) == plain
    # the cold check reads that stamp: a module with imports is warm after its precompile
    mod = "wikisearch.popularity._priors_kernels"          # (imports _topk_kernels)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "WIKISEARCH_AOT": "off"}
    code = f"from wikisearch import jit\nprint(jit.module_cached('{mod}'), jit.precompile(['{mod}'], 2))"
    cold, n = _run(code, env).split()
    assert cold == "False" and int(n) >= 1
    assert _run(code, env).split() == ["True", "0"]
