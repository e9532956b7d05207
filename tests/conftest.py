"""Shared test setup: where the shared data lives, and what a missing prerequisite means.

``SHARED_DATA`` is ``$WIKISEARCH_DATA`` if set, else ``../shared/data`` beside the repository (the
same rule as ``benchmarks/corpus.py``). Test modules import what they need from here
(``from conftest import SHARED_DATA, requires_shared, ...``; pytest puts ``tests/`` on the path).

A test that cannot run here (shared data absent, the ``dense`` extra or a benchmark peer not
importable) goes through :func:`require_or_skip`: locally it is skipped with the reason; under CI
(``CI`` set to anything but ``""``/``0``/``false``/``no``) it FAILS, so CI cannot go green by
skipping. The ways in:

- ``require_or_skip(condition, reason)`` inside a test or fixture;
- ``require_import("faiss", ...)`` for optional packages (instead of ``pytest.importorskip``);
- ``shared_path("enwiki-xml", name)`` inside a test or fixture, or the ``shared_data`` fixture;
- ``@requires_shared("enwiki-xml", ...)`` (a mark) on a test, a class or as ``pytestmark``.

``count_calls`` (a fixture) counts the Python and builtin calls a function makes, so that a test
of linear behaviour compares operation counts instead of wall-clock time.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The tests run the compiled kernels: a CLI command run in this process (CliRunner) on a small
# input would otherwise switch the whole process to Python kernels on a cold cache
# (jit.interpret_small_job). tests/test_jit.py tests that switch in subprocesses of its own.
os.environ.setdefault("WIKISEARCH_JIT", "on")
# ... and numba's JIT, also in subprocesses that set WIKISEARCH_JIT=auto: the kernels compiled at
# install (wikisearch._aot) are compared with it by tests/test_aot.py, which asks for them.
os.environ.setdefault("WIKISEARCH_AOT", "off")
SHARED_DATA = Path(os.environ.get("WIKISEARCH_DATA") or ROOT.parent / "shared" / "data")
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

_HOW_SHARED = "put the shared data at ../shared/data beside the repository or set WIKISEARCH_DATA"


def require_or_skip(condition, reason: str) -> None:
    """Nothing if ``condition`` holds; else skip with ``reason`` locally, fail under CI."""
    __tracebackhide__ = True              # reports name the test's line, not this one
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} [CI: a missing prerequisite is a failure, not a skip]", pytrace=False)
    pytest.skip(reason)


def require_import(*modules: str, why: str = ""):
    """Import each module (the module, or a list of them); a missing one goes to :func:`require_or_skip`."""
    __tracebackhide__ = True
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            require_or_skip(False, f"needs {name}{f' ({why})' if why else ''}: {exc}")
    return loaded[0] if len(loaded) == 1 else loaded


def _present(path: Path) -> bool:
    """A file, or a folder with something in it."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _missing_shared(parts) -> list[Path]:
    return [p for p in (SHARED_DATA / part for part in (parts or ("",))) if not _present(p)]


def shared_path(*parts: str) -> Path:
    """``SHARED_DATA / parts...``, after :func:`require_or_skip` on its presence (in a test or fixture)."""
    __tracebackhide__ = True
    path = SHARED_DATA.joinpath(*parts)
    require_or_skip(_present(path), f"needs shared data {path} ({_HOW_SHARED})")
    return path


def requires_shared(*paths) -> pytest.MarkDecorator:
    """A mark: the test needs each of ``paths`` (relative to ``SHARED_DATA``, or absolute paths under
    it; a folder must not be empty; none: the data folder itself). Checked when the test is set up,
    through :func:`require_or_skip`."""
    missing = _missing_shared(paths)
    reason = f"needs shared data {', '.join(map(str, missing))} ({_HOW_SHARED})" if missing else ""
    return pytest.mark.requires(not missing, reason=reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (see the module docstring)."""
    __tracebackhide__ = True
    return shared_path()


def _count_calls(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), number of Python and builtin calls it made)``; deterministic for
    deterministic code, so two input sizes compare without a clock."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return result, calls


@pytest.fixture
def count_calls():
    """:func:`_count_calls`: ``result, n = count_calls(fn, *args)``."""
    return _count_calls


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "requires(condition, reason): needs a prerequisite; skipped locally without it, "
                   "failed under CI (tests/conftest.py)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for mark in item.iter_markers("requires"):
        condition = mark.args[0] if mark.args else mark.kwargs["condition"]
        require_or_skip(condition, mark.kwargs.get("reason") or "a prerequisite is missing")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip raised here or in pytest's own code (the ``requires`` mark) is reported at the test's
    definition, as pytest reports its own skip marks, so ``-rs`` says where."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and isinstance(rep.longrepr, tuple):
        where = Path(rep.longrepr[0]).resolve()
        if where == Path(__file__).resolve() or Path(__file__).parent not in where.parents:
            path, line = item.reportinfo()[:2]
            rep.longrepr = (str(path), (line or 0) + 1, rep.longrepr[2])


def child_pids(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (Linux: /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return out


def is_compile_note(line: str) -> bool:
    """The one-time "compiling ... kernels (first run only ...)" line the CLI prints on stderr
    while numba compiles (a fresh clone's first runs): information, not part of any output."""
    return (line.startswith("compiling ") and "(first run only" in line) or \
        line.startswith("building the spelling dictionary of this index") or \
        line.startswith("small input, first run: ")


def cli_lines(result) -> list[str]:
    """A CliRunner result's non-empty lines (stdout and stderr), compile notes left out."""
    return [l for l in result.output.splitlines() if l.strip() and not is_compile_note(l)]
