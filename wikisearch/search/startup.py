"""startup: make a short-lived process's first search fast."""
from __future__ import annotations

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


class _LoadBlocking:
    """A module's own loader, run with the imports ``blocked()`` names made to fail."""

    def __init__(self, loader, blocked):
        self.loader, self.blocked = loader, blocked

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        blocker = _Blocked(self.blocked())
        sys.meta_path.insert(0, blocker)
        try:
            self.loader.exec_module(module)
        finally:
            sys.meta_path.remove(blocker)


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


class _OnFirstImport:
    """A one-shot meta-path finder: when ``module`` is first imported, it is loaded with the
    imports ``blocked()`` names made to fail (they import fine afterwards). For ``numba``: its
    ``__init__`` without :func:`_numba_optional`; for ``numba.np.arraymath`` (numba readying its
    compiler): without ``scipy``, so numba's BLAS probe finds none."""

    def __init__(self, module, blocked):
        self.module, self.blocked = module, blocked

    def find_spec(self, name, path=None, target=None):
        if name != self.module:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoadBlocking(spec.loader, self.blocked)
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
    its import also skips what it imports for nothing here (:func:`_numba_optional`: ~0.05 s).
    """
    if "numba" not in sys.modules and not _waiting("numba"):
        sys.meta_path.insert(0, _OnFirstImport("numba", _numba_optional))
    if _ARRAYMATH in sys.modules or "scipy.linalg" in sys.modules:
        return
    if not _waiting(_ARRAYMATH):
        sys.meta_path.insert(0, _OnFirstImport(_ARRAYMATH, _scipy))
