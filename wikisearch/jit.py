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
"""
from __future__ import annotations

import sys
import threading
import types
from contextlib import contextmanager


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
