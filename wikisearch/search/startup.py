"""startup: make a short-lived process's first search fast."""
from __future__ import annotations

import sys

_ARRAYMATH = "numba.np.arraymath"


class _NoScipy:
    """A meta-path finder that makes ``import scipy`` fail (while numba probes for BLAS)."""

    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError("scipy skipped by wikisearch.search.startup.fast_start")
        return None


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
    (:func:`wikisearch.jit.light_cache_loads`); a compile does.
    """
    if _ARRAYMATH in sys.modules or "scipy.linalg" in sys.modules:
        return
    if not any(isinstance(f, _SkipBlasProbe) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipBlasProbe())
