"""jit: is numba's on-disk cache cold for some kernels? (their first call compiles, for seconds)

Kernels are ``@njit(cache=True)``: the first run on a machine (or after an upgrade) compiles
them, later runs load machine code from numba's cache. Callers that are about to run kernels for
the first time in a process ask :func:`cold_kernels` and, if any are cold, say so
("compiling search kernels (first run only)"), so that a long first run does not look hung.

The check reads each cached kernel's cache index (a small pickle, keyed to the source file's
stamp, so an edited module counts as cold): about a millisecond for all kernels of a module, and
it never compiles anything. Where it is not known in advance which kernels a call will run (a
query), :func:`note_compiling` says so when numba actually starts compiling, through numba's event
API; loads from the cache raise no event, so the usual run stays silent.

>>> from wikisearch.index import _codec_kernels
>>> cold_kernels([_codec_kernels])          # doctest: +SKIP
[]

A first run compiles many kernels, one after the other (about 110 s of CPU for all of them, about
50 s for a build's: benchmarks/results/first-run.md). Where more
than one core is free, :func:`precompile` compiles the cold ones in parallel processes first, from
the signatures a real workload compiles (``data/kernel_signatures.pkl``, written by
``benchmarks/record_kernels.py`` and checked against the code by tests/test_jit.py), so the run
itself then loads them from the cache. A signature it lacks is still compiled when first called.

Where ``pip install`` compiled those recorded signatures ahead of time (``wikisearch._aot``, see
``_aot_build.py``) and the extension is current, none of the above happens: :func:`njit` returns
a function that calls the extension's export for its arguments' types (:class:`AotKernel`),
numba is not imported, and nothing is cold (:func:`aot_status`, ``WIKISEARCH_AOT``).
"""
from __future__ import annotations

import importlib
import os
import pickle
import sys
import threading
import types
from contextlib import contextmanager
from pathlib import Path


def _dispatchers(module: types.ModuleType) -> list:
    """The numba dispatchers with an on-disk cache among ``module``'s own functions."""
    out = []
    for value in vars(module).values():
        cache = getattr(value, "_cache", None)
        py_func = getattr(value, "py_func", None)
        if cache is None or py_func is None or getattr(py_func, "__module__", None) != module.__name__:
            continue
        if hasattr(cache, "_cache_file"):         # numba's FunctionCache (NullCache has none)
            out.append(value)
    return out


def _is_cold(module: types.ModuleType) -> bool:
    """True when no cached kernel of ``module`` has anything in numba's cache for its current
    source; False when some have (or when this numba does not tell: better silent than wrong)."""
    dispatchers = _dispatchers(module)
    if not dispatchers:                            # NUMBA_DISABLE_JIT, or no cached kernels
        return False
    try:
        return not any(d._cache._cache_file._load_index() for d in dispatchers)
    except Exception:                              # numba internals moved: say nothing
        return False


def cold_kernels(modules) -> list[str]:
    """Names of the kernel ``modules`` (module objects) whose first call will compile."""
    return [m.__name__ for m in modules if _is_cold(m)]


def loaded_kernel_modules(prefix: str = "wikisearch") -> list[types.ModuleType]:
    """The ``*_kernels`` modules under ``prefix`` that this process has imported."""
    return [m for name, m in sorted(sys.modules.items())
            if m is not None and name.startswith(prefix + ".") and name.endswith("_kernels")]


@contextmanager
def note_compiling(say):
    """Within the block, call ``say()`` once, when numba starts compiling a kernel of this
    process (a kernel loaded from numba's cache compiles nothing, and says nothing).

    >>> with note_compiling(lambda: print("compiling search kernels (first run only)")):  # doctest: +SKIP
    ...     searcher.search("berlin")
    """
    if interpreting() or (aot_active() and "numba" not in sys.modules):
        yield                                 # kernels as Python, or compiled at install: numba
        return                                # is not imported for it
    try:
        from numba.core import event
    except ImportError:                       # numba without the event API: say nothing
        yield
        return
    lock = threading.Lock()
    said = []

    class _Once(event.Listener):
        def on_start(self, ev):
            with lock:
                if said:
                    return
                said.append(True)
            say()

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", _Once()):
        yield


# --- one specialisation per kernel ---------------------------------------------------------------
def _unliteral_calls(dispatcher):
    """Type calls to ``dispatcher`` from other kernels without literal constants.

    numba types a constant argument (``_sift_down(heap, 0)``) as ``Literal[int](0)`` and compiles
    the callee again for it, beside its ``int64`` version: each such copy costs the first run up to
    a second of compiling (31 of the 200 signatures a real workload compiled were such copies).
    Our kernels never branch on a literal's value at typing time, so the callee is compiled once,
    for the plain types."""
    from numba.core import types

    original = dispatcher.get_call_template

    def get_call_template(args, kws):
        return original(tuple(types.unliteral(a) for a in args),
                        {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


_LIGHT_LOADS = []


def light_cache_loads() -> bool:
    """Load cached kernels without first readying numba's whole compiler (once per process;
    True when in effect).

    Before it loads a kernel from its on-disk cache, numba refreshes its CPU target context:
    it imports and registers every typing and lowering rule numba has (numba.np.arraymath,
    numba.cpython.*, cffi, third-party extensions through entry points, and the BLAS probe that
    imports scipy.linalg) -- about 0.15-0.4 s of a process's start, of which loading machine code
    needs only the runtime (NRT) the code links against. Here a cache load initialises just the
    runtime; a compile (a cache miss) still refreshes everything first, as numba's compiler
    does on its own (``CompilerBase.__init__``), so what a kernel computes is unchanged. Only
    this package's kernels load so; other code's cached functions load numba's own way.
    Returns False, changing nothing, where this numba's internals are not the expected ones."""
    if _LIGHT_LOADS:
        return _LIGHT_LOADS[0]
    ok = False
    try:
        from numba.core import caching
        from numba.core.runtime import rtsys
        full = caching.Cache.load_overload
        if getattr(full, "__code__", None) is not None and "refresh" in full.__code__.co_names \
                and hasattr(caching.Cache, "_load_overload") \
                and hasattr(caching.Cache, "_guard_against_spurious_io_errors"):

            lazy = _lazy_linking_code()
            defer_nrt = _runtime_symbols_known(rtsys)
            _lazy_numba_environments()

            def load_overload(self, sig, target_context):
                module = getattr(getattr(self, "_py_func", None), "__module__", None) or ""
                if not module.startswith(__package__ + "."):
                    return full(self, sig, target_context)
                if defer_nrt:                             # what the loaded code links against
                    _runtime_symbols(rtsys)
                else:
                    rtsys.initialize(target_context)
                _LOADING.active = lazy
                try:
                    with self._guard_against_spurious_io_errors():
                        return self._load_overload(sig, target_context)
                finally:
                    _LOADING.active = False

            load_overload.__doc__ = full.__doc__
            caching.Cache.load_overload = load_overload
            ok = True
    except Exception:                                  # numba internals moved: numba's own way
        ok = False
    _LIGHT_LOADS.append(ok)
    return ok


_RUNTIME_SYMBOLS = []


def _runtime_symbols_known(rtsys) -> bool:
    """Whether ``rtsys.initialize`` is the one :func:`_runtime_symbols` does part of."""
    try:
        import inspect
        from numba.core.runtime import _nrt_python as _nrt
        names = inspect.unwrap(type(rtsys).initialize).__code__.co_names
        return isinstance(_nrt.c_helpers, dict) and isinstance(rtsys._init, bool) \
            and {"c_helpers", "add_symbol", "compile_nrt_functions"} <= set(names)
    except Exception:                                  # noqa: BLE001  (numba internals moved)
        return False


def _runtime_symbols(rtsys) -> None:
    """Within :func:`light_cache_loads`: what a cached kernel's machine code needs of numba's
    runtime (NRT) -- the addresses of its C functions (``NRT_MemInfo_alloc_aligned``, ...), which
    ``rtsys.initialize`` gives LLVM -- without the rest of ``rtsys.initialize``: compiling the
    runtime's own LLVM functions (``NRT_incref``, atomics; ~0.03 s of every process's start), which
    only a kernel being compiled links in (a cached kernel's object code holds its copy: it names
    no runtime function but the C ones, a test checks). A compile still initialises the runtime
    whole, as numba's compiler does (``CPUContext.load_additional_registries``)."""
    if rtsys._init or _RUNTIME_SYMBOLS:
        return
    import llvmlite.binding as ll
    from numba.core import config
    from numba.core.runtime import _nrt_python as _nrt
    if config.NRT_STATS:
        _nrt.memsys_enable_stats()
    for py_name, address in _nrt.c_helpers.items():       # as rtsys.initialize names them
        ll.add_symbol(py_name if py_name.startswith("_") else "NRT_" + py_name, address)
    _RUNTIME_SYMBOLS.append(True)


def _lazy_numba_environments() -> None:
    """Within :func:`light_cache_loads`, rebuild the environment of a numba implementation that
    a cached kernel includes (``np.empty``'s, for one, in ``numba.np.arrayobj``) without
    importing that numba module, where it is not imported yet.

    numba pickles a compiled function's environment as its module's name and constants and, on a
    load, imports the module to make its ``__dict__`` the environment's globals: for numba's own
    array and math implementations that is ``numba.np.arrayobj``, ``numba.np.arraymath`` and what
    they import (~0.06 s of CPU at load 5, the largest part of a first query's first kernel
    load). Compiled code in nopython mode never reads those globals (only object mode does, which
    these kernels never use; the constants, which exceptions raised with values read, are kept),
    so the environment gets a dict naming the module instead. A kernel that is compiled, and
    anything loaded numba's own way, rebuilds environments as numba does."""
    from numba.core import environment

    full = environment._rebuild_env

    def _rebuild_env(modname, consts, env_name):
        if not getattr(_LOADING, "active", False) or not isinstance(modname, str) \
                or not modname.startswith("numba.") or modname in sys.modules \
                or environment.lookup_environment(env_name) is not None:
            return full(modname, consts, env_name)
        env = environment.Environment({"__name__": modname})
        env.consts[:] = consts
        env.env_name = env_name
        environment.Environment._memo[env_name] = env
        return env

    # Pickled by reference as numba's own (a kernel compiled and cached here reduces its
    # environment to this function): the cache files name numba's function, as without it.
    _rebuild_env.__module__, _rebuild_env.__qualname__ = full.__module__, full.__qualname__
    environment._rebuild_env = _rebuild_env


def _extensions_when_compiling(dispatcher) -> None:
    """Leave numba's third-party extensions (``numba_extensions`` entry points: a scan of every
    installed distribution's metadata, ~0.02 s of CPU at load 5) to a compile of ``dispatcher``:
    numba initialises them before a dispatcher's first call, for the compile that may follow,
    and its compiler initialises them itself (``BaseContext.refresh``) before it compiles; a
    kernel loaded from the cache needs none of them (its arguments are arrays and numbers)."""
    dispatcher._compilation_chain_init_hook = _no_hook


def _no_hook() -> None:
    return None


def overload(func, **options):
    """``numba.extending.overload(func, **options)``, registered only where the kernels of
    ``func``'s module compile: where they run as Python (:func:`interpreted`) the overload would
    never be used, and numba is not imported (about 0.5 s of a small job's every process)."""
    def register(typer):
        if _interpreted(func.__module__):
            return typer
        if _aot_table() is not None:                  # registered if a kernel compiles (JIT)
            with _AOT_LOCK:
                _DEFERRED_OVERLOADS.append((func, options, typer))
            return typer
        from numba.extending import overload as numba_overload
        return numba_overload(func, **options)(typer)
    return register


def intrinsic(typer):
    """``numba.extending.intrinsic``, made only where the kernels of ``typer``'s module compile
    (see :func:`overload`)."""
    if _interpreted(typer.__module__):
        return typer
    if _aot_table() is not None:                      # made if a kernel compiles (JIT)
        return _LazyIntrinsic(typer)
    from numba.extending import intrinsic as numba_intrinsic
    return numba_intrinsic(typer)


_LOADING = threading.local()


def _lazy_linking_code() -> bool:
    """Within :func:`light_cache_loads`, load a kernel's machine code without parsing the LLVM
    bitcode cached beside it (True when in effect).

    numba caches a kernel as its object code plus its LLVM bitcode, the latter for linking into
    a kernel compiled later that calls it, and a load parses that bitcode and walks all its
    functions for the names the object defines: about half of a load's CPU (0.13 s of the ~0.25 s
    that loading the kernels of a first suggestion and search with snippets takes). Here the
    names come from the object code's own ELF symbol table (the same set: a test compares
    them) and the bitcode is parsed only if a compile links the kernel in. Where the object is
    not ELF64 little-endian, or numba's internals are not the expected ones, numba's own way."""
    try:
        import llvmlite.binding as ll
        from numba.core import codegen

        library = codegen.JITCodeLibrary
        full = library._unserialize.__func__
        linking = codegen.CPUCodeLibrary._get_module_for_linking
        if not hasattr(codegen.JitEngine, "_load_defined_symbols"):
            return False
    except Exception:                                  # noqa: BLE001
        return False

    def _unserialize(cls, codegen_, state):
        name, kind, data = state
        engine = getattr(codegen_, "_engine", None)
        if not getattr(_LOADING, "active", False) or kind != "object" \
                or not isinstance(getattr(engine, "_defined_symbols", None), set):
            return full(cls, codegen_, state)
        object_code, shared_bitcode = data
        names = elf_defined_symbols(object_code)
        if names is None:
            return full(cls, codegen_, state)
        self = codegen_.create_library(name)
        self.enable_object_caching()
        self._set_compiled_object(object_code)
        self._wikisearch_bitcode = shared_bitcode
        self._finalize_final_module()
        engine._defined_symbols |= names
        return self

    def _get_module_for_linking(self):
        bitcode = self.__dict__.pop("_wikisearch_bitcode", None)
        if bitcode is not None and self._shared_module is None:
            self._shared_module = ll.parse_bitcode(bitcode)
        return linking(self)

    library._unserialize = classmethod(_unserialize)
    codegen.CPUCodeLibrary._get_module_for_linking = _get_module_for_linking
    return True


def elf_defined_symbols(obj: bytes) -> set[str] | None:
    """The names of the symbols (functions, data) that an ELF64 little-endian object file
    defines, from its symbol tables; None when ``obj`` is not such a file or does not parse."""
    import struct
    try:
        if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
            return None
        (shoff,) = struct.unpack_from("<Q", obj, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize) for i in range(shnum)]
        names: set[str] = set()
        for _name, kind, _flags, _addr, off, size, link, _info, _align, entsize in sections:
            if kind != 2 or entsize < 24:                  # SHT_SYMTAB only
                continue
            strings = sections[link][4]
            for at in range(off + entsize, off + size, entsize):   # entry 0 is the null symbol
                st_name, st_info, _other, st_shndx = struct.unpack_from("<IBBH", obj, at)
                if st_shndx == 0 or (st_info & 0xF) in (3, 4):      # undefined; a section, a file
                    continue
                start = strings + st_name
                names.add(obj[start:obj.index(b"\0", start)].decode("utf-8", "surrogateescape"))
        return names
    except (struct.error, ValueError, IndexError):
        return None


def njit(*args, **options):
    """``numba.njit`` for this package's kernels (``@njit(cache=True, nogil=True)``), compiling
    one specialisation where numba would compile one per literal constant a caller passes
    (:func:`_unliteral_calls`), and loading cached ones without readying the compiler
    (:func:`light_cache_loads`), and without the C-callable wrapper numba builds beside every
    compiled function by default (``no_cfunc_wrapper``: only ``.cfunc``/ctypes callers use it,
    none here; about 5 % of each compile's CPU, the function's own machine code unchanged).
    numba is imported here, not when this module is. Where the kernels were compiled ahead of
    time at install (:func:`aot_status`), a kernel is an :class:`AotKernel`'s ``call`` instead:
    numba is then imported only by a call with argument types that have no compiled export.

    >>> @njit(cache=True, nogil=True)          # doctest: +SKIP
    ... def add(a, i):
    ...     return a[i] + 1
    """
    def wrap(func):
        if _interpreted(func.__module__):             # a small job on a cold cache: plain Python
            _quiet_interpreted_overflow()
            return func
        table = _aot_table()
        if table is not None:
            return AotKernel(func, options, table.get((func.__module__, func.__name__), {})).call
        return _make_dispatcher(func, options)

    if len(args) == 1 and callable(args[0]) and not options:
        return wrap(args[0])
    if args:
        raise TypeError("wikisearch.jit.njit takes keyword options only")
    return wrap


def _make_dispatcher(func, options):
    """numba's dispatcher of ``func`` as :func:`njit` makes it."""
    import numba
    light_cache_loads()
    stamp_kernel_caches()
    options = dict(options)
    options.setdefault("no_cfunc_wrapper", True)    # see njit's docstring
    dispatcher = numba.njit(**options)(func)
    if hasattr(dispatcher, "get_call_template"):   # not under NUMBA_DISABLE_JIT
        _unliteral_calls(dispatcher)
        if light_cache_loads() and hasattr(dispatcher, "_compilation_chain_init_hook"):
            _extensions_when_compiling(dispatcher)
    return dispatcher


def readonly(a):
    """A read-only view of numpy array ``a`` (``a`` itself when it is read-only already): numba
    compiles a kernel once per argument type and read-only is part of the type, so an argument
    that comes both mapped from a file (read-only) and computed is always passed read-only.

    >>> import numpy as np
    >>> readonly(np.zeros(3)).flags.writeable
    False
    """
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


# --- a small job on a cold cache runs the kernels as Python ---------------------------------------
#: ``WIKISEARCH_JIT``: ``auto`` (default: compile, except a small job on a cold cache, see
#: :func:`interpret_small_job`), ``on`` (always compile), ``off`` (every kernel as plain Python:
#: the same results, many times slower).
JIT_ENV = "WIKISEARCH_JIT"
#: Set by :func:`interpret_small_job` for this process and the workers it starts.
_INTERPRET_ENV = "WIKISEARCH_INTERPRET_KERNELS"
#: Input (compressed dump bytes, or index bytes) up to which a cold first run interprets rather
#: than compiles: the bundled sample (0.4 MB of bz2) indexes in about 3 s of CPU as Python
#: against about 100 s to compile every kernel; the work grows with the input, the compile not.
SMALL_JOB_BYTES = 2_000_000


def interpreting() -> bool:
    """True when :func:`interpret_small_job` chose plain Python for this process's kernels."""
    return _jit_mode() == "auto" and os.environ.get(_INTERPRET_ENV) == "1"


def _jit_mode() -> str:
    return os.environ.get(JIT_ENV, "auto").strip().lower()


def interpreted(module_name: str) -> bool:
    """True when the kernels of module ``module_name`` run as plain Python in this process (a
    small job on a cold cache, or ``WIKISEARCH_JIT=off``): where a faster Python path exists
    beside them (``Analyzer.analyze_texts_python``), the caller takes it."""
    return _interpreted(module_name)


def _interpreted(module_name: str) -> bool:
    mode = _jit_mode()
    if mode == "off":
        return True
    if mode == "on":
        return False
    return os.environ.get(_INTERPRET_ENV) == "1"


def _quiet_interpreted_overflow() -> None:
    """As Python, the kernels' 64-bit hashes wrap on numpy scalars with a RuntimeWarning (numba
    wraps silently): the wrap is intended, so the warning is not shown."""
    import warnings
    warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning,
                            module=r"wikisearch\..*_kernels")


# --- the cache stamp of a kernel module: its source and the kernel modules it imports ----------
#: numba keys a kernel's cached machine code by the SHA-256 of its own module's source, yet that
#: code holds every kernel it calls from other modules, compiled into it: an edit of
#: ``_codec_kernels.read_stream`` (index format 11) left ``_merge_kernels.gather_chunk``, its
#: module unchanged, loading format 10's reader from the cache. The stamp of this package's
#: kernel modules hashes the kernel modules each imports (transitively) with it; one that imports
#: none keeps numba's own stamp. :func:`stamp_kernel_caches` has numba's locators use it.
_STAMPS: dict = {}
_IMPORTS: dict = {}


def _kernel_imports(path: Path, root: Path) -> list[Path]:
    """The kernel modules of package ``root`` that the module at ``path`` imports (``from
    pkg.x._y_kernels import ...``, ``from pkg.x import _y_kernels as Y``, ``import pkg.x._y_kernels``)."""
    import re
    st = path.stat()
    key = (str(path), str(root), st.st_mtime_ns, st.st_size)
    if key not in _IMPORTS:
        text = path.read_text(encoding="utf-8", errors="replace")
        names = []
        for m in re.finditer(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", text, re.M):
            module, imported = m.group(1), m.group(2).strip("()")
            if module.rsplit(".", 1)[-1].endswith("_kernels"):
                names.append(module)
            for item in imported.split(","):
                name = item.split(" as ")[0].strip()
                if name.startswith("_") and name.endswith("_kernels"):
                    names.append(f"{module}.{name}")
        names += re.findall(r"^[ \t]*import[ \t]+([\w.]+_kernels)\b", text, re.M)
        found = []
        for name in names:
            parts = name.split(".")
            if parts[0] == root.name and len(parts) > 1:
                dep = root.joinpath(*parts[1:]).with_suffix(".py")
                if dep.is_file() and dep not in found:
                    found.append(dep)
        _IMPORTS[key] = found
    return _IMPORTS[key]


def kernel_source_stamp(path, root=None) -> bytes:
    """The cache stamp of the kernel module at ``path`` (of package ``root``, default this one):
    the SHA-256 of its source, as numba's, when it imports no other kernel module; else the
    SHA-256 of its source and of each kernel module it imports, transitively."""
    import hashlib
    root = Path(root) if root is not None else Path(__file__).parent
    path = Path(path)
    closure, todo = [path], [path]
    while todo:
        for dep in _kernel_imports(todo.pop(), root):
            if dep not in closure:
                closure.append(dep)
                todo.append(dep)
    key = (str(root),) + tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in closure)
    if key not in _STAMPS:
        if len(closure) == 1:
            _STAMPS[key] = hashlib.sha256(path.read_bytes()).digest()
        else:
            h = hashlib.sha256(path.read_bytes())
            for f in sorted(closure[1:]):
                h.update(b"\0" + str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
            _STAMPS[key] = h.digest()
    return _STAMPS[key]


def stamp_kernel_caches() -> bool:
    """Have numba stamp the cache of this package's kernel modules by :func:`kernel_source_stamp`
    (once per process; True when in effect; False, changing nothing, where this numba has no
    ``caching._hash_source_file``)."""
    from numba.core import caching
    plain = getattr(caching, "_hash_source_file", None)
    if plain is None:
        return False
    if getattr(plain, "_wikisearch", False):
        return True
    package = Path(__file__).parent

    def stamp(path, st_mtime, st_size):
        p = Path(path)
        if p.name.startswith("_") and p.name.endswith("_kernels.py") and p.parent.is_relative_to(package):
            return kernel_source_stamp(p)
        return plain(path, st_mtime, st_size)

    stamp._wikisearch = True
    caching._hash_source_file = stamp
    return True


def cached_functions(name: str) -> set:
    """The functions (qualified names) of kernel module ``name`` that have compiled code in
    numba's cache for the module's current source, found without importing the module (so that
    :func:`interpret_small_job` can still decide how it loads). Empty when nothing is found, or
    numba does not tell."""
    import importlib.util
    found = set()
    try:
        origin = importlib.util.find_spec(name).origin
        if _nothing_cached_in_tree(origin):
            return found                          # (without importing numba: 0.5 s)
        import numba
        from numba.core import caching, config
        stamp = kernel_source_stamp(origin)       # (as numba's, by stamp_kernel_caches)
        subpath = caching._CacheLocator.get_suitable_cache_subpath(origin)
        if config.CACHE_DIR:                      # NUMBA_CACHE_DIR: numba looks nowhere else
            dirs = [Path(config.CACHE_DIR) / subpath]
        else:                                     # beside the source, else the user's cache
            from numba.misc.appdirs import AppDirs
            dirs = [Path(origin).parent / "__pycache__",
                    Path(AppDirs(appname="numba", appauthor=False).user_cache_dir) / subpath]
        stem = Path(origin).stem
        for d in dirs:
            for name in _index_names(d, stem):  # <stem>.<qualname>-<line>.py311.nbi
                with open(os.path.join(d, name), "rb") as f:
                    if pickle.load(f) != numba.__version__:
                        continue
                    source_stamp, overloads = _OpaqueUnpickler(f).load()
                if source_stamp == stamp and overloads:
                    found.add(name[len(stem) + 1:].rsplit("-", 1)[0])
    except Exception:                             # numba internals moved: say "not cached"
        return set()
    return found


def _index_names(folder: Path, stem: str) -> list[str]:
    """The names in ``folder`` that glob pattern ``<stem>.*-*.py<XY>*.nbi`` matches (numba's cache
    indexes of module ``stem`` for this Python), without compiling the pattern (a regex each,
    which ``Path.glob`` makes for every call)."""
    py = f".py{sys.version_info[0]}{sys.version_info[1]}"
    head = stem + "."
    out = []
    for name in _nbi_names(folder, stem):
        middle = name[len(head):-4]               # matches "*-*<py>*": a "-", then <py> after it
        dash = middle.find("-")
        if dash >= 0 and middle.find(py, dash + 1) >= 0:
            out.append(name)
    return out


def _nbi_names(folder: Path, stem: str) -> list[str]:
    """The names in ``folder`` that glob pattern ``<stem>.*.nbi`` matches (numba's cache indexes
    of module ``stem``), without a regex compiled; none where there is no such folder."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    head = stem + "."
    return [n for n in names if n.startswith(head) and n.endswith(".nbi") and len(n) >= len(head) + 4]


class _Opaque:
    """Whatever object a pickle holds: built from any arguments and state, kept as nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _OpaqueUnpickler(pickle.Unpickler):
    """Reads a pickle with every class or function it names replaced by :class:`_Opaque`: the
    plain data (numbers, strings, tuples, lists, dicts) as it was, and no numba type built (a
    cache index's overloads are keyed by numba types: half of the cost of reading them)."""

    def find_class(self, module, name):
        return _Opaque


def _nothing_cached_in_tree(origin: str) -> bool:
    """True when numba caches the module at ``origin`` beside it (``NUMBA_CACHE_DIR`` unset and
    the package folder writable: numba's in-tree locator comes first and then looks nowhere
    else) and its ``__pycache__`` holds no cache index of it: nothing cached, as a fresh install."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return False
    folder = Path(origin).parent
    cache = folder / "__pycache__"
    if not os.access(cache if cache.is_dir() else folder, os.W_OK):
        return False
    return not _nbi_names(cache, Path(origin).stem)


def module_cached(name: str) -> bool:
    """True when numba's cache holds compiled code of kernel module ``name`` for its current
    source (:func:`cached_functions`)."""
    return bool(cached_functions(name))


def interpret_small_job(work_bytes, module_names, *, say=None) -> bool:
    """Before a command imports its kernels: when the job is small (``work_bytes`` at most
    :data:`SMALL_JOB_BYTES`) and some of ``module_names`` are not in numba's cache, run the
    kernels as plain Python in this process and the workers it starts, rather than compile them
    first: same code, same results, and a first look at the bundled sample takes seconds instead
    of a minute or two of compiling. Where a kernel as Python would be slow over a whole input,
    its caller takes a Python path of its own instead (:func:`interpreted`: the build's tokenizer,
    the spelling dictionary's deletes), so that such a job compiles nothing at all.
    A larger job, or a warm cache, compiles (or loads) as always. Returns True when it chose to
    interpret; ``say()`` is called then. ``WIKISEARCH_JIT=on|off`` overrides the choice."""
    if _jit_mode() != "auto":
        return False
    if aot_active() and set(module_names) <= set(SEARCH_KERNELS):
        return False                                  # a search: compiled at install, all of it
    # (a build: the recorded signatures miss kernels a CLI build of several blocks runs -- the
    # merge's -- which would compile for seconds: a small build still runs as Python)
    if work_bytes is None or work_bytes > SMALL_JOB_BYTES or os.environ.get(_INTERPRET_ENV) == "1":
        return False
    if any(m in sys.modules for m in module_names):   # already loaded compiled: too late to choose
        return False
    if all(module_cached(m) for m in module_names):
        return False
    os.environ[_INTERPRET_ENV] = "1"
    if say is not None:
        say()
    return True


# --- compiling cold kernels in parallel ---------------------------------------------------------
#: The kernel modules a CLI search runs (did-you-mean's, with the title lookup it scores
#: corrections by, and the snippets' included: the CLI corrects and shows snippets by default;
#: not the re-ranking ones, which compile when first used). tests/test_jit.py checks them
#: against what a query imports.
SEARCH_KERNELS = ["wikisearch.popularity._spelling_kernels", "wikisearch.popularity._suggest_kernels",
                  "wikisearch._topk_kernels",
                  "wikisearch.analysis._analyze_kernels", "wikisearch.index._codec_kernels", "wikisearch.index._strings_kernels",
                  "wikisearch.index._termdict_kernels", "wikisearch.popularity._priors_kernels",
                  "wikisearch.search._blockmax_kernels", "wikisearch.search._maxscore_kernels",
                  "wikisearch.search._prescore_kernels", "wikisearch.search._search_kernels",
                  "wikisearch.search._snippet_kernels", "wikisearch.index._wordcode_kernels",
                  "wikisearch.search._proximity_kernels"]

#: The kernels a build runs, ``{module: functions}`` (None: all of the module's): a build of a
#: small dump in an empty cache compiles these and no other (tests/test_jit.py). A first build
#: precompiles their recorded signatures before its first block; its workers compile the search
#: kernels (:data:`SEARCH_KERNELS`) once no block is left to start (``build.Builder``).
BUILD_KERNELS = {
    "wikisearch.analysis._analyze_kernels": ("_class_at", "_decode", "_distinct_run", "_grow", "_intern",
                                             "_lower", "_rehash", "_same_token", "_scan_token",
                                             "join_spans", "remap", "tokenize_distinct"),
    "wikisearch.index._codec_kernels": None,
    "wikisearch.index._invert_kernels": None,
    "wikisearch.index._merge_kernels": None,
    "wikisearch.index._strings_kernels": ("_bound", "_id", "_less", "_prefix_keys", "compare_bytes",
                                          "find_last_many", "fsst_count", "fsst_decode",
                                          "fsst_decoded_size", "fsst_encode", "fsst_match",
                                          "gather_strings", "run_starts", "sort_strings", "upper_bound"),
    "wikisearch.index._termdict_kernels": ("_read_record", "_vb_read", "_vb_write", "decode_blocks",
                                           "encode_dictionary"),
    "wikisearch.index._wordcode_kernels": None,
    "wikisearch.search._blockmax_kernels": ("_score_block", "_score_run", "_scratch", "list_block_meta",
                                            "n_blocks_of"),
    "wikisearch.search._prescore_kernels": ("_block_tfs", "_code_tables", "_read_block", "_read_stream",
                                            "_read_tail", "_term_tables", "_unpack"),
    "wikisearch.search._proximity_kernels": ("_check", "pack_records", "record_words"),
}

#: The (module, function, argument types) that a real workload compiles: the bundled sample built
#: and searched every way (benchmarks/record_kernels.py); pickled numba types, per numba version.
SIGNATURES = Path(__file__).parent / "data" / "kernel_signatures.pkl"


def recorded_signatures(prefix: str = "wikisearch") -> dict:
    """``{module: {function: [argument types, ...]}}`` of the cached kernels of the ``*_kernels``
    modules this process has imported, as compiled or loaded so far."""
    out: dict = {}
    for m in loaded_kernel_modules(prefix):
        funcs = {d.py_func.__name__: sorted(d.signatures, key=str) for d in _dispatchers(m) if d.signatures}
        if funcs:
            out[m.__name__] = dict(sorted(funcs.items()))
    return dict(sorted(out.items()))


def save_signatures(record: dict, path=SIGNATURES) -> None:
    import numba
    tmp = Path(str(path) + ".tmp")
    tmp.write_bytes(pickle.dumps({"numba": numba.__version__, "kernels": record}, protocol=4))
    os.replace(tmp, path)


def load_signatures(path=SIGNATURES) -> dict:
    """The recorded signatures, or {} when there are none for this numba version (or they do not
    load): kernels then compile when first called, as without :func:`precompile`."""
    try:
        import numba
        data = pickle.loads(Path(path).read_bytes())
        if data.get("numba") != numba.__version__:
            return {}
        return data["kernels"]
    except Exception:                             # missing, damaged, or types that moved
        return {}


def compile_jobs(jobs) -> int:
    """In a worker process: compile (and so cache) each ``(module, function, types)``.

    The kernels called from Python (no leading underscore) first: they compile the helpers they
    call, for the types they call them with. A helper's recorded types that none of them needed
    are left out (another kernel's, compiled there when it is, or at its first call) unless the
    helper got no compiled version at all (it may be called from Python, as ``_rehash`` is):
    a build then does not compile the helpers' variants only the snippets' tokenizer uses."""
    n = 0
    helpers = []
    for module, name, sig in jobs:
        if name.startswith("_"):
            helpers.append((module, name, sig))
            continue
        try:
            getattr(importlib.import_module(module), name).compile(sig)
            n += 1
        except Exception:                         # a stale record: compiled when first called
            pass
    unused = {}
    for module, name, sig in helpers:
        try:
            d = getattr(importlib.import_module(module), name)
            key = (module, name)
            if key not in unused:                 # as the entry kernels left it
                unused[key] = not d.overloads
            if not unused[key]:
                continue
            d.compile(sig)
            n += 1
        except Exception:
            pass
    return n


def _wanted(module_names) -> dict:
    """``{module: functions or None (all)}`` from a list of module names or such a dict."""
    if isinstance(module_names, dict):
        return dict(module_names)
    return dict.fromkeys(module_names)


def plan_jobs(record: dict, modules, processes: int) -> list[list]:
    """The recorded signatures of ``modules`` (names, or ``{name: functions or None}``) split
    into at most ``processes`` groups of about equal size, a module's signatures kept together
    (kernels of one module share callees, which each process would otherwise compile again)."""
    per_module = [[(m, f, sig) for f, sigs in record.get(m, {}).items() if funcs is None or f in funcs
                   for sig in sigs] for m, funcs in _wanted(modules).items()]
    per_module = sorted((j for j in per_module if j), key=len, reverse=True)
    groups: list[list] = [[] for _ in range(max(1, processes))]
    for jobs in per_module:
        min(groups, key=len).extend(jobs)
    return [g for g in groups if g]


def _cold(name: str, functions, record) -> tuple | None:
    """Which of ``functions`` (None: all) of kernel module ``name`` would compile when first
    called: () when none, None when the whole module would (``record`` is not needed then),
    else their names (``record()`` gives the recorded signatures). Looked for in numba's cache
    without importing the module (a warm query then imports only the kernel modules it calls);
    a kernel not found so is asked of numba, to be sure (a kernel run as Python is never cold)."""
    cached = cached_functions(name)
    if functions is None:
        build = BUILD_KERNELS.get(name)
        if not cached:                             # as before: the module's kernels, asked of numba
            return None if _is_cold(importlib.import_module(name)) else ()
        if build is None or not cached <= set(build):
            return ()                              # warm (compiled by more than a build)
        functions = tuple(record().get(name, {}))  # a build's kernels only: the others are cold
    missing = [f for f in functions if f not in cached]
    if not missing:
        return ()
    dispatchers = {d.py_func.__name__: d for d in _dispatchers(importlib.import_module(name))}
    out = []
    for f in missing:
        d = dispatchers.get(f)
        try:
            if d is None or d._cache._cache_file._load_index():
                continue                           # run as Python here, gone, or cached after all
        except Exception:                          # numba internals moved: say nothing
            continue
        out.append(f)
    return tuple(out)


def precompile(module_names, processes: int, *, say=None, pool=None, executor=None) -> int:
    """Compile the recorded signatures of the cold kernels of ``module_names`` (names, or
    ``{name: functions or None (all)}`` as :data:`BUILD_KERNELS`; None: every recorded module)
    in up to
    ``processes`` parallel processes (nothing when they are warm, there is no record for this
    numba, or ``processes`` < 2); ``say()`` is called first when there is work. Returns the
    number compiled. Any failure is left for the first call to compile, as it would anyway.
    ``pool(n)``: an executor of n processes (default: spawned ones, which import the caller's main
    module: a script needs an ``if __name__ == "__main__"`` guard; ``workers.worker_pool`` not).
    ``executor``: a running pool of at least ``processes`` processes to compile in instead, left
    running (a build's own workers: no processes started only to compile, and the workers that
    compiled a kernel then hold it loaded)."""
    groups = cold_groups(module_names, processes)
    if not groups:
        return 0
    if say is not None:
        say()
    if executor is not None:
        try:
            return sum(executor.map(compile_jobs, groups))
        except Exception:                         # a broken pool: the build says so itself
            return 0
    if pool is None:
        pool = _spawn_pool
    try:
        with pool(len(groups)) as executor:
            return sum(executor.map(compile_jobs, groups))
    except Exception:                             # no processes here: compile when called
        return 0


def _spawn_pool(n):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))


def cold_groups(module_names, processes: int) -> list[list]:
    """The recorded signatures of the cold kernels of ``module_names`` (as :func:`precompile`
    takes them) in at most ``processes`` groups, each for one :func:`compile_jobs` call in a
    process of its own; [] when nothing is to be done (warm, no record for this numba,
    ``processes`` < 2)."""
    if processes < 2 or os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return []
    if aot_active():                               # every recorded signature is compiled in
        return []
    loaded = []

    def record() -> dict:                          # read only when something is cold
        if not loaded:
            loaded.append(load_signatures())
        return loaded[0]
    wanted = _wanted(list(record()) if module_names is None else module_names)
    cold = {}
    for m, funcs in wanted.items():
        c = _cold(m, funcs, record)
        if c is None or c:
            cold[m] = c
    if not cold:
        return []
    return plan_jobs(record(), cold, processes)



# --- kernels compiled ahead of time, at install -----------------------------------------------------
#: ``WIKISEARCH_AOT``: ``auto`` (default: use the kernels compiled at install where they are
#: current, see :func:`aot_status`), ``off`` (never: numba's JIT as without them), ``require``
#: (use them, and fail at the first kernel when they are missing or stale: the tests of them).
#: They are used only where ``WIKISEARCH_JIT`` is ``auto`` (``on`` means numba's JIT always).
AOT_ENV = "WIKISEARCH_AOT"
#: Where the extension and its manifest are looked for when not in the package (a test's build).
AOT_DIR_ENV = "WIKISEARCH_AOT_DIR"
_AOT_EXTENSION = "_aot"
_AOT_MANIFEST_VERSION = 1
_AOT_STATE: list = []                 # [(table or None, why)] once per process
_AOT_LOCK = threading.RLock()
_DEFERRED_OVERLOADS: list = []        # (func, options, typer): registered before a JIT compile
_JIT_GLOBALS: dict = {}               # module name -> the proxy module JIT copies of kernels see


def aot_mode() -> str:
    return os.environ.get(AOT_ENV, "auto").strip().lower()


def aot_status() -> tuple[dict | None, str]:
    """``(table, "")`` when this process runs the kernels compiled at install, else
    ``(None, why not)``; decided once per process. ``table``: ``{(module, function): {argument
    type keys: compiled function}}``.

    The extension ``wikisearch/_aot.<tag>.so`` and its manifest ``_aot.json`` are written by
    ``wikisearch._aot_build`` (``pip install`` runs it). They are used only when the manifest's
    SHA-256 of every kernel module matches the module's source now (an edited kernel, in an
    editable install, runs numba's JIT rather than stale code), the extension is the manifest's
    (its ``_stamp()``), numpy's major version is the one it was built against, and the CPU is
    the one it was compiled for."""
    if not _AOT_STATE:
        with _AOT_LOCK:
            if not _AOT_STATE:
                if _jit_mode() != "auto" or aot_mode() == "off":
                    _AOT_STATE.append((None, f"{JIT_ENV}={_jit_mode()}, {AOT_ENV}={aot_mode()}"))
                else:
                    try:
                        _AOT_STATE.append(_load_aot())
                    except Exception as e:           # noqa: BLE001  (a damaged manifest: the JIT)
                        _AOT_STATE.append((None, f"compiled kernels unreadable: {e}"))
    return _AOT_STATE[0]


def _aot_table() -> dict | None:
    table, why = aot_status()
    if table is None and aot_mode() == "require":
        from wikisearch.errors import WikisearchError
        raise WikisearchError(f"{AOT_ENV}=require: {why}")
    return table


def aot_active() -> bool:
    """True when this process runs the kernels compiled at install (:func:`aot_status`)."""
    return aot_status()[0] is not None


#: The record of the last :func:`_load_aot` whose checks passed (in ``__pycache__`` beside the
#: manifest): what it checked, and each kernel source's size, times and inode then.
_AOT_VERIFIED = "aot-verified.json"


def _load_aot() -> tuple[dict | None, str]:
    import json
    here = Path(__file__).parent
    folder = Path(os.environ.get(AOT_DIR_ENV) or here)
    try:
        manifest = json.loads((folder / (_AOT_EXTENSION + ".json")).read_text(encoding="utf-8"))
    except OSError:
        return None, "no kernels compiled at install (no C compiler then?): numba's JIT"
    if manifest.get("version") != _AOT_MANIFEST_VERSION:
        return None, "compiled kernels of another layout: numba's JIT (reinstall to rebuild)"
    # The sources' SHA-256s and the CPU's are checked once: a start whose manifest, sources (by
    # size, modification and change times, inode: a rewrite changes the change time, whatever
    # it does to the others) and CPU flags are those of a start that passed skips the hashing
    # (and hashlib's import: ~5 ms of a query process at load 7, the hashing ~1 ms).
    record = {"stamp": manifest.get("stamp"), "sources": manifest["sources"], "cpu": manifest["cpu"],
              "stats": _source_stats(here, manifest["sources"]),
              "cpu_lines": (_cpu_lines() or b"").decode("latin-1")}
    record_path = folder / "__pycache__" / _AOT_VERIFIED
    try:
        verified = json.loads(record_path.read_text(encoding="utf-8")) == record
    except (OSError, ValueError):
        verified = False
    if not verified:
        import hashlib
        for rel, digest in manifest["sources"].items():
            try:
                now = hashlib.sha256((here / rel).read_bytes()).hexdigest()
            except OSError:
                now = None
            if now != digest:
                return None, f"{rel} changed since the kernels were compiled: numba's JIT (reinstall to rebuild)"
    import numpy
    if numpy.__version__.split(".")[0] != str(manifest["numpy"]).split(".")[0]:
        return None, f"kernels compiled for numpy {manifest['numpy']}, not {numpy.__version__}: numba's JIT"
    if not verified and manifest["cpu"] and manifest["cpu"] != cpu_signature():
        return None, "kernels compiled for another CPU: numba's JIT (reinstall to rebuild)"
    try:
        if folder == here:
            extension = importlib.import_module(f"{__package__}.{_AOT_EXTENSION}")
        else:
            from importlib import machinery, util
            spec = util.spec_from_file_location(f"{__package__}.{_AOT_EXTENSION}",
                                                folder / (_AOT_EXTENSION + machinery.EXTENSION_SUFFIXES[0]))
            extension = util.module_from_spec(spec)
            spec.loader.exec_module(extension)
        stamp = extension._stamp()
    except Exception as e:                            # noqa: BLE001  (missing, or another ABI)
        return None, f"compiled kernels do not load ({e}): numba's JIT"
    if stamp != manifest["stamp"]:
        return None, "compiled kernels and their manifest are of different builds: numba's JIT"
    if not verified:
        _remember(record_path, json.dumps(record).encode("utf-8"))
    table = {}
    for module, funcs in manifest["kernels"].items():
        for func, exports in funcs.items():
            table[(module, func)] = {tuple(_parse_type(t) for t in types_): getattr(extension, name)
                                     for name, types_ in exports}
            _CALL_ARITIES.update(len(types_) for _name, types_ in exports)
    return table, ""


def _source_stats(here: Path, rels) -> dict:
    """``{rel: [size, mtime_ns, ctime_ns, inode]}`` of each file ``here / rel`` (None: missing)."""
    out = {}
    for rel in rels:
        try:
            st = os.stat(here / rel)
            out[rel] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        except OSError:
            out[rel] = None
    return out


def _remember(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a file of this process's own, then renamed);
    nothing where it cannot (a read-only install)."""
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass


def _cpu_lines() -> bytes | None:
    """The first processor's vendor, model and feature flags lines of ``/proc/cpuinfo``; None
    where there is no such file."""
    try:
        with open("/proc/cpuinfo", "rb") as f:
            lines = []
            for line in f:
                if not line.strip():
                    break
                key = line.split(b":", 1)[0].strip()
                if key in (b"vendor_id", b"cpu family", b"model", b"flags", b"Features", b"CPU part"):
                    lines.append(line.strip())
    except OSError:
        return None
    return b"\n".join(lines)


def cpu_signature() -> str:
    """What code compiled for this machine's CPU (``target_cpu='host'``) assumes of it: the first
    processor's vendor, model and feature flags in ``/proc/cpuinfo`` (SHA-256), or "" where
    there is no such file (the kernels are then compiled for a generic CPU)."""
    import hashlib
    lines = _cpu_lines()
    return hashlib.sha256(lines).hexdigest() if lines else ""


_PARSED_TYPES: dict = {}


def _parse_type(name: str):
    """The :func:`type_key` of the manifest's spelling of an argument type
    (``wikisearch._aot_build.type_name``): ``int64``, or ``uint8[1,C,r]`` for an array. Parsed
    once per spelling (the manifest's ~1,000 argument types have ~100)."""
    key = _PARSED_TYPES.get(name)
    if key is None:
        key = _PARSED_TYPES[name] = _parse_type_text(name)
    return key


def _parse_type_text(name: str):
    import numpy as np
    if "[" not in name:
        return name
    dtype, rest = name[:-1].split("[")
    ndim, layout, mode = rest.split(",")[:3]
    return (np.dtype(dtype), int(ndim), layout, mode == "w")


_SCALAR_KEYS: dict = {}


def type_key(value):
    """The type numba gives ``value`` as a kernel argument, as a hashable key: an array's
    ``(dtype, ndim, layout, writable)`` (layout ``C``, ``F`` or ``A``, and no alignment, as
    numba's ``typeof``), a scalar's numba type name (a Python int is ``int64``); None for
    anything else (numba's JIT then takes the call)."""
    if not _SCALAR_KEYS:
        import numpy as np
        _SCALAR_KEYS.update({bool: "bool", float: "float64", np.bool_: "bool"})
        for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                  np.float32, np.float64):
            _SCALAR_KEYS[t] = np.dtype(t).name
        _SCALAR_KEYS["ndarray"] = np.ndarray
    if isinstance(value, _SCALAR_KEYS["ndarray"]):
        f = value.flags
        return (value.dtype, value.ndim, "C" if f.c_contiguous else ("F" if f.f_contiguous else "A"),
                f.writeable)
    t = type(value)
    if t is int:                                      # as numba's typeof: int64, else uint64
        return "int64" if -(1 << 63) <= value < (1 << 63) else ("uint64" if 0 <= value < (1 << 64) else None)
    return _SCALAR_KEYS.get(t)


class AotKernel:
    """A kernel compiled ahead of time: what :func:`njit` returns is :attr:`call`, a function
    generated for the kernel's exports that checks its arguments' types against each export's
    (the dtype object, ndim, layout and writability of an array, a scalar's type: a few attribute
    reads, about what numba's dispatcher does in C) and calls the first that matches; anything
    else goes to :meth:`slow_call` (:func:`type_key` of every argument, then numba's JIT where no
    export has the types). ``call.py_func`` is the kernel as Python, as on numba's dispatchers;
    ``call.aot`` is this object."""

    def __init__(self, func, options, exports: dict):
        self.py_func = func
        self.exports = exports
        self._options = dict(options)
        self._dispatcher = None
        self.call = self._generate()

    def __repr__(self):
        return f"<AotKernel {self.py_func.__module__}.{self.py_func.__qualname__} ({len(self.exports)} compiled)>"

    def slow_call(self, *args, **kwargs):
        if kwargs:                                    # (by name: as numba binds them)
            code = self.py_func.__code__
            names = code.co_varnames[len(args):code.co_argcount]
            if set(kwargs) <= set(names) and len(kwargs) == len(names):
                args, kwargs = args + tuple(kwargs[n] for n in names), {}
        if not kwargs:
            export = self.exports.get(tuple([type_key(a) for a in args]))
            if export is not None:
                return export(*args)
        return self.dispatcher()(*args, **kwargs)

    def _generate(self):
        f = self.py_func
        code = f.__code__
        names = list(code.co_varnames[:code.co_argcount])
        plain = not (f.__defaults__ or f.__kwdefaults__ or code.co_kwonlyargcount or code.co_flags & 0x0C
                     or any(n.startswith("_aot_") for n in names))
        fast_key = _aot_key_function()
        if plain and fast_key is not None:
            call = _fast_call({_key_bytes(key): export for key, export in self.exports.items()}.get,
                              fast_key, self.slow_call, names)
        elif plain:
            call = self._generated_checks(names)      # (no _aot_key built: the checks in Python)
        else:
            call = self.slow_call_function()
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(call, attr, getattr(f, attr))
        call.__wrapped__ = call.py_func = f
        call.aot = self
        return call

    def slow_call_function(self):
        slow = self.slow_call

        def call(*args, **kwargs):
            return slow(*args, **kwargs)
        return call

    def _generated_checks(self, names):
        """A function that checks the arguments against each export's types in Python."""
        import numpy as np
        f = self.py_func
        scope = {"_aot_nd": np.ndarray, "_aot_slow": self.slow_call}
        arglist = ", ".join(names)
        lines = [f"def call({arglist}):"]
        for i, (key, export) in enumerate(self.exports.items()):
            if len(key) != len(names):
                continue
            scope[f"_aot_e{i}"] = export
            conds = []
            for j, (name, k) in enumerate(zip(names, key)):
                if isinstance(k, tuple):
                    dtype, ndim, layout, writable = k
                    scope[f"_aot_d{i}_{j}"] = dtype
                    flags = {"C": "_aot_f.c_contiguous", "F": "(_aot_f.f_contiguous and not _aot_f.c_contiguous)",
                             "A": "not (_aot_f.c_contiguous or _aot_f.f_contiguous)"}[layout]
                    conds.append(f"isinstance({name}, _aot_nd) and {name}.dtype is _aot_d{i}_{j} "
                                 f"and {name}.ndim == {ndim} and (_aot_f := {name}.flags).writeable is {writable} "
                                 f"and {flags}")
                elif k == "int64":
                    scope["_aot_i64"] = np.int64
                    conds.append(f"(type({name}) is int and -9223372036854775808 <= {name} <= 9223372036854775807"
                                 f" or type({name}) is _aot_i64)")
                else:
                    python = {"float64": "float", "bool": "bool"}.get(k)
                    scope[f"_aot_t{i}_{j}"] = np.dtype(k).type
                    conds.append(f"(type({name}) is _aot_t{i}_{j}"
                                 + (f" or type({name}) is {python})" if python else ")"))
            lines.append(f"    if {' and '.join(conds) or 'True'}:")
            lines.append(f"        return _aot_e{i}({arglist})")
        lines.append(f"    return _aot_slow({arglist})")
        exec(compile("\n".join(lines), f"<AotKernel {f.__module__}.{f.__qualname__}>", "exec"), scope)
        return scope["call"]

    def dispatcher(self):
        """numba's dispatcher of this kernel, made on first need (numba imported then): of a
        copy of ``py_func`` whose globals name the dispatchers of the other kernels it calls
        (numba compiles calls to dispatchers, not to these functions)."""
        if self._dispatcher is None:
            with _AOT_LOCK:
                if self._dispatcher is None:
                    _register_deferred_overloads()
                    f = self.py_func
                    copy = types.FunctionType(f.__code__, _jit_module(sys.modules[f.__module__]).__dict__,
                                              f.__name__, f.__defaults__, f.__closure__)
                    copy.__kwdefaults__, copy.__qualname__ = f.__kwdefaults__, f.__qualname__
                    copy.__doc__, copy.__module__ = f.__doc__, f.__module__
                    self._dispatcher = _make_dispatcher(copy, self._options)
        return self._dispatcher


_AOT_KEY: list = []


def _aot_key_function():
    """``wikisearch._aot_key.key`` (C, built at install beside the kernels), or None where it
    was not built (the calls then check the argument types in Python: a few times slower)."""
    if not _AOT_KEY:
        try:
            _AOT_KEY.append(importlib.import_module(f"{__package__}._aot_key").key)
        except ImportError:
            _AOT_KEY.append(None)
    return _AOT_KEY[0]


_KEY_BYTES: dict = {}


def _key_bytes(key: tuple) -> bytes:
    """What ``_aot_key.key`` returns for arguments of the :func:`type_key` types ``key``."""
    out = []
    for k in key:
        b = _KEY_BYTES.get(k)
        if b is None:
            b = _KEY_BYTES[k] = _key_bytes_of(k)
        out.append(b)
    return b"".join(out)


def _key_bytes_of(k) -> bytes:
    """:func:`_key_bytes` of one argument's type (made once per type: kernels share them)."""
    import numpy as np
    if isinstance(k, tuple):
        dtype, ndim, layout, writable = k
        return bytes([ord(dtype.kind), dtype.itemsize, ndim,
                      {"C": 1, "F": 2, "A": 3}[layout] | (0x10 if writable else 0)])
    dtype = np.dtype(k)
    return bytes([ord(dtype.kind), dtype.itemsize, 0, 0x80])


_CALL_MAKERS: dict = {}
#: Numbers of parameters of the manifest's exports (:func:`_load_aot`): their call templates are
#: made together, from the bytecode cache of :func:`_call_makers`.
_CALL_ARITIES: set = set()


def _call_source(n: int) -> str:
    """The source of the call template of kernels of ``n`` parameters (:func:`_fast_call`)."""
    params = ", ".join(f"_aot_a{i}" for i in range(n))
    return (f"def make_{n}(_aot_get, _aot_key, _aot_slow):\n"
            f"    def call({params}):\n"
            f"        _aot_e = _aot_get(_aot_key({params}))\n"
            f"        if _aot_e is not None:\n"
            f"            return _aot_e({params})\n"
            f"        return _aot_slow({params})\n"
            f"    return call\n")


def _call_makers(arities, folder: Path | None = None) -> dict:
    """``{n: make}``, the call templates of ``arities`` (:func:`_call_source`). Compiling them
    costs ~0.4 ms each (~10 ms for a query process's 23), so their code is kept, marshalled, in
    ``__pycache__`` beside this module (with its source, compared on load: as a ``.pyc``, made
    once for this Python); where that cannot be written, compiled each time. ``folder``: where
    the cache is (default: ``__pycache__`` beside this module)."""
    import marshal
    import zlib
    source = "".join(_call_source(n) for n in sorted(arities))
    path = (folder or Path(__file__).parent / "__pycache__") / (
        f"aot-calls.{sys.implementation.cache_tag}.{zlib.crc32(source.encode()):08x}.bin")
    code = None
    try:
        cached_source, cached_code = marshal.loads(path.read_bytes())
        if cached_source == source:
            code = cached_code
    except Exception:                                 # noqa: BLE001  (none, damaged, another layout)
        pass
    if code is None:
        code = compile(source, "<wikisearch.jit AotKernel call>", "exec")
        _remember(path, marshal.dumps((source, code)))    # (a read-only install: compiled each time)
    scope: dict = {}
    exec(code, scope)
    return {n: scope[f"make_{n}"] for n in arities}


def _fast_call(get, key, slow, names):
    """A kernel's call where ``_aot_key`` is built: the export for the arguments' key, else
    ``slow`` (the Python key, then numba's JIT). Its parameters are the kernel's (``names``:
    calls by keyword work); one template per number of parameters (:func:`_call_makers`), its
    code's names replaced (no ``*args`` tuple, no ``**kwargs`` dict: a third of a short call's cost)."""
    n = len(names)
    make = _CALL_MAKERS.get(n)
    if make is None:
        with _AOT_LOCK:
            if n not in _CALL_MAKERS:
                _CALL_MAKERS.update(_call_makers((_CALL_ARITIES - set(_CALL_MAKERS)) | {n}))
        make = _CALL_MAKERS[n]
    call = make(get, key, slow)
    code = call.__code__
    call.__code__ = code.replace(co_varnames=tuple(names) + code.co_varnames[n:])
    return call


def aot_kernel(value) -> AotKernel | None:
    """The :class:`AotKernel` behind a kernel :func:`njit` returned, or None (a dispatcher, or
    the kernel as Python)."""
    aot = getattr(value, "aot", None)
    return aot if isinstance(aot, AotKernel) else None


class _LazyIntrinsic:
    """An ``@intrinsic`` of a process that runs the compiled kernels: made (numba imported) when
    a kernel that uses it is compiled by the JIT."""

    def __init__(self, typer):
        self.typer = typer
        self.made = None
        _LAZY_INTRINSICS.append(self)

    def make(self):
        """The intrinsic, which also takes this stand-in's place in its module (where overloads'
        implementations, which are not copied as kernels are, find it)."""
        if self.made is None:
            from numba.extending import intrinsic as numba_intrinsic
            self.made = numba_intrinsic(self.typer)
            module = sys.modules.get(self.typer.__module__)
            if module is not None and getattr(module, self.typer.__name__, None) is self:
                setattr(module, self.typer.__name__, self.made)
        return self.made


_LAZY_INTRINSICS: list = []


def _register_deferred_overloads() -> None:
    from numba.extending import overload as numba_overload
    for lazy in list(_LAZY_INTRINSICS):
        lazy.make()
    while _DEFERRED_OVERLOADS:
        func, options, typer = _DEFERRED_OVERLOADS.pop(0)
        numba_overload(func, **options)(typer)


def _jit_module(module: types.ModuleType) -> types.ModuleType:
    """A stand-in of kernel module ``module`` for numba's JIT: its globals with each
    :class:`AotKernel` replaced by its dispatcher, each intrinsic made, and each kernel module
    (``CK.varbyte_decode_into(...)``) replaced by its own stand-in. Made once per module, and
    registered before it is filled (kernels of two modules may call each other)."""
    proxy = _JIT_GLOBALS.get(module.__name__)
    if proxy is not None:
        return proxy
    proxy = types.ModuleType(module.__name__, module.__doc__)
    _JIT_GLOBALS[module.__name__] = proxy
    values = dict(vars(module))
    proxy.__dict__.update(values)
    for name, value in values.items():
        aot = aot_kernel(value)
        if aot is not None:
            proxy.__dict__[name] = aot.dispatcher()
        elif isinstance(value, _LazyIntrinsic):
            proxy.__dict__[name] = value.make()
        elif isinstance(value, types.ModuleType) and value.__name__.endswith("_kernels") \
                and value.__name__.startswith(__package__ + "."):
            proxy.__dict__[name] = _jit_module(value)
    return proxy
