"""Running a phase in a child process and measuring it: wall time, peak RSS, index bytes, machine.

Peak memory comes two ways. ``peak_rss_mb`` is the child's own peak resident set (``VmHWM``, which
the child reports as it finishes: exact, one process). Not the ``ru_maxrss`` of ``wait4``
(``ru_maxrss_mb``, kept beside it): Linux carries a process's peak across exec, so that figure is
never below what this harness held when it started the child (measured: a 14 MB child of a 427 MB
parent reports 427 MB), which made every small query process look as large as the harness.
``peak_tree_rss_mb`` samples the summed RSS of the child and all its descendants every 20 ms (what a
multi-process build such as ``wikisearch --workers 2`` really holds; may miss very short peaks).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]
ROOT = BENCH_DIR.parent

#: Query phases run single-threaded; build phases get ``threads`` (the parent sets them).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "RAYON_NUM_THREADS")


@dataclass
class ChildResult:
    ok: bool
    result: dict = field(default_factory=dict)
    wall_s: float = 0.0
    ready_s: float | None = None      # parent clock from spawn to the child's READY line
    peak_rss_mb: float = 0.0
    peak_tree_rss_mb: float = 0.0
    ru_maxrss_mb: float = 0.0         # wait4's figure: at least the harness's own size (see above)
    error: str | None = None
    timed_out: bool = False
    cpu_s: float | None = None        # user + system CPU of the child (and what it waited for)


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self._halt = threading.Event()

    def run(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            self._halt.wait(self.every)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=1)
        return self.peak


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), str(ROOT), env.get("PYTHONPATH")]))
    for var in THREAD_VARS:
        env[var] = str(threads)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(phase: str, job: dict, work: Path, timeout: float, threads: int = 1) -> ChildResult:
    """Run ``peers.child PHASE`` on ``job`` and measure it; never raises for the child's failures."""
    work.mkdir(parents=True, exist_ok=True)
    stem = f"{job['engine']}-{phase}"
    job_path, result_path = work / f"{stem}.job.json", work / f"{stem}.result.json"
    log_path = work / f"{stem}.log"
    job_path.write_text(json.dumps(job))
    result_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "peers.child", phase, str(job_path), str(result_path)]
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(threads), stdout=subprocess.PIPE,
                                stderr=log, text=True, start_new_session=True)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        timed_out = threading.Event()

        def _kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, _kill)
        timer.start()
        ready_s = None
        for line in proc.stdout:  # the runners print little; READY marks the first result
            if line.strip() == "READY" and ready_s is None:
                ready_s = time.perf_counter() - t0
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        timer.cancel()
        tree_peak = sampler.stop()
    res = ChildResult(ok=False, wall_s=wall, ready_s=ready_s, peak_rss_mb=usage.ru_maxrss / 1024,
                      ru_maxrss_mb=usage.ru_maxrss / 1024,
                      peak_tree_rss_mb=max(tree_peak, usage.ru_maxrss * 1024) / 2**20,
                      timed_out=timed_out.is_set(), cpu_s=usage.ru_utime + usage.ru_stime)
    if res.timed_out:
        res.error = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0 or not result_path.exists():
        res.error = _last_error(log_path) or f"exit status {proc.returncode}"
    else:
        res.ok, res.result = True, json.loads(result_path.read_text())
        own = res.result.get("vm_hwm_mb")
        if own is not None:
            res.peak_rss_mb = own
            res.peak_tree_rss_mb = max(tree_peak / 2**20, own)
    return res


def _last_error(log_path: Path) -> str:
    lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:500] if lines else ""


def dir_bytes(path: Path) -> tuple[int, int]:
    """(bytes, files) of everything under ``path``."""
    total = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            total += os.path.getsize(os.path.join(root, name))
            files += 1
    return total, files


def versions(distributions) -> dict[str, str | None]:
    out = {}
    for dist in distributions:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def git_revision() -> str | None:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "wikisearch"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info() -> dict:
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "logical_cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(),
        "python": platform.python_version(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
