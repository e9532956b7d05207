"""Stored text: format 10 (word transform, then ~16 KiB zstd blocks with the shipped dictionary
trained on word-coded text) against format 7 (the same blocks and prefixes, no word transform,
the dictionary shipped before, trained on plain text: ``train_store_dict`` retrains it to the same
bytes) and format 5 (~128 KiB zstd blocks at level 9, no dictionary), on the 30k real articles,
with the build's own field extraction and document encoding.

    python benchmarks/bench_store.py [--limit-docs N]      # -> results/store.json, results/store.md

Every store gets exactly the bytes the build stores for each article (``parse_plaintext`` ->
``field_texts`` -> ``encode_doc``). Sizes are reported for the whole corpus and for the articles
the dictionary was *not* trained on (``train_store_dict.TRAIN_DOCS`` onwards). Random access is
one document read back at random (its block decompressed, the reader's one-block cache cleared),
CPU time of this thread, median and p95 of 2,000; a prefix read (``doc_prefix``, what a snippet
reads) likewise. Compression CPU is the process's CPU time of ``write_store`` (transform, zstd,
prefix cuts, file), the least of ``--repeat`` rounds that write the stores in turn.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import CorpusSpec, iter_real_docs  # noqa: E402
from train_store_dict import TRAIN_DOCS, samples, train  # noqa: E402

from wikisearch.config import FIELDS  # noqa: E402
from wikisearch.index.container import Container, write_container  # noqa: E402
from wikisearch.index.store import (DICT_LEVEL, STORE_BLOCK_BYTES, StoreReader, encode_doc,  # noqa: E402
                                    shipped_dictionary, shipped_words, write_store)
from wikisearch.ingest.parse import field_texts, parse_plaintext  # noqa: E402

OLD_BLOCK_BYTES, OLD_LEVEL = 128 << 10, 9


def write_format5(path: Path, docs: list[bytes]) -> None:
    """A format 5 store: the same content-defined cuts at ~128 KiB, level 9, no dictionary."""
    import zstandard
    comp = zstandard.ZstdCompressor(level=OLD_LEVEL, write_checksum=False, write_content_size=True)
    frames, sizes, bdocs, ends, crcs, cur = [], [0], [0], [], [], []

    def close():
        frame = comp.compress(b"".join(cur))
        frames.append(frame)
        sizes.append(sizes[-1] + len(frame))
        bdocs.append(bdocs[-1] + len(cur))
        ends.append(np.cumsum([len(x) for x in cur]).astype(np.uint32))
        crcs.append(zlib.crc32(frame))

    for d in docs:
        cur.append(d)
        if zlib.crc32(d) * OLD_BLOCK_BYTES < len(d) << 32:
            close()
            cur = []
    if cur:
        close()
    write_container(path, b"STOR", {"block_offsets": np.asarray(sizes, np.uint64),
                                    "block_docs": np.asarray(bdocs, np.uint64),
                                    "doc_ends": np.concatenate(ends), "block_crc": np.asarray(crcs, np.uint32),
                                    "data": np.frombuffer(b"".join(frames), np.uint8)},
                    meta={"n_docs": len(docs), "compression": "zstd", "level": OLD_LEVEL, "open_tail": bool(cur)})


def measure(write, docs: list[bytes], tmp: Path, name: str) -> dict:
    path = tmp / f"{name}.bin"
    t0 = time.process_time()
    write(path, docs)
    cpu = time.process_time() - t0
    c = Container(path, b"STOR")
    r = StoreReader(c)
    rng = random.Random(1)
    times, ptimes = [], []
    for d in (rng.randrange(len(docs)) for _ in range(2000)):
        r._last = None
        t = time.thread_time()
        raw = r.doc(d)
        times.append(time.thread_time() - t)
        assert raw == docs[d]
        if r.prefix_ends is not None:
            r._last = None
            t = time.thread_time()
            raw = r.doc_prefix(d)
            ptimes.append(time.thread_time() - t)
            assert docs[d].startswith(raw)
    n_blocks = len(c["block_docs"]) - 1
    c.close()
    times.sort()
    ptimes.sort()
    out = {"file_bytes": path.stat().st_size, "compress_cpu_s": cpu, "blocks": n_blocks,
           "read_cpu_ms_p50": 1000 * times[len(times) // 2], "read_cpu_ms_p95": 1000 * times[int(len(times) * 0.95)]}
    if ptimes:
        out.update(prefix_cpu_ms_p50=1000 * ptimes[len(ptimes) // 2], prefix_cpu_ms_p95=1000 * ptimes[int(len(ptimes) * 0.95)])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-docs", type=int)
    ap.add_argument("--repeat", type=int, default=2, help="rounds of the whole-corpus stores (the least CPU kept)")
    args = ap.parse_args(argv)
    docs, sizes = [], []
    for _part, doc in iter_real_docs(CorpusSpec(limit_docs=args.limit_docs)):
        sizes.append(len(doc.full_text().encode("utf-8")))
        t = field_texts(parse_plaintext(doc.text, doc.title))
        docs.append(encode_doc([t.get(name, "") for name in FIELDS]))
    input_bytes, held_input = sum(sizes), sum(sizes[TRAIN_DOCS:])
    dictionary, words = shipped_dictionary("en"), shipped_words("en")
    plain_dictionary = train(samples(docs[:TRAIN_DOCS]))       # format 7's (shipped until session 18)
    res = {"documents": len(docs), "input_text_bytes": input_bytes, "stored_raw_bytes": sum(map(len, docs)),
           "held_out_documents": max(0, len(docs) - TRAIN_DOCS), "held_out_input_bytes": held_input,
           "dictionary_bytes": len(dictionary), "words_bytes": len(words), "level": DICT_LEVEL,
           "block_bytes": STORE_BLOCK_BYTES}
    writers = {"format5": write_format5,
               "format7": lambda p, ds: write_store(p, ds, plain_dictionary),
               "format10": lambda p, ds: write_store(p, ds, dictionary, words=words)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_store(tmp / "warm.bin", docs[:50], dictionary, words=words)     # (kernels compiled or loaded)
        for _round in range(args.repeat):          # (alternating: the machine's load moves)
            for name, write in writers.items():
                r = measure(write, docs, tmp, name)
                if name not in res or r["compress_cpu_s"] < res[name]["compress_cpu_s"]:
                    res[name] = r
        if held_input:
            for name, write in writers.items():
                res[name]["held_out_file_bytes"] = measure(write, docs[TRAIN_DOCS:], tmp, name + "h")["file_bytes"]
    out = HERE / "results"
    (out / "store.json").write_text(json.dumps(res, indent=1) + "\n")

    def row(label, r):
        held = (f"{100 * r['held_out_file_bytes'] / held_input:.1f} %" if held_input else "-")
        prefix = (f"{r['prefix_cpu_ms_p50']:.3f} / {r['prefix_cpu_ms_p95']:.3f}" if "prefix_cpu_ms_p50" in r else "-")
        return (f"| {label} | {r['file_bytes'] / 1e6:,.1f} MB | {100 * r['file_bytes'] / input_bytes:.1f} % | {held} | "
                f"{r['compress_cpu_s']:.1f} | {r['blocks']:,} | {r['read_cpu_ms_p50']:.3f} / {r['read_cpu_ms_p95']:.3f} | "
                f"{prefix} |")

    md = ["# Stored text: word-coded zstd blocks (format 10) vs plain (format 7) vs no dictionary (format 5), "
          "30k real articles", "",
          f"{len(docs):,} articles, {input_bytes / 1e6:,.1f} MB of input text (title + text); stored bytes "
          f"uncompressed {res['stored_raw_bytes'] / 1e6:,.1f} MB. The codebook (`wikisearch/data/store-words-en.zstd`, "
          f"{len(words):,} bytes) and the dictionary (`wikisearch/data/store-dict-en.zstd`, {len(dictionary):,} bytes, "
          f"trained on word-coded text), each kept in every store, and format 7's dictionary (trained on plain "
          f"text) were trained by `benchmarks/train_store_dict.py` on the first {TRAIN_DOCS:,} articles; "
          f"\"held out\" is the store of the other {res['held_out_documents']:,} against their input.", "",
          "| store | file | % of input | % of input, held out | compress CPU s | blocks | random read CPU ms p50 / p95 "
          "| prefix read CPU ms p50 / p95 |",
          "|---|---|---|---|---|---|---|---|",
          row(f"format 5: ~{OLD_BLOCK_BYTES >> 10} KiB blocks, level {OLD_LEVEL}, no dictionary", res["format5"]),
          row(f"format 7: ~{STORE_BLOCK_BYTES >> 10} KiB blocks, level {DICT_LEVEL}, dictionary", res["format7"]),
          row(f"format 10: word-coded, ~{STORE_BLOCK_BYTES >> 10} KiB blocks, level {DICT_LEVEL}, dictionary",
              res["format10"]), "",
          "Command: `python benchmarks/bench_store.py`.", ""]
    (out / "store.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
