"""startup: make a short-lived process's first search fast."""
from __future__ import annotations


def fast_start() -> None:
    """Skip numba's BLAS probe in this process: it imports scipy.linalg (~0.3 s of a cold start)
    the first time any kernel loads. For short-lived processes that run no numba linear algebra,
    such as the CLI; afterwards numba's np.dot/np.linalg are unavailable here (scipy itself still
    imports fine). Call it before the first search; no effect once numba's array math is loaded.
    """
    import sys
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return

    class _NoScipy:
        def find_spec(self, name, path=None, target=None):
            if name == "scipy" or name.startswith("scipy."):
                raise ImportError("scipy skipped by wikisearch.search.startup.fast_start")
            return None
    blocker = _NoScipy()
    sys.meta_path.insert(0, blocker)
    try:
        import numba.np.arraymath  # noqa: F401  (runs the probe now, against the blocker)
    finally:
        sys.meta_path.remove(blocker)
