"""_aot_build: compile the package's kernels ahead of time into one C extension (at install).

numba's ``pycc`` compiles a kernel for fixed argument types into an ordinary extension module
that imports without numba (only numpy): a process whose every kernel call has such a
specialisation never imports numba, llvmlite or the kernels' dispatchers (about half a second of a
``wikisearch query``'s start), and a first build after an install compiles nothing.

What is compiled: every signature a real workload compiles (``data/kernel_signatures.pkl``, the
record :func:`wikisearch.jit.precompile` uses), one export each, in ``wikisearch/_aot.<tag>.so``.
Beside it ``wikisearch/_aot.json`` (the manifest) names each export's kernel and argument types
(as :func:`wikisearch.jit.type_key` spells them), the SHA-256 of every kernel module's source,
the numpy the extension was built against, and the CPU it was compiled for; the extension exports
``_stamp()``, the manifest's checksum, so that a manifest and an extension of different builds
are never taken together. :mod:`wikisearch.jit` uses the extension only where all of them match
(an edited kernel module, another numpy major version or another CPU: the JIT, as without it).

Run by ``setup.py`` (``build_ext``: ``pip install`` builds it, in place for ``pip install -e``) or
by hand: ``python -m wikisearch._aot_build [OUTDIR]``. It imports only the kernel modules (numpy
and numba), never the rest of the package, so it runs in pip's isolated build environment.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: The extension's module name (``wikisearch._aot``) and its manifest's file name.
EXTENSION = "_aot"
MANIFEST = EXTENSION + ".json"
#: Bumped when the manifest's layout changes; the loader refuses another.
MANIFEST_VERSION = 1


def kernel_sources(package: Path = PACKAGE) -> dict[str, str]:
    """``{path relative to the package: SHA-256 of its bytes}`` of every ``_*_kernels.py``."""
    out = {}
    for p in sorted(package.rglob("_*_kernels.py")):
        out[p.relative_to(package).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def type_name(t) -> str:
    """A numba argument type as :func:`wikisearch.jit.type_key` spells a value's type:
    ``int64``, ``float64``, ``bool``; an array as ``<dtype>[<ndim>,<layout>,<r|w>]`` (read-only
    or writable; numba's ``typeof`` never makes an unaligned array type, nor do we compile one)."""
    from numba.core import types
    if isinstance(t, types.Array):
        if not t.aligned:
            raise TypeError(f"no AOT spelling for unaligned {t}")
        return f"{t.dtype}[{t.ndim},{t.layout},{'w' if t.mutable else 'r'}]"
    if isinstance(t, (types.Integer, types.Float, types.Boolean)):
        return str(t)
    raise TypeError(f"no AOT spelling for argument type {t}")


def _load_record(path: Path) -> dict:
    """The recorded signatures, whichever numba wrote them (the types are numba's own classes:
    they load across numba versions that keep them)."""
    import pickle
    return pickle.loads(path.read_bytes())["kernels"]


def plan(record: dict) -> list[tuple[str, str, str, tuple]]:
    """``(export name, module, function, argument types)`` for every recorded signature whose
    types have a spelling; in a fixed order (the export names are positions in it)."""
    out = []
    for module in sorted(record):
        for func in sorted(record[module]):
            for sig in sorted(record[module][func], key=str):
                try:
                    [type_name(t) for t in sig]
                except TypeError:
                    continue
                out.append((f"k{len(out)}", module, func, tuple(sig)))
    return out


def build(out_dir: str | os.PathLike | None = None, *, signatures: Path | None = None,
          target_cpu: str | None = None, say=print) -> Path:
    """Compile the recorded kernels into ``<out_dir>/_aot.<tag>.so`` and write its manifest;
    returns the extension's path. ``out_dir`` defaults to the package folder. The manifest is
    written (atomically) only after the extension: an interrupted build leaves no manifest that
    names a half-written extension (and the stamp check refuses a mismatched pair)."""
    os.environ["WIKISEARCH_JIT"] = "on"          # the kernels as numba dispatchers, not the AOT
    os.environ["WIKISEARCH_AOT"] = "off"
    sys.path.insert(0, str(PACKAGE.parent))
    import importlib

    import numpy
    import numba.pycc.compiler
    from numba.pycc import CC

    from wikisearch.jit import cpu_signature

    out_dir = Path(out_dir) if out_dir is not None else PACKAGE
    record = _load_record(signatures or PACKAGE / "data" / "kernel_signatures.pkl")
    entries = plan(record)
    cpu = cpu_signature() if target_cpu is None else ""
    cc = CC(EXTENSION, source_module=__name__)
    cc.output_dir = str(out_dir)
    cc.target_cpu = "host" if cpu else (target_cpu or "")
    cc.verbose = False
    kernels: dict = {}
    t0 = time.process_time()
    options = {}
    for name, module, func, sig in entries:
        dispatcher = getattr(importlib.import_module(module), func)
        cc.export(name, sig)(dispatcher.py_func)
        options[dispatcher.py_func] = dict(dispatcher.targetoptions)
        kernels.setdefault(module, {}).setdefault(func, []).append([name, [type_name(t) for t in sig]])
    manifest = {"version": MANIFEST_VERSION, "numpy": numpy.__version__,
                "numba": __import__("numba").__version__, "cpu": cpu,
                "python": list(sys.version_info[:2]), "sources": kernel_sources(),
                "kernels": kernels}
    text = json.dumps(manifest, sort_keys=True)
    stamp = int.from_bytes(hashlib.sha256(text.encode()).digest()[:7], "little")
    manifest["stamp"] = stamp

    def _stamp():
        return stamp
    cc.export("_stamp", "i8()")(_stamp)
    _release_gil(numba.pycc.compiler)
    _kernel_options(numba.pycc.compiler, options)
    _box_type_once()
    say(f"compiling {len(entries)} kernel signatures ahead of time into {cc.output_file} "
        f"(once, at install; a few minutes of CPU)")
    (out_dir / MANIFEST).unlink(missing_ok=True)
    cc.compile()
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, sort_keys=True, indent=0))
    os.replace(tmp, out_dir / MANIFEST)
    say(f"compiled in {time.process_time() - t0:.0f} s of CPU")
    return out_dir / cc.output_file


def _release_gil(compiler) -> None:
    """Make the exports release the GIL while they run, as the JIT's ``nogil=True`` kernels do
    (threads search shards and batches in parallel): pycc compiles its exports with default
    flags, and the Python wrapper numba generates releases the GIL where ``release_gil`` is set."""
    flags = compiler.Flags
    if getattr(flags, "_wikisearch_nogil", False):
        return

    class NogilFlags(flags):
        _wikisearch_nogil = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True
    compiler.Flags = NogilFlags


def _kernel_options(compiler, options: dict) -> None:
    """Compile each export with its kernel's own ``error_model`` (``@njit(error_model="numpy")``:
    a division by zero gives inf or nan, as numpy, rather than raising), as the JIT does: pycc
    compiles every export with the same default flags."""
    full = getattr(compiler.compile_extra, "_wikisearch_full", compiler.compile_extra)

    def compile_extra(typingctx, targetctx, func, args, return_type, flags, *rest, **kwargs):
        model = options.get(func, {}).get("error_model")
        if model is not None:
            flags = flags.copy()
            flags.error_model = model
        return full(typingctx, targetctx, func, args, return_type, flags, *rest, **kwargs)
    compile_extra._wikisearch_full = full
    compiler.compile_extra = compile_extra


def _box_type_once() -> None:
    """Make the exports that return arrays unpickle the arrays' Python type (``np.ndarray``) once
    per process instead of at every call. numba's boxing of a returned array embeds that type
    pickled and unpickles it each time (``PythonAPI.nrt_adapt_ndarray_to_python`` calls
    ``unserialize``); the JIT's helper looks the bytes up in a memo, but an extension built by
    pycc has no numba to import and calls ``pickle.loads``: 11 % of the CPU of every
    ``maxscore_topk`` call (its three arrays) in a py-spy profile of the first-sight protocol.
    Here numba's own method runs with an ``unserialize`` that keeps the unpickled object in a
    global of the function's module, filled by the first call (a new reference, never released:
    the callee borrows it, and numba's code leaks one per call; threads that race to fill it
    store the same type). numba's method is otherwise untouched, whatever its version."""
    from llvmlite import ir
    from numba.core import cgutils, pythonapi

    api = pythonapi.PythonAPI
    if getattr(api, "_wikisearch_box_once", False):
        return
    boxing = api.nrt_adapt_ndarray_to_python

    def nrt_adapt_ndarray_to_python(self, aryty, ary, dtypeptr):
        unserialize = self.unserialize

        def once(structptr):
            name = getattr(structptr, "name", "")       # (.const.picklebuf.<sha1 of the pickle>)
            if not name:
                return unserialize(structptr)
            builder = self.builder
            name = "_wikisearch_once" + name
            gv = builder.module.globals.get(name)
            if gv is None:
                gv = ir.GlobalVariable(builder.module, self.pyobj, name)
                gv.linkage = "internal"
                gv.initializer = ir.Constant(self.pyobj, None)
            with builder.if_then(cgutils.is_null(builder, builder.load(gv)), likely=False):
                builder.store(unserialize(structptr), gv)
            return builder.load(gv)
        self.unserialize = once
        try:
            return boxing(self, aryty, ary, dtypeptr)
        finally:
            del self.unserialize

    api.nrt_adapt_ndarray_to_python = nrt_adapt_ndarray_to_python
    api._wikisearch_box_once = True


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else None)
