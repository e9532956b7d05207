"""Where postings.bin's bytes go (#12, #13: index size at full scale): bytes by stream of the
bit-packed codec (docs/FORMAT.md, "bitpacked"), without writing anything.

    python benchmarks/bench_postings_streams.py --index IDX [--every 50] [--out JSON]

Every list is classed by its document frequency (df 1, 2-128: one block, more: the long lists of
blocks.bin). For the long lists, every ``--every``-th block (by its entry in blocks.bin) is parsed
stream by stream -- DocGaps, Codes (the field-mask table's indexes; none for a list of one mask),
TfMinus1s -- each as its header, packed bits and exceptions, and the totals are scaled up by the
sampled share of the long lists' bytes (MaskTables counted exactly). Short lists are counted whole.
Prints bits per posting by stream.

``--packed-exceptions`` also prices the blocks' streams in both exception layouts, each at its
best Width: format 10's VInt pairs and format 11's packed exceptions (docs/FORMAT.md). The
format-11 writer picks the best Width exactly, so on a format-11 index its figure equals the
bytes parsed; on a format-10 index it is what a rebuild would write (the estimate that chose
format 11, session 18, priced the indexes at 7 bits whatever the count: 1,980.7 MB).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wikisearch.index.blockmax import BlockMaxima  # noqa: E402
from wikisearch.index.publish import resolve_index  # noqa: E402
from wikisearch.index.pycodec import _read_stream, _vb_read  # noqa: E402
from wikisearch.index.segment import SegmentReader  # noqa: E402

BLOCK = 128


def stream(buf, at, count, want_values=False):
    """(end, header+count bytes, packed bytes, exception bytes, values or None) of one Stream,
    read by the codec's plain-Python reader (``pycodec._read_stream``)."""
    width, end = buf[at] & 63, len(buf)
    p = at + 1
    if buf[at] & 192:                                # exceptions: VInt pairs (64) or packed (128)
        _n, p = _vb_read(buf, p, end)
        p += 1 if buf[at] & 128 else 0               # HighWidth
    nbytes = (count * width + 7) // 8
    values, q = _read_stream(buf, at, end, count)
    if q < 0:
        raise ValueError(f"a damaged stream at byte {at}")
    return q, p - at, nbytes, q - (p + nbytes), np.asarray(values, np.int64) if want_values else None


def vint_bytes(x) -> np.ndarray:
    """Bytes of each value of ``x`` as a VInt (unsigned LEB128)."""
    x = np.asarray(x, np.int64)
    n = np.ones(x.shape, np.int64)
    for shift in (7, 14, 21, 28, 35, 42, 49, 56):
        n += (x >> shift) > 0
    return n


def stream_bytes(values, width: int) -> tuple[int, int]:
    """(format 10's layout, format 11's): bytes of one Stream of ``values`` at ``width``, its
    exceptions as VInt pairs or bit-packed (indexes at the bit length of the count - 1, high bits
    at the widest exception's)."""
    v = np.asarray(values, np.int64)
    bits = np.zeros(len(v), np.int64)
    nz = v > 0
    bits[nz] = np.floor(np.log2(v[nz])).astype(np.int64) + 1
    packed = (len(v) * width + 7) // 8
    idx = np.nonzero(bits > width)[0]
    n = len(idx)
    if not n:
        return 1 + packed, 1 + packed
    gaps = np.diff(np.concatenate(([-1], idx))) - 1
    vints = 1 + int(vint_bytes([n])[0]) + packed + int(vint_bytes(gaps).sum() + vint_bytes(v[idx] >> width).sum())
    high = int(bits[idx].max()) - width
    index_width = (len(v) - 1).bit_length()
    return vints, 1 + int(vint_bytes([n])[0]) + 1 + packed + (n * index_width + 7) // 8 + (n * high + 7) // 8


def best_bytes(values) -> tuple[int, int]:
    """The least bytes of a Stream of ``values`` over every Width, in each layout."""
    both = [stream_bytes(values, w) for w in range(33)]
    return min(t for t, _ in both), min(p for _, p in both)


def mask_table(buf, at):
    """(masks, end) of a list's MaskTable in ``buf`` (postings.bin's mapped bytes)."""
    v, p = _vb_read(memoryview(buf), at, len(buf))
    if v & 1:
        return [v >> 1], p
    masks = []
    for _ in range(v >> 1):
        m, p = _vb_read(memoryview(buf), p, len(buf))
        masks.append(m)
    return masks, p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--out", default=None)
    ap.add_argument("--packed-exceptions", action="store_true",
                    help="also estimate the bytes of an exception layout without VInts (see above)")
    args = ap.parse_args()
    src = resolve_index(Path(args.index))
    r = SegmentReader(src, store=False)
    assert r.codec_name == "bitpacked"
    d = r.terms
    dfs, starts, lens = [], [], []
    for b0 in range(0, d.n_blocks, 4096):
        _tb, _to, df, st, ln = d.read_blocks(b0, min(d.n_blocks, b0 + 4096))
        dfs.append(df)
        starts.append(st)
        lens.append(ln)
    df, start, ln = (np.concatenate(x).astype(np.int64) for x in (dfs, starts, lens))
    n_post = int(df.sum())
    total = int(ln.sum())
    out = {"index": str(src), "terms": len(df), "postings": n_post, "bytes": total}
    for name, sel in (("df=1", df == 1), ("df 2-128", (df >= 2) & (df <= BLOCK)), ("df>128", df > BLOCK)):
        out[name] = {"lists": int(sel.sum()), "postings": int(df[sel].sum()), "bytes": int(ln[sel].sum())}
    m = BlockMaxima(src / "blocks.bin")
    terms = np.asarray(m.terms, np.int64)
    offs = np.asarray(m.offsets, np.int64)
    pos = m.pos
    data = r.postings_data
    acc = {k: 0 for k in ("gap_head", "gap_bits", "gap_exc", "code_head", "code_bits", "code_exc",
                          "tf_head", "tf_bits", "tf_exc", "tail1")}
    layouts = {"vint_best": 0, "packed_best": 0}
    sampled_bytes = sampled_posts = 0
    table_bytes = 0
    gap_widths = np.zeros(33, np.int64)
    tf_widths = np.zeros(33, np.int64)
    for i, o in enumerate(terms.tolist()):
        a = int(start[o])
        masks, p0 = mask_table(data, a)
        table_bytes += p0 - a
        g0, g1 = int(offs[i]), int(offs[i + 1])
        n = int(df[o])
        pc = np.array([bin(x).count("1") for x in masks])
        for g in range(g0, g1):
            if g % args.every:
                continue
            b = g - g0
            c = BLOCK if g < g1 - 1 else n - BLOCK * (g1 - g0 - 1)
            at = a + int(pos[g])
            end_block = a + int(pos[g + 1]) if g + 1 < g1 else a + int(ln[o])
            sampled_bytes += end_block - at
            sampled_posts += c
            if c == 1:
                acc["tail1"] += end_block - at
                continue
            data_b = data[at:end_block].tobytes()
            p, h, nb, ex, gaps = stream(data_b, 0, c, args.packed_exceptions)
            streams = [gaps]
            acc["gap_head"] += h
            acc["gap_bits"] += nb
            acc["gap_exc"] += ex
            gap_widths[data_b[0] & 63] += 1
            if len(masks) >= 2:
                p2, h, nb, ex, codes = stream(data_b, p, c, True)
                acc["code_head"] += h
                acc["code_bits"] += nb
                acc["code_exc"] += ex
                ntf = int(pc[codes].sum())
                p = p2
                streams.append(codes)
            else:
                ntf = int(pc[0]) * c
            tf_widths[data_b[p] & 63] += 1
            p3, h, nb, ex, tfs = stream(data_b, p, ntf, args.packed_exceptions)
            streams.append(tfs)
            if args.packed_exceptions:
                for vals in streams:
                    t, q = best_bytes(vals)
                    layouts["vint_best"] += t
                    layouts["packed_best"] += q
            acc["tf_head"] += h
            acc["tf_bits"] += nb
            acc["tf_exc"] += ex
            assert p3 == len(data_b), (o, b, p3, len(data_b))
    long_bytes = out["df>128"]["bytes"]
    long_posts = out["df>128"]["postings"]
    scale = (long_bytes - table_bytes) / max(sampled_bytes, 1)
    est = {k: v * scale for k, v in acc.items()}
    out["long"] = {"mask_tables": table_bytes, "sampled_blocks_bytes": sampled_bytes, "scale": scale,
                   "estimated_bytes": {k: round(v) for k, v in est.items()},
                   "gap_widths": gap_widths.tolist(), "tf_widths": tf_widths.tolist()}
    print(f"{src}: {len(df):,} terms, {n_post:,} postings, {total / 1e6:,.1f} MB "
          f"({8 * total / n_post:.2f} bits a posting)")
    for k in ("df=1", "df 2-128", "df>128"):
        v = out[k]
        print(f"  {k:<9} {v['lists']:>12,} lists {v['postings']:>15,} postings {v['bytes'] / 1e6:>10.1f} MB "
              f"({8 * v['bytes'] / max(v['postings'], 1):.2f} bits a posting)")
    print(f"  long lists by stream (every {args.every}th block parsed, scaled x{scale:.1f}):")
    print(f"    {'mask tables':<14}{table_bytes / 1e6:>10.1f} MB {8 * table_bytes / long_posts:>6.2f} bits a posting")
    for k in ("gap", "code", "tf"):
        b = est[k + "_head"] + est[k + "_bits"] + est[k + "_exc"]
        print(f"    {k + 's':<14}{b / 1e6:>10.1f} MB {8 * b / long_posts:>6.2f} bits a posting "
              f"(headers {est[k + '_head'] / 1e6:.1f}, packed {est[k + '_bits'] / 1e6:.1f}, "
              f"exceptions {est[k + '_exc'] / 1e6:.1f})")
    print(f"    {'1-posting tails':<14}{est['tail1'] / 1e6:>10.1f} MB")
    if args.packed_exceptions:
        multi = sampled_bytes - acc["tail1"]                 # the blocks whose streams were costed
        out["long"]["layouts"] = {k: round(v * scale) for k, v in layouts.items()}
        print(f"    the same blocks' streams, parsed {multi * scale / 1e6:,.1f} MB; at their best Width with "
              f"format 10's VInt exceptions {layouts['vint_best'] * scale / 1e6:,.1f} MB, with format 11's "
              f"packed exceptions {layouts['packed_best'] * scale / 1e6:,.1f} MB")
    print(f"    docgap widths (blocks): {dict((w, int(c)) for w, c in enumerate(gap_widths) if c)}")
    print(f"    tf widths (blocks): {dict((w, int(c)) for w, c in enumerate(tf_widths) if c)}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
