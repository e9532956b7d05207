"""A full disk, a read-only disk: one line naming the path and what to do (issue 18, item 6).

The full-disk and read-only cases run the CLI on a real small tmpfs, mounted in a private
user and mount namespace (``unshare -rm``), so that they need no root; they build indexes and
are marked slow. The fast test takes a real ENOSPC from ``/dev/full``.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_or_skip
from wikisearch.errors import DiskError, disk_error

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "wikisearch" / "data" / "sample-enwiki.xml.bz2"
TINY = Path(__file__).parent / "data" / "tiny.xml"


def test_enospc_from_dev_full_is_one_line():
    require_or_skip(os.path.exists("/dev/full"), "needs /dev/full")
    with pytest.raises(OSError) as e:
        with open("/dev/full", "wb") as f:
            f.write(b"x" * 65536)
            f.flush()
    assert e.value.errno == errno.ENOSPC
    err = disk_error(e.value, "/dev/full")
    assert isinstance(err, DiskError) and "\n" not in str(err)
    assert "no space left" in str(err) and "/dev/full" in str(err)
    assert disk_error(OSError(errno.ENOENT, "missing", "x")) is None


def _in_namespace(script: str, tmp_path: Path):
    require_or_skip(shutil.which("unshare") is not None, "needs unshare (util-linux)")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    require_or_skip(probe.returncode == 0, "unprivileged user namespaces are not allowed here")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(["unshare", "-rm", "bash", "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path)


def _errors(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.strip() and "compiling" not in l]


@pytest.mark.slow
def test_full_and_read_only_disks(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    py = f"{sys.executable} -m wikisearch"
    script = f"""
        set -u
        mount -t tmpfs -o size=400k tmpfs {mnt} || exit 90
        {py} index {SAMPLE} -o {mnt}/idx -q 2> {tmp_path}/enospc.err; echo $? > {tmp_path}/enospc.rc
        test -e {mnt}/idx && echo published > {tmp_path}/enospc.published
        umount {mnt}
        mount -t tmpfs -o size=20m tmpfs {mnt}
        {py} index {TINY} -o {mnt}/idx -q 2>/dev/null || exit 91
        mount -o remount,ro {mnt}
        {py} priors -i {mnt}/idx --dump-links 2> {tmp_path}/priors.err; echo $? > {tmp_path}/priors.rc
        {py} index {TINY} -o {mnt}/idx2 -q 2> {tmp_path}/erofs.err; echo $? > {tmp_path}/erofs.rc
        {py} query -i {mnt}/idx anything > /dev/null 2> {tmp_path}/query.err || exit 92
    """
    r = _in_namespace(script, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for name, words in (("enospc", ["no space left", str(mnt)]),
                        ("priors", ["read-only", f"{mnt}/idx/priors.bin"]),
                        ("erofs", ["read-only", f"{mnt}/.idx2.building"])):
        lines = _errors((tmp_path / f"{name}.err").read_text())
        assert (tmp_path / f"{name}.rc").read_text().strip() == "1", name
        assert len(lines) == 1 and lines[0].startswith("Error: "), (name, lines)
        assert all(w in lines[0] for w in words), (name, lines)
    assert not (tmp_path / "enospc.published").exists()      # nothing half-written published
