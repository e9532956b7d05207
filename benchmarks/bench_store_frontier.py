"""Stored text: the frontier of size against compression CPU and document read time, on the real
30k articles held out from every trained dictionary or codebook (issue #13: at most 30 % of the
input text, random access kept).

    python benchmarks/bench_store_frontier.py [--step 3] [--reads 2000]   # -> results/store-frontier.{json,md}

Documents are the build's stored bytes (``parse_plaintext`` -> ``field_texts`` -> ``encode_doc``) of
every ``step``-th article from ``train_store_dict.TRAIN_DOCS`` on (the articles the shipped
dictionaries and codebook never saw). For each candidate they are cut into blocks as the store cuts
them (content defined, ~``block`` bytes), each block compressed alone (the store's layout without
its prefix split, which costs ~0.6 % more bytes in every row alike); a candidate with the word
transform codes each document first (``index/wordcode.py``, the shipped codebook) and compresses
with the shipped dictionary (trained on coded text); a plain zstd candidate uses format 7's
dictionary (trained on plain text: ``train_store_dict`` retrains it to the bytes shipped until
session 18). Reported per candidate: compressed bytes / input text bytes of the same articles,
compression CPU (process time: transform and compressor, one thread), and one random document's
read (its block decompressed, its slice decoded; thread CPU, p50 / p95 of ``reads``). brotli and
pyppmd rows appear where those packages import (they are not dependencies of wikisearch).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train_store_dict import TRAIN_DOCS, documents, samples, train  # noqa: E402

from wikisearch.index import wordcode  # noqa: E402
from wikisearch.index.store import shipped_dictionary, shipped_words  # noqa: E402


def blocks_of(docs: list[bytes], target: int) -> list[list[int]]:
    """Indices of ``docs`` per block, cut as ``store.ends_block`` cuts for ~``target`` bytes."""
    out, cur = [], []
    for i, d in enumerate(docs):
        cur.append(i)
        if zlib.crc32(d) * target < len(d) << 32:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def zstd_codec(level: int, dictionary: bytes, ldm: bool = False):
    import zstandard
    d = zstandard.ZstdCompressionDict(dictionary) if dictionary else None
    if d is not None:
        d.precompute_compress(level=level)
    if ldm:
        params = zstandard.ZstdCompressionParameters.from_level(level, enable_ldm=True)
        comp = zstandard.ZstdCompressor(compression_params=params, dict_data=d)
    else:
        comp = zstandard.ZstdCompressor(level=level, dict_data=d, write_checksum=False)
    dec = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary) if dictionary else None)
    return comp.compress, dec.decompress


def brotli_codec(quality: int, lgwin: int):
    import brotli
    return (lambda b: brotli.compress(b, mode=brotli.MODE_TEXT, quality=quality, lgwin=lgwin)), brotli.decompress


def ppmd_codec(order: int, mem: int):
    import pyppmd
    return (lambda b: pyppmd.compress(b, max_order=order, mem_size=mem)), \
        (lambda f: pyppmd.decompress(f, max_order=order, mem_size=mem))


def measure(docs, input_bytes, block, codec, coder, reads) -> dict:
    compress, decompress = codec
    groups = blocks_of(docs, block)
    t = time.process_time()
    frames, ends = [], []
    for g in groups:
        xs = [docs[i] if coder is None else coder.encode(docs[i]) for i in g]
        frames.append(compress(b"".join(xs)))
        e = [0]
        for x in xs:
            e.append(e[-1] + len(x))
        ends.append(e)
    cpu = time.process_time() - t
    rng = random.Random(1)
    times = []
    for _ in range(reads):
        b = rng.randrange(len(groups))
        j = rng.randrange(len(groups[b]))
        t = time.thread_time()
        raw = decompress(frames[b])[ends[b][j]:ends[b][j + 1]]
        if coder is not None:
            raw = coder.decode(raw)
        times.append(time.thread_time() - t)
        assert raw == docs[groups[b][j]]
    times.sort()
    size = sum(map(len, frames))
    return {"bytes": size, "pct_of_input": 100 * size / input_bytes, "compress_cpu_s": cpu, "blocks": len(groups),
            "read_ms_p50": 1e3 * times[len(times) // 2], "read_ms_p95": 1e3 * times[int(len(times) * 0.95)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--step", type=int, default=3, help="every step-th held-out article")
    ap.add_argument("--reads", type=int, default=2000)
    args = ap.parse_args(argv)
    from corpus import CorpusSpec, iter_real_docs
    sizes = [len(doc.full_text().encode("utf-8")) for _p, doc in iter_real_docs(CorpusSpec())]
    alldocs = documents(len(sizes))
    plain_dict = train(samples(alldocs[:TRAIN_DOCS]))
    docs = alldocs[TRAIN_DOCS::args.step]
    input_bytes = sum(sizes[TRAIN_DOCS::args.step])
    coder = wordcode.Codebook(shipped_words("en"))
    coder.decode(coder.encode(b"The warm-up"))
    wdict = shipped_dictionary("en")
    K = 1 << 10
    cands = [("zstd l5, dictionary (format 7, today)", 16 * K, lambda: zstd_codec(5, plain_dict), None),
             ("zstd l6, dictionary", 16 * K, lambda: zstd_codec(6, plain_dict), None),
             ("zstd l9, dictionary", 16 * K, lambda: zstd_codec(9, plain_dict), None),
             ("zstd l5, dictionary", 32 * K, lambda: zstd_codec(5, plain_dict), None),
             ("zstd l5, dictionary", 64 * K, lambda: zstd_codec(5, plain_dict), None),
             ("zstd l9, dictionary", 64 * K, lambda: zstd_codec(9, plain_dict), None),
             ("zstd l12, dictionary", 64 * K, lambda: zstd_codec(12, plain_dict), None),
             ("zstd l5, dictionary, long-distance matching", 64 * K, lambda: zstd_codec(5, plain_dict, True), None),
             ("zstd l19, dictionary", 64 * K, lambda: zstd_codec(19, plain_dict), None),
             ("words + zstd l5, dictionary (format 10)", 16 * K, lambda: zstd_codec(5, wdict), coder),
             ("words + zstd l6, dictionary", 16 * K, lambda: zstd_codec(6, wdict), coder),
             ("words + zstd l9, dictionary", 16 * K, lambda: zstd_codec(9, wdict), coder),
             ("words + zstd l5, dictionary", 32 * K, lambda: zstd_codec(5, wdict), coder),
             ("words + zstd l5, dictionary", 64 * K, lambda: zstd_codec(5, wdict), coder),
             ("words + zstd l5, no dictionary", 16 * K, lambda: zstd_codec(5, b""), coder)]
    try:
        import brotli  # noqa: F401
        cands += [(f"brotli q{q} (built-in dictionary)", bl * K, (lambda q=q, bl=bl: brotli_codec(q, max(16, (bl * K).bit_length()))), None)
                  for q, bl in ((5, 16), (7, 16), (9, 16), (9, 64))]
        cands += [("words + brotli q9", 16 * K, lambda: brotli_codec(9, 16), coder)]
    except ImportError:
        print("(brotli not installed: no brotli rows)", file=sys.stderr)
    try:
        import pyppmd  # noqa: F401
        cands += [("PPMd order 6, 16 MB", 16 * K, lambda: ppmd_codec(6, 16 << 20), None),
                  ("PPMd order 6, 16 MB", 64 * K, lambda: ppmd_codec(6, 16 << 20), None),
                  ("words + PPMd order 4, 16 MB", 16 * K, lambda: ppmd_codec(4, 16 << 20), coder)]
    except ImportError:
        print("(pyppmd not installed: no PPMd rows)", file=sys.stderr)
    rows = []
    for name, block, make, cd in cands:
        try:
            r = measure(docs, input_bytes, block, make(), cd, args.reads)
        except (ValueError, AssertionError) as e:      # (a codec that does not give its input back)
            print(f"{name:48s} {block // K:3d} KiB  failed: {e!r}", flush=True)
            rows.append({"candidate": name, "block_kib": block // K, "failed": repr(e)})
            continue
        r.update(candidate=name, block_kib=block // K)
        rows.append(r)
        print(f"{name:48s} {block // K:3d} KiB  {r['pct_of_input']:6.2f} %  CPU {r['compress_cpu_s']:6.2f} s  "
              f"read {r['read_ms_p50']:.3f} / {r['read_ms_p95']:.3f} ms", flush=True)
    base = rows[0]
    res = {"held_out_documents": len(docs), "input_text_bytes": input_bytes, "step": args.step,
           "codebook_bytes": len(shipped_words("en")), "dictionary_bytes": len(wdict), "rows": rows}
    out = HERE / "results"
    (out / "store-frontier.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# Stored text frontier: size, compression CPU and read time (30k real articles, held out)", "",
          f"{len(docs):,} held-out articles (one in {args.step} from article {TRAIN_DOCS:,} on), "
          f"{input_bytes / 1e6:.1f} MB of input text. Blocks compressed alone as the store cuts them (without the "
          "prefix split: ~0.6 % more bytes in every row). CPU: one thread's process time to transform and "
          "compress, and its ratio to today's (first row) in the same run; read: one random document "
          "(block decompressed, slice decoded), thread CPU p50 / p95.", "",
          "| candidate | block | % of input | compress CPU s (x today) | read ms p50 / p95 |", "|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            md.append(f"| {r['candidate']} | {r['block_kib']} KiB | failed: {r['failed']} | | |")
            continue
        md.append(f"| {r['candidate']} | {r['block_kib']} KiB | {r['pct_of_input']:.2f} % | {r['compress_cpu_s']:.2f} "
                  f"({r['compress_cpu_s'] / base['compress_cpu_s']:.2f}x) | {r['read_ms_p50']:.3f} / {r['read_ms_p95']:.3f} |")
    md += ["", "Command: `python benchmarks/bench_store_frontier.py`.", ""]
    (out / "store-frontier.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
