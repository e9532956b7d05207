"""store.bin: zstd blocks of documents, random access, and a merge that leaves no trace of where
the dump was cut."""
from __future__ import annotations

import random

import numpy as np
import pytest

from wikisearch.errors import CorruptIndexError
from wikisearch.index.container import Container
from wikisearch.index.store import STORE_BLOCK_BYTES, StoreReader, encode_doc, ends_block, merge_stores, write_store


def _docs(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "délta", "日本", "\ud800", "x" * 50]
    out = []
    for _ in range(n):
        k = rng.choice([0, 1, 5, 200, 2000, 20000])
        out.append(encode_doc([" ".join(rng.choice(words) for _ in range(k)), "", "t"]))
    return out


def _open(path):
    return Container(path, b"STOR", verify=True)


def test_round_trip_and_random_access(tmp_path):
    docs = _docs(1, 300)
    write_store(tmp_path / "s.bin", docs)
    c = _open(tmp_path / "s.bin")
    r = StoreReader(c)
    assert len(c["block_docs"]) > 2                 # several blocks
    for d in [5, 0, 299, 17, 17, 150] + list(range(300)):
        assert r.doc(d) == docs[d]
    c.close()


def test_block_ends_are_decided_by_the_documents():
    docs = _docs(2, 2000)
    total = sum(len(d) for d in docs)
    cuts = sum(ends_block(d) for d in docs)
    assert 0.5 * total / STORE_BLOCK_BYTES < cuts < 2 * total / STORE_BLOCK_BYTES + 5
    assert ends_block(b"y" * (STORE_BLOCK_BYTES + 1))          # a huge document closes its block


@pytest.mark.parametrize("seed", range(4))
def test_merged_store_is_the_same_bytes_wherever_the_segments_were_cut(tmp_path, seed):
    docs = _docs(seed, 400)
    write_store(tmp_path / "one.bin", docs)
    merge_stores([_open(tmp_path / "one.bin")], tmp_path / "one-merged.bin")
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, 400), 6)) + [400]
    parts, lo = [], 0
    for i, hi in enumerate(cuts):
        write_store(tmp_path / f"p{i}.bin", docs[lo:hi])
        parts.append(_open(tmp_path / f"p{i}.bin"))
        lo = hi
    merge_stores(parts, tmp_path / "merged.bin")
    one = (tmp_path / "one-merged.bin").read_bytes()
    assert (tmp_path / "merged.bin").read_bytes() == one
    c = _open(tmp_path / "merged.bin")
    r = StoreReader(c)
    assert [r.doc(d) for d in range(400)] == docs
    assert np.asarray(c["block_docs"])[-1] == 400


def test_damaged_block_is_reported(tmp_path):
    docs = _docs(3, 50)
    write_store(tmp_path / "s.bin", docs)
    c = _open(tmp_path / "s.bin")
    off = c.offsets["data"] + 10
    c.close()
    raw = bytearray((tmp_path / "s.bin").read_bytes())
    raw[off] ^= 0xFF
    (tmp_path / "s.bin").write_bytes(bytes(raw))
    c = Container(tmp_path / "s.bin", b"STOR", verify=False)
    with pytest.raises(CorruptIndexError, match="stored-text block 0"):
        StoreReader(c).doc(0)
    c.close()


def test_compresses_real_text_better_than_per_document_zlib(tmp_path):
    """The point of blocks: real article text (the bundled sample) in fewer bytes than zlib per document."""
    import zlib
    from wikisearch.ingest.dump import Dump, pages_from_block
    from pathlib import Path
    import wikisearch
    sample = Path(wikisearch.__file__).parent / "data" / "sample-enwiki.xml.bz2"
    docs = []
    with Dump(str(sample)) as dump:
        for block, data in dump.blocks(1 << 30):
            for page in pages_from_block(data, block, dump.siteinfo, dump.format):
                if not page.redirect:
                    docs.append(encode_doc([page.title, page.text]))
    write_store(tmp_path / "s.bin", docs)
    per_doc = sum(len(zlib.compress(d, 1)) for d in docs)
    c = _open(tmp_path / "s.bin")
    assert c.shape("data")[0] < 0.9 * per_doc
    c.close()
