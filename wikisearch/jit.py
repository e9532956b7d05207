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

A first run compiles many kernels, one after the other (about 20 s of CPU in all). Where more
than one core is free, :func:`precompile` compiles the cold ones in parallel processes first, from
the signatures a real workload compiles (``data/kernel_signatures.pkl``, written by
``benchmarks/record_kernels.py`` and checked against the code by tests/test_jit.py), so the run
itself then loads them from the cache. A signature it lacks is still compiled when first called.
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


# --- compiling cold kernels in parallel ---------------------------------------------------------
#: The kernel modules a CLI search runs (did-you-mean's included: the CLI corrects by default;
#: not the suggestion or re-ranking ones, which compile when first used).
SEARCH_KERNELS = ["wikisearch.popularity._spelling_kernels", "wikisearch._topk_kernels",
                  "wikisearch.analysis._analyze_kernels", "wikisearch.index._codec_kernels", "wikisearch.index._strings_kernels",
                  "wikisearch.index._termdict_kernels", "wikisearch.popularity._priors_kernels",
                  "wikisearch.search._blockmax_kernels", "wikisearch.search._maxscore_kernels",
                  "wikisearch.search._prescore_kernels", "wikisearch.search._search_kernels"]

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


def _compile_jobs(jobs) -> int:
    """In a worker process: compile (and so cache) each ``(module, function, types)``."""
    n = 0
    for module, name, sig in jobs:
        try:
            getattr(importlib.import_module(module), name).compile(sig)
            n += 1
        except Exception:                         # a stale record: compiled when first called
            pass
    return n


def plan_jobs(record: dict, modules, processes: int) -> list[list]:
    """The recorded signatures of ``modules`` split into at most ``processes`` groups of about
    equal size, a module's signatures kept together (kernels of one module share callees, which
    each process would otherwise compile again)."""
    per_module = [[(m, f, sig) for f, sigs in record.get(m, {}).items() for sig in sigs] for m in modules]
    per_module = sorted((j for j in per_module if j), key=len, reverse=True)
    groups: list[list] = [[] for _ in range(max(1, processes))]
    for jobs in per_module:
        min(groups, key=len).extend(jobs)
    return [g for g in groups if g]


def precompile(module_names, processes: int, *, say=None, pool=None) -> int:
    """Compile the recorded signatures of the cold kernel modules among ``module_names`` (names;
    None: every recorded module) in up to
    ``processes`` parallel processes (nothing when they are warm, there is no record for this
    numba, or ``processes`` < 2); ``say()`` is called first when there is work. Returns the
    number compiled. Any failure is left for the first call to compile, as it would anyway.
    ``pool(n)``: an executor of n processes (default: spawned ones, which import the caller's main
    module: a script needs an ``if __name__ == "__main__"`` guard; ``workers.worker_pool`` not)."""
    if processes < 2 or os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return 0
    record = load_signatures() if module_names is None else None
    if module_names is None:                     # every recorded module
        module_names = list(record)
    cold = [m for m in dict.fromkeys(module_names) if _is_cold(importlib.import_module(m))]
    if cold and record is None:
        record = load_signatures()
    groups = plan_jobs(record, cold, processes)
    if not groups:
        return 0
    if say is not None:
        say()
    if pool is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        def pool(n):
            return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))
    try:
        with pool(len(groups)) as executor:
            return sum(executor.map(_compile_jobs, groups))
    except Exception:                             # no processes here: compile when called
        return 0
