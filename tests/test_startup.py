"""search.startup: what a short-lived process skips at its start, and that it changes nothing else."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CODE = """
import sys
from wikisearch.search.startup import fast_start
fast_start()
import numba
import numba.core.config as config
print("yaml" in sys.modules, "scipy" in sys.modules, config._HAVE_YAML)
import yaml, scipy  # noqa: F401  (still import: only numba's own import skipped them)
print(int(config.DEBUGINFO_DEFAULT))
"""


def _run(cwd: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DEBUGINFO"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, cwd=cwd, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


def test_fast_start_imports_numba_without_yaml_and_scipy(tmp_path):
    """After fast_start, numba's import does not import scipy (a version check) nor yaml (only
    read for a .numba_config.yaml, absent here); both still import afterwards."""
    assert _run(tmp_path) == ["False", "False", "False", "0"]


def test_fast_start_keeps_a_numba_config_file(tmp_path):
    """Where a .numba_config.yaml is in the working directory, yaml is imported and the file
    read, as numba does without fast_start."""
    (tmp_path / ".numba_config.yaml").write_text("debuginfo: 1\n")
    assert _run(tmp_path) == ["True", "False", "True", "1"]
