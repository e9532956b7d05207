"""startup: make a short-lived process's first search fast."""
from __future__ import annotations

import os
import sys

_ARRAYMATH = "numba.np.arraymath"
_NUMBA_CONFIG = ".numba_config.yaml"


class _NoScipy:
    """A meta-path finder that makes ``import scipy`` fail (while numba probes for BLAS)."""

    names = ("scipy",)

    def find_spec(self, name, path=None, target=None):
        if name.split(".", 1)[0] in self.names:
            raise ImportError(f"{name} skipped by wikisearch.search.startup.fast_start")
        return None


class _Blocked(_NoScipy):
    """A meta-path finder that makes importing ``names`` (and their submodules) fail."""

    def __init__(self, names):
        self.names = tuple(names)


class _LeanNumba:
    """numba's own ``numba/__init__`` loader, run with imports it does not need blocked."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        blocker = _Blocked(_numba_optional())
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


class _SkipNumbaOptional:
    """A one-shot meta-path finder: when ``numba`` is first imported, its ``__init__`` runs with
    the imports of :func:`_numba_optional` blocked (they import fine afterwards)."""

    def find_spec(self, name, path=None, target=None):
        if name != "numba":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LeanNumba(spec.loader)
        return spec


class _ProbeWithoutScipy:
    """numba's ``numba.np.arraymath`` loader, run with ``scipy`` blocked."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        blocker = _NoScipy()
        sys.meta_path.insert(0, blocker)
        try:
            self.loader.exec_module(module)
        finally:
            sys.meta_path.remove(blocker)


class _SkipBlasProbe:
    """A one-shot meta-path finder: when ``numba.np.arraymath`` is first imported (numba readying
    its compiler), it is loaded with ``scipy`` blocked, so numba's BLAS probe finds none."""

    def find_spec(self, name, path=None, target=None):
        if name != _ARRAYMATH:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ProbeWithoutScipy(spec.loader)
        return spec


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
    if "numba" not in sys.modules and not any(isinstance(f, _SkipNumbaOptional) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipNumbaOptional())
    if _ARRAYMATH in sys.modules or "scipy.linalg" in sys.modules:
        return
    if not any(isinstance(f, _SkipBlasProbe) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipBlasProbe())
