"""Store compression options on a built index's real text: size and cost per fetch.

    python benchmarks/bench_store_levels.py INDEX/store.bin                      # the default options
    python benchmarks/bench_store_levels.py INDEX/store.bin --frac 0.1 --options "524288,19;131072,6,112640"

Every document of ``store.bin`` is read back, cut into blocks as the store cuts them (content
defined, ~``block`` bytes) and each option's blocks (a tenth of them by default, evenly spread) are
compressed with zstd at its level, with a dictionary of ``dict`` bytes trained on the first fifth of
the documents when given (its bytes counted). Printed per option: compressed / raw, CPU ms to
decompress one block (what a document fetch costs: a fetch decompresses its block; 200 blocks), and
compression speed. Options: ``block,level[,dict]`` separated by ``;``.
"""
from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wikisearch.index.container import Container  # noqa: E402
from wikisearch.index.store import StoreReader  # noqa: E402

DEFAULT = "131072,6;131072,9;131072,12;131072,15;131072,19;131072,6,112640;131072,19,112640;524288,19;2097152,19"


def documents(path) -> list[bytes]:
    """Every document of a store, as the build stored it (decoded: word-coded stores too)."""
    c = Container(path, b"STOR")
    r = StoreReader(c)
    return [r.doc(d) for d in range(int(c.meta["n_docs"]))]


def blocks_of(docs, target: int) -> list[bytes]:
    out, cur = [], []
    for d in docs:
        cur.append(d)
        if zlib.crc32(d) * target < len(d) << 32:      # as store.ends_block, for any block size
            out.append(b"".join(cur))
            cur = []
    if cur:
        out.append(b"".join(cur))
    return out


def trial(docs, block: int, level: int, dict_bytes: int, frac: float) -> str:
    import zstandard
    blocks = blocks_of(docs, block)
    n = max(1, int(len(blocks) * frac))
    sel = blocks[::max(1, len(blocks) // n)][:n]
    zd = zstandard.train_dictionary(dict_bytes, docs[:len(docs) // 5], level=level) if dict_bytes else None
    cctx = zstandard.ZstdCompressor(level=level, dict_data=zd, write_checksum=False)
    t = time.process_time()
    frames = [cctx.compress(b) for b in sel]
    ct = time.process_time() - t
    raw = sum(map(len, sel))
    comp = sum(map(len, frames)) + (len(zd.as_bytes()) if zd else 0)
    dctx = zstandard.ZstdDecompressor(dict_data=zd)
    t = time.process_time()
    for i in range(200):
        dctx.decompress(frames[i % len(frames)])
    dt = (time.process_time() - t) / 200
    return (f"block {block >> 10:5d} KiB, level {level:2d}, dictionary {dict_bytes >> 10:3d} KiB: "
            f"{comp / raw:.4f} of the text; {dt * 1e3:.3f} ms CPU per fetch; compresses {raw / ct / 1e6:.1f} MB/s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store")
    ap.add_argument("--frac", type=float, default=0.1)
    ap.add_argument("--options", default=DEFAULT)
    args = ap.parse_args(argv)
    docs = documents(args.store)
    print(f"{len(docs):,} documents, {sum(map(len, docs)) / 1e6:.1f} MB of text", flush=True)
    for opt in args.options.split(";"):
        block, level, *d = (int(x) for x in opt.split(","))
        print(trial(docs, block, level, d[0] if d else 0, args.frac), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
