"""Kernels compiled ahead of time at install (``wikisearch._aot``, built by ``wikisearch._aot_build``).

The oracle is numba's JIT: the same workload (the bundled sample built, then searched every way:
snippets, corrections, suggestions, priors, paging) in a process that runs the compiled
extension and in one that runs the JIT gives the same index bytes and the same hits, scores,
snippets and suggestions, and the searching process never imports numba. Under CI the
extension must be there (``pip install -e .`` builds it): its absence fails these tests.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, require_or_skip
from wikisearch import jit

PACKAGE = ROOT / "wikisearch"


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WIKISEARCH_JIT", "WIKISEARCH_AOT", "WIKISEARCH_AOT_DIR", "WIKISEARCH_INTERPRET_KERNELS",
                        "NUMBA_DISABLE_JIT")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


AOT = {"WIKISEARCH_JIT": "auto", "WIKISEARCH_AOT": "require"}


def _run(code: str, env: dict, *args, cwd=None) -> str:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         env=env, cwd=cwd or ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout


@pytest.fixture(scope="module")
def aot_built():
    """The extension this checkout's kernels were compiled into, current (else skip; under CI fail)."""
    code = "from wikisearch import jit; t, why = jit.aot_status(); print(why if t is None else 'OK')"
    why = _run(code, _env(WIKISEARCH_JIT="auto", WIKISEARCH_AOT="auto")).strip()
    require_or_skip(why == "OK", f"no current kernels compiled ahead of time ({why}); "
                                 "build them: pip install -e . (or python -m wikisearch._aot_build)")
    return PACKAGE


WORKLOAD = r'''
import hashlib, json, sys
import wikisearch
from wikisearch import jit
phase, out = sys.argv[1], sys.argv[2]
if phase == "build":
    wikisearch.build_index(wikisearch.sample_dump(), out, workers=1)
    from pathlib import Path
    files = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(Path(out).rglob("*")) if p.is_file()}
    files.pop("manifest.json", None)
    print(json.dumps({"files": files}))
    sys.exit()
from wikisearch.config import RankConfig
s = wikisearch.open(out)
res = []
queries = ["angela merkel", "german chancellor", "swedish furniture", '"prime minister"', "title:berlin",
           "chancelor of germny", "ikea OR volvo", "-germany europe", "university", "zzzz qqqq",
           "music india lata", "city river bridge", "berlin wall"]
for q in queries:
    for kw in ({}, {"snippets": True, "correct": True}, {"k": 3, "offset": 2, "snippets": True},
               {"priors": False, "k": 50}, {"rank": RankConfig(k1=0.9)}, {"rank": RankConfig(model="tfidf")}):
        r = s.search(q, **kw)
        res.append([q, sorted(kw), r.total_matches, r.total_relation, r.suggestion, r.rewritten_query,
                    [(h.docid, repr(h.score), h.title, repr(h.snippet)) for h in r]])
for p in ["ang", "ber", "swe", "chancelor", "i", "zz"]:
    res.append([p, [repr(x) for x in s.suggest(p, k=10)]])
fallbacks = sorted(f"{k.__module__}.{k.__name__}" for m in list(sys.modules.values())
                   if m is not None and getattr(m, "__name__", "").endswith("_kernels")
                   for k in vars(m).values() if jit.aot_kernel(k) is not None and jit.aot_kernel(k)._dispatcher is not None)
print(json.dumps({"results": res, "numba": "numba" in sys.modules, "aot": jit.aot_active(),
                  "fallbacks": sorted(set(fallbacks))}))
'''


def test_compiled_kernels_give_the_jits_index_and_hits_without_numba(aot_built, tmp_path):
    """The oracle: build and search with the compiled kernels and with numba's JIT: same index
    bytes, same hits (scores to the last bit), snippets and suggestions; the searching process
    runs every kernel from the extension and never imports numba."""
    out = {}
    for name, env in (("aot", _env(**AOT)), ("jit", _env(WIKISEARCH_JIT="on"))):
        index = tmp_path / name
        built = json.loads(_run(WORKLOAD, env, "build", index))
        searched = json.loads(_run(WORKLOAD, env, "search", index))
        out[name] = (built, searched)
    (aot_b, aot_s), (jit_b, jit_s) = out["aot"], out["jit"]
    assert aot_b == jit_b and {"store.bin", "docs.bin"} <= set(aot_b["files"])
    assert aot_s["results"] == jit_s["results"]
    assert any(r[-1] for r in aot_s["results"] if len(r) == 7)          # (hits were found)
    assert aot_s["aot"] and not aot_s["numba"] and aot_s["fallbacks"] == [], aot_s["fallbacks"]
    assert not jit_s["aot"] and jit_s["numba"]


def test_every_recorded_signature_reaches_its_export(aot_built):
    """The manifest names an export for each recorded signature, and the loader maps the
    argument types numba gives (``type_key`` of real arrays and scalars) to that export."""
    pytest.importorskip("numba")
    from numba.core import types
    from wikisearch import _aot_build
    record = _aot_build._load_record(PACKAGE / "data" / "kernel_signatures.pkl")
    entries = _aot_build.plan(record)
    assert len(entries) == sum(len(s) for f in record.values() for s in f.values())
    manifest = json.loads((PACKAGE / "_aot.json").read_text())

    def example(t):
        if isinstance(t, types.Array):
            a = np.zeros((3,) * t.ndim, dtype=np.dtype(str(t.dtype)), order="F" if t.layout == "F" else "C")
            if t.layout == "A":
                a = a[::2] if t.ndim == 1 else a[::2, ::2]
            if not t.mutable:
                a = jit.readonly(a)
            return a
        if isinstance(t, types.Boolean):
            return True
        if isinstance(t, types.Float):
            return np.dtype(str(t)).type(0.5) if str(t) != "float64" else 0.5
        return np.dtype(str(t)).type(7) if str(t) != "int64" else 7

    code = ("import json, sys\nfrom wikisearch import jit\nt, why = jit.aot_status()\n"
            "print(json.dumps({f'{m}.{f}': {json.dumps([str(k) for k in key]): fn.__name__ for key, fn in e.items()}"
            " for (m, f), e in t.items()}))")
    table = json.loads(_run(code, _env(**AOT)))
    for name, module, func, sig in entries:
        spelled = [_aot_build.type_name(t) for t in sig]
        assert [name, spelled] in manifest["kernels"][module][func]
        keys = [jit.type_key(example(t)) for t in sig]
        assert keys == [jit._parse_type(s) for s in spelled], (module, func, sig)
        assert table[f"{module}.{func}"][json.dumps([str(k) for k in keys])] == name


def test_type_key_is_numbas_typeof():
    """``type_key`` spells the type numba's ``typeof`` gives, for the arrays and scalars kernels get."""
    pytest.importorskip("numba")
    import numba
    from wikisearch._aot_build import type_name
    a = np.arange(12, dtype=np.int64)
    values = [a, a[::2], a.reshape(3, 4), a.reshape(3, 4).T, a.reshape(3, 4)[:, ::2], jit.readonly(a),
              np.zeros(0, np.uint8), np.zeros(5, np.bool_), np.zeros(4, np.float32), 5, -(1 << 40), True, 0.25,
              np.uint16(3), np.int32(-2), np.float32(1.5), np.bool_(False), np.uint64(1 << 63),
              np.frombuffer(b"\0" * 17, np.uint8)[1:].view(np.int64)[:1]]       # unaligned
    for v in values:
        assert jit.type_key(v) == jit._parse_type(type_name(numba.typeof(v))), v
    assert jit.type_key(1 << 63) == jit._parse_type(type_name(numba.typeof(1 << 63)))
    assert jit.type_key("text") is None and jit.type_key((1, 2)) is None
    key = jit._aot_key_function()                  # the same in C (built at install with the kernels)
    require_or_skip(key is not None, "wikisearch._aot_key is not built (pip install -e .)")
    for v in values + [1 << 63]:
        assert key(v) == jit._key_bytes((jit.type_key(v),)), v
    assert key(*values[:6]) == b"".join(key(v) for v in values[:6]) and key() == b""
    for v in ("text", (1, 2), 1 << 64, -(1 << 63) - 1, np.zeros(2, ">i8"), np.zeros(2, np.complex64), None):
        assert key(v) is None and key(5, v) is None, v


#: What a `wikisearch query` process (kernels compiled at install) does not need, and so does not
#: import (each ~2-30 ms of its start): numba's array module through np.unique, a thread pool
#: for one index, subprocess through ctypes.util, OpenSSL through hashlib, html's entity table,
#: a build's modules.
NOT_IMPORTED_BY_A_QUERY = ("numba", "llvmlite", "numpy.ma", "concurrent.futures", "subprocess", "hashlib",
                           "html", "glob", "logging", "wikisearch.build", "wikisearch.ingest.dump",
                           "wikisearch.dense")

QUERY_MODULES = r'''
import runpy, sys
sys.argv = ["wikisearch", "query", "-i", sys.argv[1], "angela merkel"]
try:
    runpy.run_module("wikisearch", run_name="__main__")
finally:
    print("MODULES", " ".join(sorted(sys.modules)))
'''


def test_a_query_process_imports_only_what_it_needs(aot_built, tmp_path):
    """`wikisearch query` (snippets, did-you-mean) imports none of NOT_IMPORTED_BY_A_QUERY, and a
    second start checks the kernels without hashing their sources (the record of the first)."""
    import importlib.util
    import wikisearch
    index = tmp_path / "idx"
    wikisearch.build_index(wikisearch.sample_dump(), index, workers=1)
    banned = set(NOT_IMPORTED_BY_A_QUERY)
    if not any(importlib.util.find_spec(m) for m in ("_sha2", "_sha256")):
        banned.discard("hashlib")                 # (a Python built without its own SHA-256)
    for _ in range(2):                            # (the second: the verified record, the caches)
        out = _run(QUERY_MODULES, _env(**AOT), index)
        modules = set(out.rsplit("MODULES ", 1)[1].split())
        assert "1. " in out and "wikisearch.search.snippets" in modules
        assert not [m for m in modules if m.split(".")[0] in banned or m in banned
                    or m.startswith(("numpy.ma.", "concurrent.futures."))]


def test_a_verified_start_skips_the_hashing_only_while_nothing_changed(aot_built, tmp_path):
    """The record of a start whose checks passed (``__pycache__/aot-verified.json`` beside the
    manifest) lets the next start skip hashing the kernel sources; a record that does not match
    what is there now (another build's stamp, a source's size or times) is not trusted: the
    sources are hashed again, and a changed one still refuses the extension."""
    folder = tmp_path / "ext"
    _copy_extension(folder)
    code = ("import sys; from wikisearch import jit\nt, why = jit.aot_status()\n"
            "print(t is not None, 'hashlib' in sys.modules, why)")
    env = _env(**AOT, WIKISEARCH_AOT_DIR=str(folder))
    assert _run(code, env).split()[:2] == ["True", "True"]          # first start: hashed, recorded
    record_path = folder / "__pycache__" / jit._AOT_VERIFIED
    record = json.loads(record_path.read_text())
    assert _run(code, env).split()[:2] == ["True", "False"]         # then: trusted, no hashing
    for edit in ({"stamp": "another build"}, {"stats": {**record["stats"], next(iter(record["stats"])): [1, 2, 3, 4]}}):
        record_path.write_text(json.dumps({**record, **edit}))
        assert _run(code, env).split()[:2] == ["True", "True"], edit   # not trusted: hashed again
    # a source that changed (here: the manifest's digest of it, as after an edit) is refused even
    # where a stale record would match the files' stats: the record holds the manifest's digests too
    manifest = json.loads((folder / "_aot.json").read_text())
    rel = next(iter(manifest["sources"]))
    manifest["sources"][rel] = "0" * 64
    (folder / "_aot.json").write_text(json.dumps(manifest))
    first = _run(code, env).split()
    assert first[0] == "False" and "changed" in " ".join(first)


def test_sha256_hex_is_hashlibs():
    import hashlib
    from wikisearch.fileio import sha256_hex
    for data in (b"", b"abc", bytes(range(256)) * 300):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_call_templates_are_the_same_compiled_or_from_their_cache(tmp_path, monkeypatch):
    """The kernels' call templates (``jit._call_makers``) are compiled once and kept, marshalled
    with their source, in ``__pycache__``: loaded from there they call as compiled ones do; a
    damaged cache file, or one of another source under the same name, is compiled over."""
    exports = {b"ii": lambda *a: ("export", sum(a))}

    def key(*a):
        return b"i" * len(a) if all(isinstance(v, int) for v in a) else None

    def check(makers):
        call = makers[2](exports.get, key, lambda *a: ("slow", a))
        assert call(1, 2) == ("export", 3) and call(1, "x") == ("slow", (1, "x"))
        assert makers[3](exports.get, key, lambda *a: ("slow", a))(1, 2, 3) == ("slow", (1, 2, 3))
    check(jit._call_makers({2, 3}, tmp_path))                     # compiled, and kept
    (cached,) = tmp_path.glob("aot-calls.*.bin")

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled although cached")
    monkeypatch.setattr(jit, "compile", no_compile, raising=False)
    check(jit._call_makers({2, 3}, tmp_path))                     # from the cache: no compile
    monkeypatch.undo()
    import marshal
    for damaged in (b"junk", marshal.dumps(("other source", compile("x = 1", "<t>", "exec")))):
        cached.write_bytes(damaged)
        check(jit._call_makers({2, 3}, tmp_path))
        assert marshal.loads(cached.read_bytes())[0] == jit._call_source(2) + jit._call_source(3)


FALLBACK = r'''
import json, sys
import numpy as np
from wikisearch import jit
from wikisearch import _topk_kernels as TK
from wikisearch.index import _codec_kernels as CK, _merge_kernels as MK, _strings_kernels as SK
from wikisearch.search import _prescore_kernels as PK
assert jit.aot_kernel(TK.heap_sorted) is not None and "numba" not in sys.modules
out = {}
rng = np.random.default_rng(5)
# heap_sorted (calls _sift_down) for float32 scores: no export, numba's JIT
hs = rng.random(20).astype(np.float32); hd = np.arange(20, dtype=np.int64); hf = np.zeros(20, np.int64)
args = [hs.copy(), hd.copy(), hf.copy(), 20]
TK.heap_sorted(*args)
ref = [hs.copy(), hd.copy(), hf.copy(), 20]
TK.heap_sorted.py_func(*ref)
out["heap_sorted"] = [a.tolist() for a in args[:3]] == [a.tolist() for a in ref[:3]]
# a merge kernel calling SK.compare_bytes through the module, with a read-only blob (no export)
blob = jit.readonly(np.frombuffer(b"applebananaapple", np.uint8)); offs = np.array([0, 5, 11, 16], np.int64)
out["term_cmp"] = [MK._term_cmp(blob, offs, i, j) == MK._term_cmp.py_func(blob, offs, i, j)
                   for i in range(3) for j in range(3)]
# choose_width (the bit_length overload) for uint64 values; _unpack (the unaligned-load intrinsic) writable buf
vals = rng.integers(0, 1 << 20, 300).astype(np.uint64)
out["choose_width"] = list(CK.choose_width(vals)) == list(CK.choose_width.py_func(vals))
buf = rng.integers(0, 256, 200).astype(np.uint8)
o1 = np.zeros(100, np.uint32); o2 = np.zeros(100, np.uint32)
out["unpack"] = [int(PK._unpack(buf, 3, 200, 11, o1, 100)) == int(PK._unpack.py_func(buf, 3, 200, 11, o2, 100)),
                 o1.tolist() == o2.tolist()]
# the same kernels still take their exports for the recorded types
hs64 = rng.random(8); d = np.arange(8, dtype=np.int64); f = np.zeros(8, np.int64)
TK.heap_sorted(hs64, d, f, 8)
out["export_still_used"] = bool(TK._sift_down.aot.exports) and TK.heap_sorted.aot._dispatcher is not None
out["numba"] = "numba" in sys.modules
out["fast_key"] = jit._aot_key_function() is not None
print(json.dumps(out))
'''


def test_types_without_an_export_fall_back_to_the_jit(aot_built):
    """A call with argument types the extension lacks is compiled by numba's JIT, including
    kernels that call other kernels (directly, and through their module: ``SK.compare_bytes``),
    numba overloads (``bit_length``) and intrinsics (the unaligned load); results as Python's."""
    for setup in ("", "from wikisearch import jit\njit._AOT_KEY.append(None)\n"):   # (the checks in Python)
        out = json.loads(_run(setup + FALLBACK, _env(**AOT)))
        assert out["heap_sorted"] and all(out["term_cmp"]) and out["choose_width"] and all(out["unpack"])
        assert out["numba"] and out["export_still_used"]
        assert out["fast_key"] == (not setup)


def _copy_extension(dst: Path, edit=None) -> None:
    dst.mkdir()
    for p in PACKAGE.glob("_aot*.so"):
        shutil.copy(p, dst / p.name)
    manifest = json.loads((PACKAGE / "_aot.json").read_text())
    if edit:
        edit(manifest)
    (dst / "_aot.json").write_text(json.dumps(manifest))


STATUS = "from wikisearch import jit; import sys\nt, why = jit.aot_status()\nprint(t is not None, why)"


def test_a_stale_or_mismatched_extension_is_refused(aot_built, tmp_path):
    """An edited kernel module (its SHA-256 differs from the manifest's), a manifest of another
    build (the extension's stamp differs) or another CPU: the JIT, and ``require`` says why."""
    _copy_extension(tmp_path / "same")
    assert _run(STATUS, _env(WIKISEARCH_AOT_DIR=str(tmp_path / "same"))).startswith("True")

    def stale(m):
        m["sources"]["search/_search_kernels.py"] = "0" * 64

    def other_build(m):
        m["stamp"] += 1

    def other_cpu(m):
        m["cpu"] = "f" * 64
    for name, edit, why in (("stale", stale, "search/_search_kernels.py changed"),
                            ("stamp", other_build, "different builds"), ("cpu", other_cpu, "another CPU")):
        _copy_extension(tmp_path / name, edit)
        out = _run(STATUS, _env(WIKISEARCH_AOT_DIR=str(tmp_path / name)))
        assert out.startswith("False") and why in out, out
        code = "from wikisearch.search import _search_kernels as K\nprint(type(K._gallop).__name__, hasattr(K._gallop, 'aot'))"
        assert _run(code, _env(WIKISEARCH_AOT_DIR=str(tmp_path / name))).strip() == "CPUDispatcher False"
        bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env=_env(WIKISEARCH_AOT_DIR=str(tmp_path / name), **AOT))
        assert bad.returncode != 0 and "WIKISEARCH_AOT=require" in bad.stderr and why in bad.stderr
    missing = tmp_path / "missing"
    missing.mkdir()
    assert "no kernels compiled" in _run(STATUS, _env(WIKISEARCH_AOT_DIR=str(missing)))


def test_exports_keep_their_kernels_error_model(aot_built):
    """A kernel compiled with ``error_model="numpy"`` divides by zero into nan/inf under the
    extension too (pycc compiles its exports with one set of flags: each takes its kernel's)."""
    code = ("import numpy as np\nfrom wikisearch.jit import readonly\n"
            "from wikisearch.search import _blockmax_kernels as B, _prescore_kernels as P\n"
            "z = np.zeros(1, np.float64)\n"    # norm_a = norm_c = 0: 1 / 0 = inf, then inf / inf = nan
            "t = P._term_tables(np.array([1], np.uint16), np.array([1]), z + 1.0, z, z)\n"
            "out = np.full(4, -1.0)\n"
            "B._score_run(0, 1, np.zeros(4, np.int32), np.zeros(4, np.int64), np.zeros(4, np.int64), "
            "np.ones(8, np.uint32), 0, *t, readonly(np.ones((3, 1), np.uint32)), 1.2, 0, out)\n"
            "print(repr(out.tolist()), hasattr(B._score_run, 'aot'))")
    aot, jit_ = _run(code, _env(**AOT)).split(), _run(code, _env(WIKISEARCH_JIT="on")).split()
    assert aot[-1] == "True" and jit_[-1] == "False" and aot[:-1] == jit_[:-1], (aot, jit_)


def test_jit_modes_keep_their_meaning(aot_built):
    """``WIKISEARCH_JIT=on``: numba's dispatchers; ``off``: plain Python; ``WIKISEARCH_AOT=off``:
    the JIT; default: the compiled kernels."""
    code = "from wikisearch.search import _search_kernels as K\nprint(type(K._gallop).__name__, hasattr(K._gallop, 'aot'))"
    assert _run(code, _env(WIKISEARCH_JIT="on")).strip() == "CPUDispatcher False"
    assert _run(code, _env(WIKISEARCH_JIT="off")).strip() == "function False"
    assert _run(code, _env(WIKISEARCH_AOT="off")).strip() == "CPUDispatcher False"
    assert _run(code, _env()).strip() == "function True"
    small = "from wikisearch import jit\nprint(jit.interpret_small_job(1000, jit.SEARCH_KERNELS), jit.cold_groups(None, 2))"
    assert _run(small, _env()).split() == ["False", "[]"]          # a small search: the extension


def test_compiled_kernels_release_the_gil(aot_built):
    """As the JIT's ``nogil=True`` kernels: a long kernel call in one thread lets another run."""
    code = r'''
import threading, time
import numpy as np
from wikisearch.index import _strings_kernels as SK
assert hasattr(SK.sort_strings, "aot")
rng = np.random.default_rng(1)
n = 400_000
blob = rng.integers(97, 100, n * 8).astype(np.uint8)
offs = np.arange(0, n * 8 + 1, 8, dtype=np.int64)
ticks = []
def count():
    while not done:
        ticks.append(1)
        time.sleep(0.0005)
done = False
t = threading.Thread(target=count); t.start()
time.sleep(0.05); before = len(ticks)
t0 = time.perf_counter(); SK.sort_strings(blob, offs); took = time.perf_counter() - t0
during = len(ticks) - before
done = True; t.join()
print(took, during)
'''
    took, during = _run(code, _env()).split()
    if float(took) > 0.05:                       # (long enough for the other thread to run)
        assert int(during) > 5, (took, during)
