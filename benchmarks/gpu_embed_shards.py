"""`wikisearch embed` end to end where the GPU is: `--shard 0/2`, then `1/2`, in one process.

A `--shard` worker needs no faiss (it writes shards only), so this runs on a GPU machine that has
torch and sentence-transformers (plus indexed_bzip2 for wikisearch's dump reader): it reads a dump
(here WikiExtractor text), parses and cuts every article into passages, tokenises, encodes and
writes the shards, as a user's `embed` does. Each worker reads the whole input and skips the
other's shards. Prints each run's summary and the progress records `embed` wrote.

    python3 benchmarks/gpu_embed_shards.py DUMP OUT [--model DIR] [--device cuda] [--block faiss,...]

``--block`` makes the named modules unimportable first, so that a dry run elsewhere proves the
same imports as on the GPU machine (benchmarks/results/dense-gpu-h200.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump")
    ap.add_argument("out")
    ap.add_argument("--model", default=None, help="sentence-transformers folder (default: the bundled one)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--shard-articles", default="250")
    ap.add_argument("--block", default="", help="modules to make unimportable (a dry run elsewhere)")
    args = ap.parse_args(argv)
    for m in filter(None, args.block.split(",")):
        sys.modules[m] = None
    from click.testing import CliRunner
    from wikisearch.cli import main as cli
    for i in range(2):
        t = time.perf_counter()
        r = CliRunner().invoke(cli, ["embed", args.dump, "-o", args.out, "--shard", f"{i}/2",
                                     "--shard-articles", args.shard_articles, "-q",
                                     *(["--model", args.model] if args.model else []),
                                     *(["--device", args.device] if args.device else [])],
                               catch_exceptions=False)
        print(json.dumps({"worker": f"{i}/2", "exit": r.exit_code, "wall_s": time.perf_counter() - t,
                          "output": r.output[-600:]}), flush=True)
        if r.exit_code:
            return r.exit_code
    progress = Path(args.out) / "progress"
    print(json.dumps([json.loads((progress / f).read_text()) for f in sorted(os.listdir(progress))], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
