"""store: the dense directory on disk (see docs/FORMAT.md, "Dense directory").

    DENSE_DIR/embed.json                  the run's settings, written by the first run
    DENSE_DIR/shards/shard-NNNNNN.bin     DSHD: vectors and passage map of articles
                                          [N*S, (N+1)*S) (S = shard_articles)
    DENSE_DIR/progress/worker-I-of-N.json what worker I of N has done (informative)
    DENSE_DIR/passages.bin                DPSG: vector id -> article, passage number, offsets;
                                          article page ids and titles
    DENSE_DIR/index.bin                   DANN: the serialized FAISS index
    DENSE_DIR/dense.json                  manifest, written last: a directory without it is
                                          not (yet) searchable

Shards are written to a temporary name, fsynced and renamed: a shard file that exists is complete,
so it is the checkpoint itself. Nothing here imports torch or faiss.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from wikisearch.index.container import Container, write_container
from wikisearch.errors import CorruptIndexError, WikisearchError
from wikisearch.fileio import atomic_path, pack_strings, unpack_strings, write_json_atomic

FORMAT_VERSION = 1
SHARD_KIND = b"DSHD"
PASSAGES_KIND = b"DPSG"
INDEX_KIND = b"DANN"
_SHARD_RE = re.compile(r"^shard-(\d{6,})\.bin$")


def shard_path(out_dir, k: int) -> Path:
    return Path(out_dir) / "shards" / f"shard-{k:06d}.bin"


def finished_shards(out_dir) -> set[int]:
    """Numbers of the shard files present (each is complete: they are renamed into place)."""
    d = Path(out_dir) / "shards"
    if not d.is_dir():
        return set()
    return {int(m.group(1)) for p in d.iterdir() if (m := _SHARD_RE.match(p.name))}


def remove_partial(out_dir, mine) -> None:
    """Delete leftover temporary shard files of the shards ``mine(k)`` selects."""
    d = Path(out_dir) / "shards"
    if d.is_dir():
        for p in d.glob("shard-*.bin.tmp*"):
            m = re.match(r"^shard-(\d+)\.bin\.tmp", p.name)
            if m and mine(int(m.group(1))):
                p.unlink(missing_ok=True)


def write_shard(out_dir, k: int, *, first_article: int, page_ids, titles, vectors: np.ndarray,
                article, passage_no, start, end, dtype: str) -> Path:
    """Write shard ``k`` atomically (temporary file, fsync, rename)."""
    path = shard_path(out_dir, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    t_off, t_blob = pack_strings(list(titles))
    meta = {"shard": k, "first_article": int(first_article), "articles": len(page_ids),
            "passages": int(len(vectors)), "dim": int(vectors.shape[1]), "dtype": dtype}
    with atomic_path(path) as tmp:
        write_container(tmp, SHARD_KIND, {
            "vectors": np.ascontiguousarray(vectors, dtype=np.dtype(dtype)),
            "article": np.asarray(article, np.int32), "passage_no": np.asarray(passage_no, np.int32),
            "start": np.asarray(start, np.int32), "end": np.asarray(end, np.int32),
            "page_id": np.asarray(page_ids, np.int64), "title_offsets": t_off, "title_blob": t_blob,
        }, meta)
    return path


def read_shard(out_dir, k: int) -> Container:
    return Container(shard_path(out_dir, k), SHARD_KIND)


def check_plan(out_dir, plan: dict) -> None:
    """Write ``embed.json`` on the first run; later runs must have the same settings."""
    path = Path(out_dir) / "embed.json"
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        diff = sorted(k for k in set(old) | set(plan) if old.get(k) != plan.get(k))
        if diff:
            raise WikisearchError(
                f"{out_dir} holds embeddings made with other settings ({', '.join(diff)} differ: "
                f"{ {k: old.get(k) for k in diff} } there); use another -o directory or delete it")
        return
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, plan)


def read_plan(out_dir) -> dict | None:
    path = Path(out_dir) / "embed.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_progress(out_dir, worker: int, workers: int, record: dict) -> None:
    d = Path(out_dir) / "progress"
    d.mkdir(parents=True, exist_ok=True)
    write_json_atomic(d / f"worker-{worker}-of-{workers}.json", record)


def read_progress(out_dir) -> list[dict]:
    d = Path(out_dir) / "progress"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(d.glob("worker-*.json"))] \
        if d.is_dir() else []


def write_passage_map(out_dir, n_shards: int) -> dict:
    """Concatenate the shards' passage maps (shard order) into ``passages.bin``."""
    cols = {k: [] for k in ("article", "passage_no", "start", "end", "page_id")}
    titles: list[str] = []
    shard_passages = np.zeros(n_shards + 1, np.int64)
    for k in range(n_shards):
        c = read_shard(out_dir, k)
        for name in cols:
            cols[name].append(np.array(c[name]))
        titles += unpack_strings(c["title_offsets"], c["title_blob"])
        shard_passages[k + 1] = shard_passages[k] + int(c.meta["passages"])
        c.close()
    arrays = {name: (np.concatenate(v) if v else np.zeros(0, np.int64 if name == "page_id" else np.int32))
              for name, v in cols.items()}
    t_off, t_blob = pack_strings(titles)
    arrays.update(title_offsets=t_off, title_blob=t_blob, shard_passages=shard_passages)
    meta = {"passages": int(shard_passages[-1]), "articles": len(titles), "shards": n_shards}
    with atomic_path(Path(out_dir) / "passages.bin") as tmp:
        write_container(tmp, PASSAGES_KIND, arrays, meta)
    return meta


class PassageMap:
    """``passages.bin`` read back: vector id -> article ordinal (-> page id, title)."""

    def __init__(self, out_dir):
        self.c = Container(Path(out_dir) / "passages.bin", PASSAGES_KIND)
        self.article = self.c["article"]
        self.passage_no = self.c["passage_no"]
        self.start = self.c["start"]
        self.end = self.c["end"]
        self.page_ids = self.c["page_id"]
        self.shard_passages = self.c["shard_passages"]
        self._t_off = self.c["title_offsets"]
        self._t_blob = self.c["title_blob"]
        self.n_passages = len(self.article)
        self.n_articles = len(self.page_ids)
        if len(self._t_off) != self.n_articles + 1 or int(self.shard_passages[-1]) != self.n_passages:
            raise CorruptIndexError(self.c.path, "passage map arrays disagree in length")

    def title(self, a: int) -> str:
        lo, hi = int(self._t_off[a]), int(self._t_off[a + 1])
        return self._t_blob[lo:hi].tobytes().decode("utf-8", "surrogatepass")


class ShardVectors:
    """The stored vectors of every shard, addressed by global vector id (for exact re-scoring)."""

    def __init__(self, out_dir, shard_passages: np.ndarray):
        self.dir = out_dir
        self.bounds = np.asarray(shard_passages, np.int64)
        self._open: dict[int, np.ndarray] = {}

    def _shard(self, k: int) -> np.ndarray:
        v = self._open.get(k)
        if v is None:
            v = self._open[k] = read_shard(self.dir, k)["vectors"]
        return v

    def get(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        shards = np.searchsorted(self.bounds, ids, side="right") - 1
        out = None
        for k in np.unique(shards).tolist():
            sel = shards == k
            rows = self._shard(k)[ids[sel] - self.bounds[k]]
            if out is None:
                out = np.empty((len(ids), rows.shape[1]), np.float32)
            out[sel] = rows
        return out if out is not None else np.zeros((0, 0), np.float32)

    def iter_shards(self):
        """(first vector id, float32 vectors) per shard, in order."""
        for k in range(len(self.bounds) - 1):
            yield int(self.bounds[k]), np.asarray(self._shard(k), np.float32)
            self._open.pop(k, None)
