"""build: the one module that knows the whole pipeline, and runs it on worker processes
(``workers.py``: the pool, signals, how blocks reach a worker).

    dump -> blocks -> [worker: parse -> analyze -> invert -> segment] -> redirects, in-links
         -> merge -> publish (temp dir, fsync, rename; manifest.json last)

The work on one block is :func:`build_block`, a pure function of (block bytes, settings) ->
segment files, so any executor can run it: the local process pool (``workers.py``) by default, or
a Dask cluster (``cluster.py``: ``build_index(..., scheduler="tcp://host:8786")``) whose workers
see the dump and the output under the same paths. Completed blocks survive a kill: running the
same command again resumes after them.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Executor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from wikisearch import __version__
from wikisearch.analysis.analyzer import Analyzer
from wikisearch.cluster import ClusterExecutor, connect, killed_worker_error
from wikisearch.config import FIELDS, N_FIELDS, BuildConfig, RankConfig, parse_size
from wikisearch.errors import CorruptIndexError, DiskError, DumpFormatError, WikisearchError, disk_error
from wikisearch.fileio import fsync_dir, kill_point, sniff_compression, write_json_atomic
from wikisearch.index.blockmax import FILE as BLOCKS_FILE, write_block_maxima
from wikisearch.index.invert import invert_texts
from wikisearch.index.links import (
    build_alias_segments, count_inlinks, link_lookups, read_alias_pieces, read_redirect_sources,
    redirect_targets, resolve_looked_up, slice_alias_table, title_lookups, write_alias_table_of,
    write_links, write_redirects)
from wikisearch.index.manifest import FORMAT_VERSION, SHARDS_FILE, make_manifest
from wikisearch.index.publish import publish, recover
from wikisearch.index.merge import merge_range, plan_ranges_of, release_free_memory
from wikisearch.index.segment import (
    DocColumns, DocTable, SegmentReader, TermWriter, assemble_parts, write_docs, write_docs_columns)
from wikisearch.index.store import encode_doc, merge_stores, shipped_dictionary, shipped_words, write_store
from wikisearch.index.strings import StringTable
from wikisearch.ingest.dump import Block, Dump, SiteInfo, pages_from_block
from wikisearch.ingest.parse import field_texts, parse_plaintext, parse_wikitext
from wikisearch.jit import (BUILD_KERNELS, SEARCH_KERNELS, cold_groups, cold_kernels,
                            compile_jobs, interpreting, precompile)
from wikisearch.workers import (  # noqa: F401 (BuildInterrupted: part of the build API)
    BuildInterrupted, StopOnSignals, available_cores, drop_shared, kill_pool, share_block, shm_room,
    take_block, worker_pool)

from wikisearch.analysis import _analyze_kernels
from wikisearch.index import _codec_kernels, _invert_kernels, _merge_kernels, _termdict_kernels

#: The kernels each phase runs (their first run on a machine compiles them: see _note_cold).
_BLOCK_KERNELS = (_analyze_kernels, _invert_kernels, _codec_kernels, _termdict_kernels)
_MERGE_KERNELS = (_merge_kernels,)

DEFAULT_INDEX = "wikisearch-index"
INDEX_FILES = ["terms.bin", "postings.bin", "docs.bin", "store.bin"]


# --------------------------------------------------------------------------------------------
# one block: a pure function of its bytes and the settings
# --------------------------------------------------------------------------------------------
_ANALYZERS: dict[str, Analyzer] = {}


def _analyzer(spec: dict) -> Analyzer:
    key = json.dumps(spec, sort_keys=True)
    if key not in _ANALYZERS:
        _ANALYZERS[key] = Analyzer.from_json(spec)
    return _ANALYZERS[key]


_SITEINFOS: dict[str, SiteInfo] = {}


def _siteinfo(spec: dict) -> SiteInfo:
    """One ``SiteInfo`` per dump in a worker (as :func:`_analyzer`): the link-target cache of its
    ``Site`` (``wikitext.site_for``, keyed by the object) then serves every block, where a new
    object per block made a new ``Site`` per block, up to 64 of them with their caches (a 16x
    build's workers grew by ~5 MB a block, to ~0.4 GB each)."""
    key = json.dumps(spec, sort_keys=True)
    got = _SITEINFOS.get(key)
    if got is None:
        if len(_SITEINFOS) >= 8:
            _SITEINFOS.clear()
        got = _SITEINFOS[key] = SiteInfo.from_json(spec)
    return got


def _page_texts(page, fmt: str, siteinfo: SiteInfo):
    if fmt == "mediawiki":
        fields = parse_wikitext(page.text, page.title, siteinfo)
    else:
        fields = parse_plaintext(page.text, page.title)
    texts = field_texts(fields)
    return [texts.get(name, "") for name in FIELDS], fields.links


#: Documents a forward-index task takes (``forward_range``; its words, ~0.8 KB a document, are
#: held until written).
FORWARD_TASK_DOCS = 8192


def forward_range(final: str, analyzer: dict, lo: int, hi: int, out: str) -> np.ndarray:
    """``forward.bin``'s records of documents ``lo:hi`` of the merged index in ``final`` (its
    stored prefixes analysed again, their terms as the merged dictionary's ordinals), their words
    written to ``out``; returns each record's words (``search.proximity.forward_records``)."""
    from wikisearch.search.proximity import forward_records   # (what a block's worker needs not)
    reader = SegmentReader(final, store=True)
    try:
        sizes, words = forward_records(reader, _analyzer(analyzer), lo, hi)
    finally:
        reader.close()
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(memoryview(words).cast("B") if words.nbytes else b"")
    os.replace(tmp, out)
    return sizes


def build_block(data: bytes, block: Block, ctx: dict, out_dir: str) -> dict:
    """Parse, analyze and invert one block's pages; write its segment to ``out_dir``.

    ``ctx`` holds JSON-able settings: siteinfo, format, namespaces, analyzer, codec, store_text,
    store_language (whose shipped zstd dictionary compresses the stored text).
    """
    siteinfo = _siteinfo(ctx["siteinfo"])
    namespaces = set(ctx["namespaces"])
    out = Path(out_dir)
    # (host and pid: on a cluster, a task retried after a lost worker may overlap the first try)
    tmp = out.with_name(out.name + f".tmp{socket.gethostname()}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    page_ids, titles, texts, stored, redirects = [], [], [], [], []
    links: collections.Counter = collections.Counter()
    n_pages = 0
    for page in pages_from_block(data, block, siteinfo, ctx["format"]):
        n_pages += 1
        if page.ns not in namespaces:
            continue
        if page.redirect:
            redirects.append((page.title, page.redirect))
            continue
        try:
            doc_texts, page_links = _page_texts(page, ctx["format"], siteinfo)
        except RecursionError:  # pathological nesting: keep the page findable by title
            doc_texts, page_links = [page.title] + [""] * (N_FIELDS - 1), []
        page_ids.append(page.page_id)
        titles.append(page.title)
        texts.extend(doc_texts)
        links.update(set(page_links))   # in-links count linking pages, not link occurrences
        if ctx["store_text"]:
            stored.append(encode_doc(doc_texts))
    n_docs = len(titles)
    postings = invert_texts(texts, n_docs, _analyzer(ctx["analyzer"]))
    del texts
    writer = TermWriter(tmp, ctx["codec"])
    writer.add_many(postings.terms, postings.post_offsets, postings.docids, postings.masks, postings.tfs)
    stats = writer.close()
    # (a block's titles stay plain: the merge reads them once, and codes the merged index's)
    write_docs(tmp / "docs.bin", DocTable(np.asarray(page_ids, np.int64), titles, postings.field_lengths),
               code_titles=False)
    if ctx["store_text"]:
        write_store(tmp / "store.bin", stored, shipped_dictionary(ctx["store_language"]),
                    words=shipped_words(ctx["store_language"]))
    write_redirects(tmp / "redirects.bin", redirects)
    write_links(tmp / "links.bin", links)
    summary = {"block": block.index, "start": block.start, "end": block.end, "bytes": len(data),
               "pages": n_pages, "docs": n_docs, "redirects": len(redirects), **stats}
    write_json_atomic(tmp / "segment.json", summary)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    fsync_dir(out.parent)
    return summary


def warm_worker(codec: str) -> None:
    """Start a worker and load the block kernels (tokenizer, inverter, codec, dictionary) while
    the main process reads the first block: a pool starts its processes only on demand."""
    import tempfile
    postings = invert_texts(["warm up 日本"] + [""] * (N_FIELDS - 1), 1, Analyzer())
    with tempfile.TemporaryDirectory() as tmp:
        w = TermWriter(Path(tmp), codec)
        w.add_many(postings.terms, postings.post_offsets, postings.docids, postings.masks, postings.tfs)
        w.close()


def warm_merge_worker() -> None:
    """Load the merge's kernels in a worker that has no block left to do."""
    from wikisearch.index.merge import warmup
    warmup()


def _concat_columns(readers, offsets: str, blob: str) -> StringTable:
    """One string table of every reader's ``docs.bin`` strings (``offsets``/``blob``), filled in
    place (``StringTable.fill``): each reader's arrays are read in turn and dropped."""
    n = size = 0
    for r in readers:
        o = r.docs_c[offsets]
        n, size = n + len(o) - 1, size + int(o[-1]) - int(o[0])
        del o
        r.docs_c.forget()

    def parts():
        for r in readers:
            yield r.docs_c[offsets], r.docs_c[blob]
            r.docs_c.forget()
    return StringTable.fill(n, size, parts())


def _doc_columns(readers, alias_table: Path, lo: int, alias_lengths: np.ndarray, inlinks: np.ndarray,
                 title_order: np.ndarray) -> DocColumns:
    """The merged ``docs.bin``'s columns, read a block's at a time from the block segments (page
    ids, titles, field lengths with the redirect field's from ``alias_lengths``) and from
    ``alias_table`` (the redirect titles of documents ``lo..``; ``aliases.bin``)."""
    slot = FIELDS.index("redirect")

    def each(column):
        def make():
            at = 0
            for r in readers:
                piece = column(r, at)
                at += r.n_docs
                yield piece
                r.docs_c.forget()
        return make

    def lengths(r, at):
        fl = np.array(r.field_lengths, np.uint32)        # (a block's may be uint16)
        fl[:, slot] = alias_lengths[at:at + r.n_docs]
        return fl
    n = len(alias_lengths)
    return DocColumns(n, each(lambda r, _at: r.page_ids), each(lengths),
                      each(lambda r, _at: r.title_column()),
                      lambda: read_alias_pieces(alias_table, lo, lo + n), inlinks, title_order)


def _field_lengths(readers, n_docs: int) -> np.ndarray:
    """Every document's field lengths (uint32[n_docs, N_FIELDS]), filled reader by reader."""
    out = np.zeros((n_docs, N_FIELDS), np.uint32)
    at = 0
    for r in readers:
        fl = r.field_lengths
        out[at:at + len(fl)] = fl
        at += len(fl)
        r.docs_c.forget()
    return out


def alias_segment_job(alias_table: str, analyzer_spec: dict, path: str, codec: str) -> tuple:
    """:func:`~wikisearch.index.links.build_alias_segments` of the redirect titles in
    ``alias_table`` (``aliases.bin``) with the block workers' analyzer: (redirect-field lengths,
    the segments' paths)."""
    return build_alias_segments(Path(alias_table), _analyzer(analyzer_spec), path, codec)


def build_shared_block(src, block: Block, ctx: dict, out_dir: str) -> dict:
    """:func:`build_block` of a block passed by :func:`_share_block` (run on a worker)."""
    return build_block(take_block(src), block, ctx, out_dir)


# --------------------------------------------------------------------------------------------
# the whole build
# --------------------------------------------------------------------------------------------
def _input_identity(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        if p == "-":
            out.append({"path": "-"})
            continue
        st = os.stat(p)
        out.append({"path": os.path.abspath(p), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


class _Progress:
    """A tqdm bar over compressed input bytes, with pages/s and MB/s of XML in the postfix."""

    def __init__(self, enabled: bool, total: int | None):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                            desc="indexing", dynamic_ncols=True, smoothing=0.1)
        self.t0 = time.perf_counter()
        self.pages = 0
        self.xml = 0
        self.pos = 0

    def advance(self, position: int | None, pages: int = 0, xml: int = 0) -> None:
        self.pages += pages
        self.xml += xml
        if self.bar is None:
            return
        if position is not None and position > self.pos:
            self.bar.update(position - self.pos)
            self.pos = position
        dt = max(1e-9, time.perf_counter() - self.t0)
        self.bar.set_postfix_str(f"{self.pages / dt:,.0f} pages/s, {self.xml / dt / 1e6:,.1f} MB/s",
                                 refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Builder:
    """Runs (or resumes) one build; see :func:`build_index`."""

    def __init__(self, inputs: list[str], out_dir, config: BuildConfig, rank: RankConfig,
                 progress: bool, threads: int | None, executor: Executor | None = None,
                 shards: int = 1):
        if not inputs:
            raise WikisearchError("no input dump given")
        self.inputs = [str(p) for p in inputs]
        for p in self.inputs:
            if p != "-" and not os.path.exists(p):
                raise WikisearchError(f"input not found: {p}")
        self.out = Path(os.path.abspath(out_dir))    # not resolve(): ``out`` may be a link
        self.work = self.out.parent / f".{self.out.name}.building"
        self.config = config
        self.rank = rank
        self.progress = progress
        self.threads = threads
        self.warnings: list[str] = []
        self.pool: Executor | None = None   # set by run(): workers > 1, or the caller's executor
        self._search_jobs: list = []        # set by run(): first run, the search kernels to compile
        self._compiling: list = []          # their futures on the pool
        self._rested = False                # the pool shut during _links, to start again for the merge
        #: a cluster or other executor of the caller's (not shut down here), else None
        self.executor = executor
        self.shards = int(shards)
        if self.shards < 1:
            raise WikisearchError(f"--shards must be at least 1, not {shards}")
        self.n_workers = executor.workers if isinstance(executor, ClusterExecutor) else config.workers
        try:
            self.block_bytes = config.effective_block_bytes()
        except ValueError as e:
            raise WikisearchError(str(e)) from None
        self.page_limit_bytes = self.block_bytes    # _max_page: the plan's, whatever the cuts
        self.block_bytes = self._small_job_block_bytes()

    # --- state and resume ----------------------------------------------------------------------
    def _state(self) -> dict:
        return {"format_version": FORMAT_VERSION, "library_version": __version__,
                "inputs": _input_identity(self.inputs), "settings": self.config.identity(),
                "block_bytes": self.block_bytes, "rank": self.rank.to_json()}

    def _prepare_workdir(self) -> set[int]:
        """Create or reuse the work directory; return the indexes of blocks already done."""
        state = self._state()
        state_path = self.work / "state.json"
        resumable = "-" not in self.inputs
        if resumable and state_path.exists():
            try:
                old = json.loads(state_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
            if old is not None and old.get("block_bytes") and old != state:
                # same inputs and settings but a different worker count: keep the old cuts
                candidate = dict(state, block_bytes=old["block_bytes"])
                if candidate == old:
                    self.block_bytes, state = old["block_bytes"], old
            if old == state:
                return self._done_blocks()
        shutil.rmtree(self.work, ignore_errors=True)
        (self.work / "blocks").mkdir(parents=True)
        write_json_atomic(state_path, state)
        return set()

    def _done_blocks(self) -> set[int]:
        done = set()
        for d in (self.work / "blocks").iterdir():
            if ".tmp" in d.name:
                shutil.rmtree(d, ignore_errors=True)
            elif d.name.isdigit() and (d / "segment.json").exists():
                if all((d / f).exists() for f in self._block_files()):
                    done.add(int(d.name))
                else:       # a file lost since: build that block again
                    shutil.rmtree(d, ignore_errors=True)
        for name in ("final", "merge", "links"):
            shutil.rmtree(self.work / name, ignore_errors=True)
        return done

    def _block_files(self) -> list[str]:
        """The files every finished block segment has."""
        return ["terms.bin", "postings.bin", "docs.bin", "redirects.bin", "links.bin"] + \
            (["store.bin"] if self.config.store_text else [])

    # --- the block phase -----------------------------------------------------------------------
    def _context(self, dump: Dump) -> dict:
        lang = self.config.language or dump.siteinfo.lang or "en"
        analyzer = Analyzer.for_language(lang, stem=self.config.stem, stopwords=self.config.stopwords)
        return {"siteinfo": dump.siteinfo.to_json(), "format": dump.format,
                "namespaces": list(self.config.namespaces), "analyzer": analyzer.to_json(),
                "codec": self.config.codec, "store_text": self.config.store_text, "store_language": lang}

    def _blocks(self, done: set[int], prog: _Progress):
        """Yield (global block number, block, bytes, ctx) for the blocks still to do."""
        number = 0
        self._input_base = 0
        for path in self.inputs:
            with Dump(path, threads=self.threads) as dump:
                self._last_dump = dump
                if number == 0:
                    self.siteinfo = dump.siteinfo
                    self.ctx = self._context(dump)
                ctx = dict(self.ctx, format=dump.format)
                try:
                    for block, data in dump.blocks(self._file_block_bytes(dump), self._max_page()):
                        if number not in done:
                            yield number, block, data, ctx
                        else:
                            prog.advance(self._position())
                        number += 1
                except DumpFormatError as e:
                    if not self.config.allow_truncated:
                        raise
                    # every whole page before the damage was delivered and is indexed
                    self.warnings.append(f"{e}: indexed the whole pages before it")
                finally:
                    self.warnings.extend(dump.skipped)
            self._input_base += os.path.getsize(path) if path != "-" else 0
        self.n_blocks = number

    def _position(self) -> int | None:
        """Input bytes consumed so far over all the inputs (the progress bar's position): the
        inputs before the current one, whole, and the current one's compressed position."""
        p = self._last_dump.compressed_position()
        return None if p is None else self._input_base + p

    def _max_page(self) -> int:
        """The page size limit: the configured one, and never more than a block planned from
        ``--memory``, so that a block stays within what it planned for (at most two blocks'
        bytes). A block size given explicitly does not lower it."""
        limit = self.config.max_page_bytes
        return min(limit, self.page_limit_bytes) if limit and not self.config.block_bytes else limit

    def _small_job_block_bytes(self) -> int:
        """The block size: as planned, but in a small job whose kernels run as Python
        (``jit.interpreting``) about the input's share per worker (guessing 4 bytes of XML per
        byte of a compressed input), so that every worker builds a block rather than one
        building the only block for seconds (the bundled sample: 1.5 MB of XML, one block
        otherwise). Where the blocks are cut changes no byte of the index."""
        if not interpreting() or self.n_workers < 2 or self.config.block_bytes or "-" in self.inputs:
            return self.block_bytes
        total = 0
        try:
            for path in self.inputs:
                with open(path, "rb") as f:
                    total += (1 if sniff_compression(f.read(8)) is None else 4) * os.fstat(f.fileno()).st_size
        except OSError:
            return self.block_bytes                     # the build says what is wrong
        share = -(-total // self.n_workers)
        return int(min(self.block_bytes, max(256 << 10, share)))

    def _file_block_bytes(self, dump: Dump) -> int:
        """Block size for one input: a plain file is cut into equal blocks of at most
        ``block_bytes`` (102 MB -> 2 x 51, not 66 + 36), so the workers finish together."""
        size = dump.input_bytes if dump.blocks_are_file_ranges else None
        if not size or size <= self.block_bytes:
            return self.block_bytes
        return -(-size // -(-size // self.block_bytes))

    def _run_blocks(self, done: set[int]) -> list[dict]:
        total = sum(os.path.getsize(p) for p in self.inputs if p != "-") or None
        prog = _Progress(self.progress, total)
        summaries = []
        try:
            if self.pool is None:
                for number, block, data, ctx in self._blocks(done, prog):
                    s = build_block(data, block, ctx, str(self.work / "blocks" / f"{number:06d}"))
                    summaries.append(s)
                    kill_point(f"block:{len(summaries)}")
                    prog.advance(self._position(), s["pages"], s["bytes"])
            else:
                self._run_pool(done, prog, summaries)
        finally:
            prog.close()
        return summaries

    def _run_pool(self, done: set[int], prog: _Progress, summaries: list) -> None:
        workers = self.n_workers
        room = self.executor is None and shm_room(4 * (workers + 2) * self.block_bytes)
        pending: dict = {}
        try:
            for number, block, data, ctx in self._blocks(done, prog):
                while len(pending) > workers:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        del pending[f]
                    self._collect(finished, prog, summaries)
                out = str(self.work / "blocks" / f"{number:06d}")
                src = self._share(data, block, room)
                del data
                pending[self.pool.submit(build_shared_block, src, block, ctx, out)] = src
            # workers without a block: the search kernels (first run), then the merge's loaded
            if self._search_jobs and self.progress:
                print("\nthe workers compile the search kernels after the last blocks (first run "
                      "only) ...", file=sys.stderr, flush=True)
            self._compiling = [self.pool.submit(compile_jobs, g) for g in self._search_jobs]
            if not self._rests_pool():     # (a pool shut before the merge needs no warm-up)
                for _ in range(workers):
                    self.pool.submit(warm_merge_worker)
            finished, _ = wait(pending)
            self._collect(finished, prog, summaries)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                self._kill_pool()         # stop now: every block in flight is dropped
            for f, src in pending.items():
                if f.cancel() or f.done():
                    drop_shared(src)     # never reached a worker, or its worker died
            raise

    def _share(self, data: bytes, block: Block, room: bool):
        """How a block reaches its task: a byte range of a plain input file (the worker reads
        it; on a cluster the file must be on storage every worker sees), else shared memory on
        this machine, or the bytes themselves (on a cluster, scattered to a worker's memory)."""
        if isinstance(self.executor, ClusterExecutor) and not self._last_dump.blocks_are_file_ranges:
            return ("bytes", self.executor.scatter(data))
        return share_block(data, block, self._last_dump, room)

    def _collect(self, finished, prog: _Progress, summaries: list) -> None:
        for f in finished:
            s = f.result()
            summaries.append(s)
            kill_point(f"block:{len(summaries)}")
            prog.advance(self._position(), s["pages"], s["bytes"])

    # --- the merge phase -----------------------------------------------------------------------
    def _finalize(self) -> Path:
        blocks = [self.work / "blocks" / f"{k:06d}" for k in range(self.n_blocks)]
        readers = []
        try:
            for b in blocks:
                readers.append(SegmentReader(b, verify=True, sparse=True, store=self.config.store_text))
        except CorruptIndexError as e:
            for r in readers:
                r.close()
            raise CorruptIndexError(e.path, f"{e.reason}; a finished block of the build is damaged: "
                                    f"remove {Path(e.path).parent} and run the same command again "
                                    "to rebuild that block", expected=e.expected, found=e.found) from None
        try:
            links = self._links(readers, blocks)
            if self.shards == 1:
                links["n_redirects"] = len(links.pop("targets"))
                links["aliases"] = (links["aliases"], 0)
                return self._merge(readers, blocks, links, self.work / "final", last=True)
            return self._merge_shards(readers, blocks, links)
        finally:
            for r in readers:
                r.close()

    def _links(self, readers: list[SegmentReader], blocks: list[Path]):
        """Title order, redirect aliases and in-links of every document (docids of the whole
        build), and the target docid of every redirect (a dict: ``n_docs``, ``title_order``,
        ``aliases`` (the path of ``aliases.bin``: each document's redirect titles), ``inlinks``,
        ``targets``, which the merge takes out and drops as it is done with each). Every title
        and redirect lives in numpy tables (``StringTable``): no Python object per document or
        redirect. Every lookup of a title (redirect sources and targets, linked titles) is done
        first, a block's table at a time, and the titles dropped before the redirect titles are
        read and resolved: the two tables never share the memory (the merged ``docs.bin`` reads
        the titles again from the blocks, a block at a time)."""
        work = self.work / "links"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        if self._rests_pool():     # the idle workers' memory goes while this process works alone
            self._close_pool()
            self._rested = True
        titles = _concat_columns(readers, "title_offsets", "title_blob")
        n_docs = len(titles)
        title_ids = titles.sorted_ids()
        paths = [b / "redirects.bin" for b in blocks]
        # every lookup of a title first (a block's table at a time), then the titles go: the
        # redirect titles and their resolution never share the memory with them
        src_is_doc, dst_doc = title_lookups(titles, title_ids, paths)
        link_docs = link_lookups(blocks, titles, title_ids, work)
        del titles
        title_order = title_ids.astype(np.int32)
        del title_ids
        release_free_memory()
        src = read_redirect_sources(paths)
        redirects = resolve_looked_up(src, src_is_doc, dst_doc, redirect_targets(paths))
        del src, src_is_doc, dst_doc
        inlinks = count_inlinks(blocks, link_docs, redirects, n_docs)
        write_alias_table_of(work / "aliases.bin", redirects, n_docs)
        targets = redirects.docids.astype(np.int32)
        del redirects
        release_free_memory()
        return {"n_docs": n_docs, "title_order": title_order, "aliases": work / "aliases.bin",
                "inlinks": inlinks, "targets": targets}

    def _merge_shards(self, readers, blocks, links: dict) -> Path:
        """``--shards N``: N indexes of consecutive runs of blocks with about equal document
        counts (so each shard holds a range of the dump: of page ids, in Wikipedia's dumps),
        redirects and in-links resolved over all of them, and ``shards.json`` listing them."""
        counts = np.asarray([r.n_docs for r in readers], np.int64)
        if len(readers) < self.shards:
            raise WikisearchError(f"--shards {self.shards} needs at least {self.shards} dump blocks, "
                                  f"but the input made {len(readers)}: give a smaller --block-size")
        order, aliases, inlinks, targets = (links[k] for k in ("title_order", "aliases", "inlinks", "targets"))
        cum = np.concatenate([[0], np.cumsum(counts)])
        cuts = [0]
        for s in range(1, self.shards):     # the block boundary nearest s/N of the documents
            b = int(np.argmin(np.abs(cum - cum[-1] * s / self.shards)))
            cuts.append(min(max(b, cuts[-1] + 1), len(readers) - (self.shards - s)))
        cuts.append(len(readers))
        final = self.work / "final"
        shutil.rmtree(final, ignore_errors=True)
        final.mkdir()
        names = []
        for s in range(self.shards):
            a, b = cuts[s], cuts[s + 1]
            lo, hi = int(cum[a]), int(cum[b])
            names.append(f"shard-{s:03d}")
            # the shard's title order: the whole order's documents of the shard (a stable order)
            part = {"n_docs": hi - lo, "title_order": (order[(order >= lo) & (order < hi)] - lo).astype(np.int32),
                    "aliases": (aliases, lo), "inlinks": inlinks[lo:hi],
                    "n_redirects": int(((targets >= lo) & (targets < hi)).sum())}
            self._merge(readers[a:b], blocks[a:b], part, final / names[-1], last=s == self.shards - 1)
        write_json_atomic(final / SHARDS_FILE, {"format": "wikisearch-shards", "shards": names,
                                                "documents": [int(cum[cuts[s + 1]] - cum[cuts[s]])
                                                              for s in range(self.shards)]})
        return final

    def _merge(self, readers: list[SegmentReader], blocks: list[Path], links: dict, final: Path,
               last: bool) -> Path:
        """One index in ``final`` from ``blocks`` (all of them, or one shard's run); ``links``:
        its documents' ``n_docs``, ``title_order``, ``aliases`` (``aliases.bin`` and the first
        document's number in it), ``inlinks`` and ``n_redirects``, taken out of the dict so
        that each goes as soon as it is written. Per document, the main process holds the
        title order and in-links (to write) and the redirect field's lengths; the document
        table is written a block at a time (:func:`_doc_columns`), and the field lengths are
        read whole only for the block maxima."""
        scratch = self.work / "merge"
        for d in (final, scratch):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
        n_docs = links.pop("n_docs")
        n_redirects = links.pop("n_redirects")
        table, lo = links.pop("aliases")
        if self._rested and self.pool is None:     # a fresh pool for the merge (see _rests_pool)
            self.pool = worker_pool(self.config.workers)
            self._rested = False
        if self.shards > 1:     # the shard's documents' redirect titles, numbered from 0
            slice_alias_table(table, scratch / "aliases.bin", lo, lo + n_docs)
            table, lo = scratch / "aliases.bin", 0
        # on a worker when there is a pool: its analyzer and kernels are loaded already
        alias_lengths, alias_dirs = self._run(alias_segment_job, str(table),
                                              self.ctx["analyzer"], str(scratch / "alias"), self.config.codec)
        doc_bases = np.cumsum([0] + [r.n_docs for r in readers])[:-1].tolist()
        stats = self._merge_postings(blocks, doc_bases, alias_dirs, scratch, final, last)
        if last:
            wait(self._compiling)  # (first run: the search kernels, compiled by now)
            self._close_pool()   # the workers' memory goes before the document table is written
        totals = np.zeros(N_FIELDS, np.uint64)
        for r in readers:
            totals += r.field_lengths.sum(axis=0, dtype=np.uint64)
            r.docs_c.forget()
        totals[FIELDS.index("redirect")] = alias_lengths.sum(dtype=np.uint64)
        # (what lengths.mean(axis=0, dtype=float64) gives: the sums are exact in float64)
        stats["avg_field_lengths"] = (totals.astype(np.float64) / n_docs if n_docs else
                                      np.zeros(N_FIELDS)).tolist()
        total_field_lengths = totals.tolist()
        write_docs_columns(final / "docs.bin", _doc_columns(
            readers, table, lo, alias_lengths, links.pop("inlinks"), links.pop("title_order")))
        release_free_memory()
        lengths = _field_lengths(readers, n_docs)
        lengths[:, FIELDS.index("redirect")] = alias_lengths
        del alias_lengths
        self._write_block_maxima(final, lengths, stats["avg_field_lengths"])
        del lengths
        release_free_memory()
        suggest_file = self._write_suggest_table(final)
        release_free_memory()
        files = ["terms.bin", "postings.bin", "docs.bin", BLOCKS_FILE, suggest_file]
        if self.config.store_text:
            merge_stores([r.store_c for r in readers], final / "store.bin")
            files.append("store.bin")
            if self.config.forward:
                files.append(self._write_forward(final, scratch, n_docs))
        shutil.rmtree(scratch, ignore_errors=True)
        inputs = [{"name": os.path.basename(p), "bytes": (os.path.getsize(p) if p != "-" else None)}
                  for p in self.inputs]
        manifest = make_manifest(
            final, files, library_version=__version__, codec=self.config.codec, fields=FIELDS,
            rank=self.rank.to_json(), analyzer=self.ctx["analyzer"], siteinfo=self.ctx["siteinfo"],
            settings=self.config.identity(), inputs=inputs, stats=stats, n_docs=n_docs,
            n_redirects=n_redirects, total_field_lengths=total_field_lengths,
            warnings=self.warnings)
        kill_point("merge:manifest")
        write_json_atomic(final / "manifest.json", manifest)
        return final

    def _write_block_maxima(self, final: Path, lengths: np.ndarray, avg: list) -> None:
        """``blocks.bin``: per-block data of the long lists, bounds under the index's ranking."""
        from wikisearch.search.blockmax import block_maxima_of   # (workers need no search kernels)
        merged = SegmentReader(final, sparse=True)     # (postings read in runs, never mapped)
        try:
            arrays = block_maxima_of(merged, lengths, np.asarray(avg, np.float64), self.rank,
                                     self.config.merge_chunk_bytes())
        finally:
            merged.close()
        write_block_maxima(final / BLOCKS_FILE, **arrays)

    def _write_forward(self, final: Path, scratch: Path, n_docs: int) -> str:
        """``forward.bin`` (``search/proximity.py``): the merged index's stored prose read again
        and analysed, each document's kept tokens as term ordinals, for the re-ranker's term
        proximity; ranges of documents on a pool of ``workers`` processes (the build's own pool is
        closed by now: a fresh one), or on the caller's executor; returns the file's name."""
        from wikisearch.search.proximity import FILE, write_forward     # (not in workers)
        merged = SegmentReader(final, store=False)
        terms = int(merged.n_terms)
        merged.close()
        jobs = [(str(final), self.ctx["analyzer"], lo, min(n_docs, lo + FORWARD_TASK_DOCS),
                 str(scratch / f"forward-{i:06d}.bin"))
                for i, lo in enumerate(range(0, n_docs, FORWARD_TASK_DOCS))]
        pool = self.executor if self.executor is not None else (
            worker_pool(self.config.workers) if self.config.workers > 1 and len(jobs) > 1 else None)
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=n_docs, desc="forward index", unit=" docs", unit_scale=True, dynamic_ncols=True)
        try:
            if pool is None:
                sizes = []
                for job in jobs:
                    sizes.append(forward_range(*job))
                    if bar is not None:
                        bar.update(job[3] - job[2])
            else:
                futures = [pool.submit(forward_range, *job) for job in jobs]
                for f in as_completed(futures):
                    f.result()
                    if bar is not None:
                        bar.update(len(f.result()))
                sizes = [f.result() for f in futures]
        finally:
            if bar is not None:
                bar.close()
            if pool is not None and pool is not self.executor:
                pool.shutdown(wait=True, cancel_futures=True)
        kill_point("merge:forward")
        write_forward(final / FILE, n_docs, terms, [(s, job[4]) for s, job in zip(sizes, jobs)])
        return FILE

    def _write_suggest_table(self, final: Path) -> str:
        """``suggest.bin``: the title-suggestion keys of the docs.bin just written, so that
        ``suggest`` and ``serve`` map them at start instead of making them (minutes and GBs at
        full scale); returns the file's name."""
        from wikisearch.popularity.suggest_table import FILE, write_suggest_table   # (not in workers)
        write_suggest_table(final / FILE, final / "docs.bin")
        return FILE

    def _rests_pool(self) -> bool:
        """Whether the build's own pool is shut while this process alone resolves the titles and
        redirects (:meth:`_links`, whose tables grow with the dump) and started afresh for the
        merge: its idle workers would hold the heaps of their last blocks beside those tables
        (a fresh worker costs a start and its kernels' load, ~1 s of CPU). Not a caller's
        executor (a cluster), and not on a first run, whose workers compile the search kernels
        meanwhile."""
        return self.pool is not None and self.pool is not self.executor and not self._search_jobs

    def _close_pool(self) -> None:
        if self.pool is None:
            return
        if self.pool is not self.executor:
            self.pool.shutdown(wait=True, cancel_futures=True)
        elif isinstance(self.pool, ClusterExecutor):
            self.pool.cancel_all()       # this build's tasks only: the cluster stays up
        self.pool = None

    def _run(self, fn, *args):
        """``fn(*args)`` on a worker when there is a pool (its kernels are loaded), else here."""
        return fn(*args) if self.pool is None else self.pool.submit(fn, *args).result()

    def _merge_postings(self, blocks: list[Path], doc_bases: list[int], alias_dirs: list[str],
                        scratch: Path, final: Path, last: bool = True) -> dict:
        """Merge the postings by term ranges, on the worker pool when there is one; the ranges'
        parts are then joined (``assemble_parts``) in this process, after the last merge has
        closed this build's own pool."""
        n_parts = 1 if self.pool is None else 2 * self.n_workers
        self._note_cold(_MERGE_KERNELS, "merge")
        ranges = self._run(plan_ranges_of, [str(b) for b in blocks] + list(alias_dirs), n_parts)
        jobs = [{"blocks": [str(b) for b in blocks], "doc_bases": doc_bases, "aliases": list(alias_dirs),
                 "codec": self.config.codec, "lo": lo, "hi": hi, "out": str(scratch / f"part{i:04d}"),
                 "chunk_bytes": self.config.merge_chunk_bytes()} for i, (lo, hi) in enumerate(ranges)]
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=len(jobs), desc="merging", unit=" ranges", dynamic_ncols=True)
        try:
            if self.pool is None:
                results = []
                for job in jobs:
                    results.append(merge_range(job))
                    kill_point(f"merge:{len(results)}")
                    if bar is not None:
                        bar.update(1)
            else:
                futures = [self.pool.submit(merge_range, job) for job in jobs]
                for n, f in enumerate(as_completed(futures), 1):
                    f.result()
                    kill_point(f"merge:{n}")
                    if bar is not None:
                        bar.update(1)
                results = [f.result() for f in futures]
        finally:
            if bar is not None:
                bar.close()
        kill_point("merge:assemble")
        if last and self.pool is not None and self.pool is not self.executor:
            # Joining the parts' dictionaries is the merge's largest step (+860 MiB on one worker
            # at 10.7M terms): run on the pool it had the other workers beside it, idle but
            # resident (full scale, --memory 2GB: the tree's peak, 1,931 MiB, over the budget).
            # The pool is not needed after it: closed first, the step runs here alone.
            wait(self._compiling)
            self._close_pool()
            release_free_memory()
        stats = self._run(assemble_parts, [Path(j["out"]) for j in jobs], final, self.config.codec)
        stats["field_postings"] = np.sum([r["field_postings"] for r in results], axis=0).tolist()
        return stats

    def _check_output(self) -> None:
        if self.out.exists() and not (self.out / "manifest.json").exists() and \
                not (self.out / SHARDS_FILE).exists() and any(self.out.iterdir()):
            raise WikisearchError(f"{self.out} exists and is not a wikisearch index; "
                                  "refusing to replace it (choose another -o)")

    def _publish(self, final: Path) -> None:
        """Swap the finished index into place in one atomic step (``index/publish.py``)."""
        self._check_output()
        publish(final, self.out)
        kill_point("publish:workdir")
        shutil.rmtree(self.work, ignore_errors=True)

    def _kill_pool(self) -> None:
        if self.pool is not None and self.pool is not self.executor:
            kill_pool(self.pool)
        elif isinstance(self.pool, ClusterExecutor):
            self.pool.cancel_all()
        self.pool = None

    def _interrupted(self, signum: int) -> BuildInterrupted:
        blocks = self.work / "blocks"
        n = sum(1 for d in blocks.iterdir() if (d / "segment.json").exists()) if blocks.is_dir() else 0
        name = signal.Signals(signum).name
        if "-" in self.inputs:
            how = "the input is stdin, so running it again starts over"
        else:
            how = (f"{n} finished block{'s' if n != 1 else ''} kept in {self.work}; "
                   "run the same command (or build_index call) again to resume")
        return BuildInterrupted(f"build stopped by {name}; {how}", signum)

    def run(self) -> Path:
        note = recover(self.out)
        if note:    # about the output path, not the index: not in the manifest's warnings
            print(f"Note: {note}", file=sys.stderr, flush=True)
        self._check_output()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        done = self._prepare_workdir()
        with StopOnSignals() as signals:
            try:
                if self.executor is not None:
                    self.pool = self.executor
                elif self.config.workers > 1:
                    self.pool = worker_pool(self.config.workers)
                self._precompile()
                self._search_jobs = self._search_groups()
                if self.pool is not None:
                    for _ in range(self.n_workers):
                        self.pool.submit(warm_worker, self.config.codec)
                self._note_cold(_BLOCK_KERNELS, "indexing")
                self._run_blocks(done)
                final = self._finalize()
            except BrokenProcessPool:
                raise WikisearchError(
                    "a worker process died (out of memory? try a smaller --memory or fewer "
                    "--workers); finished blocks are kept: run the same command again to resume"
                ) from None
            except Exception as e:
                # a task whose cluster workers kept dying: one line, like a dead local worker
                lost = killed_worker_error(e) if isinstance(self.executor, ClusterExecutor) else None
                if lost is None:
                    raise
                raise lost from None
            except KeyboardInterrupt as e:           # Ctrl-C, or SIGTERM (_StopOnSignals)
                self._kill_pool()
                raise self._interrupted(getattr(e, "signum", signal.SIGINT)) from None
            finally:
                self._close_pool()
            signals.defer()              # a signal now waits until the index is in place
            self._publish(final)
        return self.out

    def leftovers_note(self) -> str:
        """Say which unfinished builds keep disk space beside the output (their finished blocks
        stay for a resume until the same command completes, or someone removes them)."""
        found = []
        for d in sorted(self.out.parent.glob(".*.building")):
            size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
            found.append(f"{d} ({size / 1e6:,.1f} MB)")
        if not found:
            return ""
        return ("; unfinished builds keep blocks here for a resume: " + ", ".join(found) +
                " (rerun their command to finish them, or remove them)")

    def _precompile(self) -> None:
        """First run on a machine: compile the build's recorded kernels (``jit.BUILD_KERNELS``;
        none in a small job that runs the kernels as Python) in ``workers`` parallel
        processes before the work starts (``jit.precompile``): in the build's own worker pool,
        else (a cluster build) in a local one. The search kernels compile later in the build
        (:meth:`_search_groups`)."""
        n = min(self.config.workers, os.cpu_count() or 1)

        def say():
            if self.progress:
                print(f"compiling kernels in {n} processes (first run only; later runs load them "
                      "from numba's cache) ...", file=sys.stderr, flush=True)
        if interpreting():    # a small job on a cold cache: every kernel as Python
            return
        local = self.pool if self.pool is not None and self.pool is not self.executor else None
        precompile(BUILD_KERNELS, n, say=say, pool=worker_pool, executor=local)

    def _search_groups(self) -> list:
        """First run on a machine: the cold search kernels a first query runs
        (``jit.SEARCH_KERNELS``), in groups that the build's own workers compile once they have
        no block left to start (:meth:`_run_pool`), while this process alone reads the last
        blocks' links, so that the first query after the build compiles nothing. None in a
        small job that runs the kernels as Python (its query does too). [] on a cluster (a
        first query there compiles its kernels in parallel processes, as for any index built
        elsewhere) or without a pool."""
        if self.pool is None or self.pool is self.executor:
            return []
        n = min(self.config.workers, os.cpu_count() or 1)
        return [] if interpreting() else cold_groups(SEARCH_KERNELS, n)

    def _note_cold(self, modules, what: str) -> None:
        """Say so when the kernels about to run have to be compiled (first run on a machine):
        a minute at "0%" looks hung otherwise."""
        if self.progress and cold_kernels(modules):
            print(f"compiling {what} kernels (first run only; later runs load them from "
                  "numba's cache) ...", file=sys.stderr, flush=True)


def build_index(inputs, out_dir=DEFAULT_INDEX, *, workers: int = 1, memory="2GB",
                codec: str = "bitpacked", namespaces=(0,), language: str = "", block_bytes=0,
                store_text: bool = True, forward: bool = True, stem: bool = True, stopwords: bool = True,
                allow_truncated: bool = False, max_page_bytes=10_000_000,
                rank: RankConfig | None = None, progress: bool = False,
                threads: int | None = None, scheduler=None, executor: Executor | None = None,
                shards: int = 1) -> Path:
    """Index one or more dumps into ``out_dir``; returns its path.

    ``workers`` > 1 starts worker processes that import only wikisearch: a script, ``python -c``
    or a notebook may call this at top level, without an ``if __name__ == "__main__"`` guard.
    Ctrl-C (or SIGTERM) stops the build and its workers at once and raises
    :class:`BuildInterrupted`; finished blocks are kept, and the same call resumes after them.
    ``progress``: progress bars, and a note while the numba kernels compile (first run only).

    ``scheduler``: a Dask scheduler (``"tcp://host:8786"``, a ``distributed.Client`` or a
    ``LocalCluster``) whose workers run the blocks and the merge's term ranges instead of local
    processes; the inputs and ``out_dir`` must be on storage every worker sees under the same
    paths. ``executor``: a :class:`~wikisearch.cluster.ClusterExecutor` (or any
    ``concurrent.futures.Executor`` whose workers see the same files; ``workers`` tasks are kept
    in flight) to run them on. The index bytes are the same whatever runs the tasks.
    ``forward``: write ``forward.bin`` beside the stored text (term proximity for the re-ranker;
    without it ``rerank`` reads proximity from the stored text, ~25 ms a query more).
    ``shards`` > 1: ``out_dir`` holds that many indexes (consecutive runs of the dump, about equal
    document counts) and ``shards.json``; ``wikisearch.open(out_dir)`` searches them as one.

    >>> build_index(["enwiki-latest-pages-articles.xml.bz2"], "wikisearch-index", workers=2)  # doctest: +SKIP
    >>> build_index(["/nfs/enwiki.xml"], "/nfs/index", scheduler="tcp://10.0.0.1:8786")  # doctest: +SKIP
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if scheduler is not None and executor is not None:
        raise WikisearchError("give scheduler or executor, not both")
    owned = connect(scheduler) if scheduler is not None else None
    executor = owned or executor
    if isinstance(executor, ClusterExecutor):
        # --memory is each cluster worker's budget, shared by its threads' blocks (the block
        # size only; where blocks are cut changes no byte of the index)
        workers = executor.threads_per_worker
    config = BuildConfig(memory=parse_size(memory), workers=max(1, int(workers)),
                         block_bytes=parse_size(block_bytes), codec=codec,
                         namespaces=tuple(sorted(set(int(n) for n in namespaces))),
                         language=language, stem=stem, stopwords=stopwords, store_text=store_text,
                         forward=bool(forward),
                         allow_truncated=allow_truncated, max_page_bytes=parse_size(max_page_bytes))
    builder = None
    try:
        builder = Builder([str(p) for p in inputs], out_dir, config, rank or RankConfig(), progress,
                          threads, executor, shards)
        return builder.run()
    except OSError as e:
        where = f"the index {builder.out} or its work files in {builder.work}" if builder else str(out_dir)
        err = disk_error(e, where)
        if err is None:
            raise
        raise DiskError(f"{err}{builder.leftovers_note() if builder else ''}") from None
    finally:
        if owned is not None:
            owned.shutdown(cancel_futures=True)
