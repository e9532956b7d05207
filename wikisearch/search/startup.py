"""startup: make a short-lived process's first search fast."""
from __future__ import annotations

import atexit
import gc
import os
import sys

_ARRAYMATH = "numba.np.arraymath"
_NUMBA_CONFIG = ".numba_config.yaml"


class _Blocked:
    """A meta-path finder that makes importing ``names`` (and their submodules) fail."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, name, path=None, target=None):
        if name.split(".", 1)[0] in self.names:
            raise ImportError(f"{name} skipped by wikisearch.search.startup.fast_start")
        return None


class _Lazy:
    """A meta-path finder that imports ``names`` lazily (``importlib.util.LazyLoader``: the
    module runs when one of its attributes is first used)."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        from importlib.machinery import PathFinder
        from importlib.util import LazyLoader
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = LazyLoader(spec.loader)
        return spec


class _LoadBlocking:
    """A module's own loader, run with the imports ``blocked()`` names made to fail (and those
    ``lazy`` names imported lazily)."""

    def __init__(self, loader, blocked, lazy=()):
        self.loader, self.blocked, self.lazy = loader, blocked, lazy

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        finders = [_Blocked(self.blocked()), _Lazy(self.lazy)]
        sys.meta_path[:0] = finders
        try:
            self.loader.exec_module(module)
        finally:
            for f in finders:
                sys.meta_path.remove(f)


def _numba_optional() -> list[str]:
    """What ``import numba`` imports but a process here never uses: scipy, imported only to check
    that its version is at least 1.0 (0.02 s), and -- unless a ``.numba_config.yaml`` is in the
    working directory, the one file it is imported to read -- yaml (0.04 s)."""
    names = ["scipy"]
    if not os.path.exists(_NUMBA_CONFIG):
        names.append("yaml")
    return names


def _scipy() -> list[str]:
    return ["scipy"]


#: Imported by ``import numba`` but used only when numba looks for third-party extensions
#: (``numba_extensions`` entry points), which a process that loads its kernels from numba's
#: cache never does (:func:`wikisearch.jit.light_cache_loads`): imported lazily then, on first
#: use (~0.015 s, with the email package it imports).
_NUMBA_LAZY = ("importlib.metadata",)


class _OnFirstImport:
    """A one-shot meta-path finder: when ``module`` is first imported, it is loaded with the
    imports ``blocked()`` names made to fail (they import fine afterwards). For ``numba``: its
    ``__init__`` without :func:`_numba_optional`; for ``numba.np.arraymath`` (numba readying its
    compiler): without ``scipy``, so numba's BLAS probe finds none."""

    def __init__(self, module, blocked, lazy=()):
        self.module, self.blocked, self.lazy = module, blocked, lazy

    def find_spec(self, name, path=None, target=None):
        if name != self.module:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoadBlocking(spec.loader, self.blocked, self.lazy)
        return spec


def _waiting(module) -> bool:
    return any(isinstance(f, _OnFirstImport) and f.module == module for f in sys.meta_path)


def fast_start() -> None:
    """Skip numba's BLAS probe in this process: it imports scipy.linalg (~0.3 s of a cold start)
    when numba readies its compiler. For short-lived processes that run no numba linear algebra,
    such as the CLI; afterwards numba's np.dot/np.linalg are unavailable here (scipy itself still
    imports fine). Call it before the first search; no effect once numba's array math is loaded.

    Nothing is imported now: the probe is skipped when numba's array math is first imported,
    which a process that only loads kernels from numba's cache never does
    (:func:`wikisearch.jit.light_cache_loads`); a compile does. If numba is not imported yet,
    its import also skips what it imports for nothing here (:func:`_numba_optional`: ~0.05 s)
    and imports ``importlib.metadata`` lazily (:data:`_NUMBA_LAZY`).
    """
    if "numba" not in sys.modules and not _waiting("numba"):
        sys.meta_path.insert(0, _OnFirstImport("numba", _numba_optional, _NUMBA_LAZY))
    if _ARRAYMATH in sys.modules or "scipy.linalg" in sys.modules:
        return
    if not _waiting(_ARRAYMATH):
        sys.meta_path.insert(0, _OnFirstImport(_ARRAYMATH, _scipy))


#: OpenBLAS's thread count (numpy's BLAS in its wheels): read once, when numpy loads it.
_BLAS_THREADS = "OPENBLAS_NUM_THREADS"


def no_blas_threads() -> bool:
    """numpy's BLAS without its thread pool in this process: ``OPENBLAS_NUM_THREADS=1`` unless
    the environment sets it. For processes that do no linear algebra, such as a lexical search:
    OpenBLAS starts a thread per core when numpy is imported, and each spins a while waiting for
    work, ~25 ms of CPU of a ``wikisearch query`` and more of its wall time on a busy machine
    (benchmarks/results/cold-start.md, session 13). Only before numpy's first import (False,
    nothing set, after it); child processes inherit the variable."""
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault(_BLAS_THREADS, "1")
    return True


def pause_collections() -> None:
    """No garbage collections until :func:`resume_collections`: for a process about to import
    its modules and open an index, which allocate some 100,000 objects and free almost none in
    reference cycles; the collector would scan them again and again meanwhile (~70 young and a
    few older collections, ~10 ms of CPU of a ``wikisearch query``; session 13)."""
    gc.disable()


def resume_collections() -> None:
    """Collections again, after :func:`pause_collections`; what is loaded by now is moved to the
    collector's permanent generation (``gc.freeze``): modules and an open index live as long as
    the process, and later collections need not scan them."""
    gc.freeze()
    gc.enable()


def quick_exit() -> None:
    """End this process without the interpreter's garbage collections at exit: when the
    process ends, every object it holds is moved to the collector's permanent generation
    (``gc.freeze``, as the last exit handler but for those registered after this call), so that
    the collections Python runs while it tears down its modules scan none of them (~60,000
    objects after a search, numba's type system most of them: ~0.1 s of the exit of a
    ``wikisearch query``). Nothing else changes: the exit handlers still run, files are still
    flushed and closed, objects freed by reference counting still finalized, the exit status is
    the same; only garbage in reference cycles is left to the operating system, as it is on any
    exit. For one-shot processes (the CLI's read-only commands); registered once a process."""
    global _QUICK_EXIT
    if not _QUICK_EXIT:
        atexit.register(gc.freeze)
        _QUICK_EXIT = True


_QUICK_EXIT = False
