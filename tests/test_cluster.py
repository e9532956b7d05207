"""Builds on a Dask cluster (a LocalCluster of worker processes): the same index bytes as a local
build, also when a worker is killed mid-build; errors as one line."""
import bz2
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from conftest import SHARED_DATA, require_import, requires_shared
from wikisearch.build import build_index
from wikisearch.errors import WikisearchError

GENSIM = SHARED_DATA / "enwiki-xml" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
ENWIK8 = SHARED_DATA / "enwiki-xml" / "enwik8-head-4MB.xml.bz2"


def _files(index: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index.iterdir())}


@pytest.fixture(scope="module")
def cluster():
    distributed = require_import("distributed", why="the cluster extra")
    # worker processes (not threads): what a real cluster runs, and what a kill can take down
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="2GB", silence_logs=40)
    client = distributed.Client(lc, set_as_default=False)
    yield client
    client.close()
    lc.close()


@requires_shared(GENSIM)
@pytest.mark.parametrize("plain", [True, False], ids=["file-ranges", "scattered-bytes"])
def test_cluster_build_gives_the_local_bytes(tmp_path, cluster, plain):
    # a plain file: workers read their blocks' byte ranges from the shared path; compressed:
    # the client decompresses and scatters each block to a worker's memory
    src = GENSIM
    if plain:
        src = tmp_path / "plain.xml"
        src.write_bytes(bz2.decompress(GENSIM.read_bytes()))
    local = build_index([src], tmp_path / "local", workers=2, block_bytes=300_000)
    remote = build_index([src], tmp_path / "cluster", scheduler=cluster, block_bytes=300_000)
    assert _files(remote) == _files(local)
    assert not (tmp_path / ".cluster.building").exists()


@requires_shared(ENWIK8)
def test_killed_worker_costs_only_its_tasks(tmp_path, cluster):
    plain = tmp_path / "enwik8.xml"
    plain.write_bytes(bz2.decompress(ENWIK8.read_bytes()))
    local = build_index([plain], tmp_path / "local", block_bytes=200_000)
    out = tmp_path / "cluster"
    blocks = tmp_path / ".cluster.building" / "blocks"
    victims: list = []

    def kill_one_worker_mid_build():
        # once a block is done (workers warm, others in flight), SIGKILL a worker process: the
        # scheduler sees it gone, the nanny starts a new one, its task runs again elsewhere
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if blocks.is_dir() and any((d / "segment.json").exists() for d in blocks.iterdir()):
                break
            time.sleep(0.05)
        pid = next(iter(cluster.run(os.getpid).values()))
        victims.append(pid)
        os.kill(pid, signal.SIGKILL)
    killer = threading.Thread(target=kill_one_worker_mid_build)
    killer.start()
    build_index([plain], out, scheduler=cluster, block_bytes=200_000)
    killer.join()
    assert victims, "no worker was killed"
    n_blocks = -(-plain.stat().st_size // 200_000)
    assert n_blocks >= 15                       # the kill came with blocks still to do
    assert _files(out) == _files(local)
    cluster.wait_for_workers(2, timeout=60)     # the nanny restarted it (for the next tests)


def test_unreachable_scheduler_is_one_line(tmp_path):
    require_import("distributed", why="the cluster extra")
    from wikisearch.cluster import connect
    with pytest.raises(WikisearchError, match="cannot reach the Dask scheduler"):
        connect("tcp://127.0.0.1:9", timeout=2)
