"""Stored text: zstd blocks of documents (format 4) against one zlib record per document (format
3), on the 30k real articles, with the build's own field extraction and document encoding.

    python benchmarks/bench_store.py [--limit-docs N]      # -> results/store.json, results/store.md

Both stores get exactly the bytes the build stores for each article (``parse_plaintext`` ->
``field_texts`` -> ``encode_doc``); random access time is one document read back at random from
the zstd store (its block decompressed), median of 2,000.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import CorpusSpec, iter_real_docs  # noqa: E402

from wikisearch.config import FIELDS  # noqa: E402
from wikisearch.index.container import Container  # noqa: E402
from wikisearch.index.store import LEVEL, STORE_BLOCK_BYTES, StoreReader, encode_doc, write_store  # noqa: E402
from wikisearch.ingest.parse import field_texts, parse_plaintext  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-docs", type=int)
    args = ap.parse_args(argv)
    docs, input_bytes = [], 0
    for _part, doc in iter_real_docs(CorpusSpec(limit_docs=args.limit_docs)):
        input_bytes += len(doc.full_text().encode("utf-8"))
        t = field_texts(parse_plaintext(doc.text, doc.title))
        docs.append(encode_doc([t.get(name, "") for name in FIELDS]))
    raw = sum(map(len, docs))
    t0 = time.process_time()
    zlib_bytes = sum(len(zlib.compress(d, 1)) for d in docs)
    zlib_s = time.process_time() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.bin"
        t0 = time.process_time()
        write_store(path, docs)
        zstd_s = time.process_time() - t0
        c = Container(path, b"STOR")
        zstd_bytes = c.shape("data")[0]
        file_bytes = path.stat().st_size
        r = StoreReader(c)
        rng = random.Random(1)
        times = []
        for d in (rng.randrange(len(docs)) for _ in range(2000)):
            r._last = None
            t = time.perf_counter()
            assert r.doc(d) == docs[d]
            times.append(time.perf_counter() - t)
        c.close()
    times.sort()
    res = {"documents": len(docs), "input_text_bytes": input_bytes, "stored_raw_bytes": raw,
           "zlib_per_doc_bytes": zlib_bytes, "zlib_cpu_s": zlib_s,
           "zstd_blocks_data_bytes": int(zstd_bytes), "zstd_file_bytes": file_bytes, "zstd_cpu_s": zstd_s,
           "zstd_level": LEVEL, "block_bytes": STORE_BLOCK_BYTES,
           "zstd_vs_input": file_bytes / input_bytes, "zlib_vs_input": zlib_bytes / input_bytes,
           "random_doc_read_ms_p50": 1000 * times[len(times) // 2], "random_doc_read_ms_p95": 1000 * times[int(len(times) * 0.95)]}
    out = HERE / "results"
    (out / "store.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# Stored text: zstd blocks vs zlib per document (30k real articles)", "",
          "| | bytes | % of input text | compress CPU s |", "|---|---|---|---|",
          f"| input (title + text) | {input_bytes / 1e6:,.1f} MB | 100 % | |",
          f"| stored bytes, uncompressed | {raw / 1e6:,.1f} MB | {100 * raw / input_bytes:.1f} % | |",
          f"| format 3: zlib level 1 per document | {zlib_bytes / 1e6:,.1f} MB | {100 * zlib_bytes / input_bytes:.1f} % | {zlib_s:.1f} |",
          f"| format 4: zstd level {LEVEL}, ~{STORE_BLOCK_BYTES >> 10} KiB blocks (whole file) | {file_bytes / 1e6:,.1f} MB | "
          f"{100 * file_bytes / input_bytes:.1f} % | {zstd_s:.1f} |", "",
          f"Random document read (block decompressed, cache cleared): p50 {res['random_doc_read_ms_p50']:.2f} ms, "
          f"p95 {res['random_doc_read_ms_p95']:.2f} ms.", ""]
    (out / "store.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
