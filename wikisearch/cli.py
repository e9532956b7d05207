"""The command line: a thin click group; each command calls one library function.

Every failure wikisearch raises on purpose becomes one line, ``Error: ...``, and exit status 1.
"""
from __future__ import annotations

import json
import os
import sys

import click

from wikisearch import __version__
from wikisearch.errors import WikisearchError, disk_error
from wikisearch.fileio import json_safe, terminal_safe

DEFAULT_INDEX = "wikisearch-index"


def _default_index() -> str:
    return os.environ.get("WIKISEARCH_INDEX") or DEFAULT_INDEX


index_option = click.option(
    "-i", "--index", "index_dir", default=_default_index, show_default="$WIKISEARCH_INDEX or ./wikisearch-index",
    type=click.Path(file_okay=False), help="Index directory to read.")


indexes_option = click.option(
    "-i", "--index", "index_dirs", multiple=True, type=click.Path(file_okay=False),
    show_default="$WIKISEARCH_INDEX or ./wikisearch-index",
    help="Index directory to read; give it several times to search shards as one index.")


class _Group(click.Group):
    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), "embed"})

    def get_command(self, ctx, name):
        if name == "embed" and name not in self.commands:   # the dense extra's command, imported
            from wikisearch.dense.cli import embed_cmd       # when it runs or help lists it
            self.add_command(embed_cmd)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except WikisearchError as e:
            click.echo(f"Error: {terminal_safe(str(e))}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as e:       # Ctrl-C; a build also turns SIGTERM into this
            detail = str(e)
            click.echo(f"Interrupted: {detail}" if detail else "Interrupted.", err=True)
            sys.exit(128 + getattr(e, "signum", 2))
        except BrokenPipeError:
            sys.exit(0)
        except OSError as e:                  # disk full, read-only, no permission: one line
            err = disk_error(e)
            if err is None:
                raise
            click.echo(f"Error: {terminal_safe(str(err))}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wikisearch")
def main():
    """Search Wikipedia from its raw XML dumps on your own machine.

    \b
    wikisearch index enwiki-latest-pages-articles-multistream.xml.bz2
    wikisearch query "swedish furniture"
    wikisearch show IKEA
    """


@main.command("index")
@click.argument("dumps", nargs=-1, required=True)
@click.option("-o", "--output", default=DEFAULT_INDEX, show_default=True, type=click.Path(file_okay=False),
              help="Index directory to write (replaced atomically when the build succeeds).")
@click.option("-w", "--workers", default=None, type=click.IntRange(1, 256),
              show_default="every core this process may use",
              help="Worker processes parsing and inverting blocks in parallel (lower it to leave cores free).")
@click.option("-m", "--memory", default="2GB", show_default=True,
              help="Memory budget for the whole build (e.g. 512MB, 4GB); sets the block size.")
@click.option("--block-size", default="0", help="Override the block size (bytes of XML, e.g. 64MB).")
@click.option("--codec", type=click.Choice(["bitpacked", "varbyte"]), default="bitpacked", show_default=True)
@click.option("--namespaces", default="0", show_default=True,
              help="Comma-separated namespace numbers to index (0 = articles).")
@click.option("--language", default="", help="Analyzer language (ISO code); default: from <siteinfo>.")
@click.option("--no-store", is_flag=True, help="Do not keep document text (no snippets or phrase checks).")
@click.option("--no-forward", is_flag=True,
              help="Do not write forward.bin, each document's prose as term numbers (about as large as the "
                   "postings): `query --rerank` then reads term proximity from the stored text, ~25 ms a query more.")
@click.option("--allow-truncated", is_flag=True,
              help="If the dump is damaged or cut short, index every whole page before the damage "
                   "(and say so) instead of failing.")
@click.option("--max-page-size", default="10MB", show_default=True,
              help="Skip (and name) pages longer than this many bytes of XML; 0: no limit. Never "
                   "more than a block planned from --memory, so that it holds whatever the dump holds.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:8786",
              help="Run the blocks and the merge on this Dask cluster's workers (the cluster extra); "
                   "the dumps and -o must be on storage every worker sees under the same path.")
@click.option("--shards", default=1, show_default=True, type=click.IntRange(1, 4096),
              help="Write N indexes (consecutive runs of the dump) into -o; `query -i` searches them as one.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def index_cmd(dumps, output, workers, memory, block_size, codec, namespaces, language, no_store,
              no_forward, allow_truncated, max_page_size, scheduler, shards, quiet):
    """Index one or more dumps (.xml, .bz2, .gz, .xz, WikiExtractor output, or - for stdin).

    Rerunning the same command after an interruption resumes from the last finished block.
    """
    _interpret_if_small([d for d in dumps], "indexing")
    from wikisearch.build import build_index, available_cores
    from wikisearch.config import parse_size
    try:
        ns = tuple(int(x) for x in namespaces.split(",") if x.strip())
        sizes = (parse_size(memory), parse_size(block_size), parse_size(max_page_size))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    from pathlib import Path
    had_priors = (Path(output) / "priors.bin").exists()
    path = build_index(list(dumps), output, workers=workers or available_cores(), memory=sizes[0], block_bytes=sizes[1],
                       codec=codec, namespaces=ns, language=language, store_text=not no_store,
                       forward=not no_forward, allow_truncated=allow_truncated, max_page_bytes=sizes[2], progress=not quiet,
                       scheduler=scheduler, shards=shards)
    from wikisearch.index.stats import index_stats
    from wikisearch.search.sharded import shard_paths
    parts = [index_stats(p) for p in shard_paths(path)]
    s = {key: sum(p.get(key, 0) for p in parts)
         for key in ("documents", "terms", "postings", "index_bytes", "store_bytes", "forward_bytes")}
    s["warnings"] = parts[0].get("warnings", [])
    if len(parts) > 1:
        path = f"{path} ({len(parts)} shards)"
    click.echo(f"Indexed {s['documents']:,} documents, {s['terms']:,} terms, {s['postings']:,} postings "
               f"into {path} ({s['index_bytes'] / 1e6:,.1f} MB"
               + (f"; stored text {s['store_bytes'] / 1e6:,.1f} MB" if s["store_bytes"] else "")
               + (f", forward index {s['forward_bytes'] / 1e6:,.1f} MB" if s["forward_bytes"] else "") + ").")
    for warning in s.get("warnings", []):
        click.echo(f"Warning: {warning}", err=True)
    if had_priors:
        click.echo("Note: the old index's priors.bin belonged to the old documents and is gone; "
                   f"run `wikisearch priors -i {output} ...` again.", err=True)


class _QueryCommand(click.Command):
    """Words of the query may start with '-' (negation): anything that is not one of this
    command's own options is query text, wherever it stands; but a word that starts with '--' is
    taken for a mistyped option (an error naming the closest ones), unless it comes after '--'."""

    def parse_args(self, ctx, args):
        known, words, i = [], [], 0
        opts = {name: p for p in self.params if isinstance(p, click.Option)
                for name in p.opts + p.secondary_opts}
        while i < len(args):
            a = args[i]
            name = a.split("=", 1)[0]
            if a == "--":
                words.extend(args[i + 1:])
                break
            if name.startswith("--") and name not in opts and name != "--help":
                import difflib
                close = difflib.get_close_matches(name, [o for o in opts if o.startswith("--")], 3, 0.6)
                raise click.NoSuchOption(name, possibilities=close, ctx=ctx,
                                         message=f"No such option: {name} (to search for it, put it "
                                                 f"after --: wikisearch query -- {name})")
            if name in opts or a in ("-h", "--help"):
                known.append(a)
                p = opts.get(name)
                if p is not None and not p.is_flag and "=" not in a and i + 1 < len(args):
                    known.append(args[i + 1])
                    i += 1
            else:
                words.append(a)
            i += 1
        return super().parse_args(ctx, known + ["--"] + words)


def _fast_start(lexical: bool = True) -> None:
    """A one-shot process: numba's import without what it imports for nothing here (yaml,
    scipy) and no BLAS probe (``search.startup.fast_start``). Called before anything imports
    numba: importing ``wikisearch.search.searcher`` (its kernels) does, and then it is too late.
    Also :func:`search.startup.quick_exit`: a read-only command's process ends without the
    interpreter's garbage collections over numba's objects (~0.1 s after the last line).
    ``lexical`` (no dense vectors: no linear algebra, no model to load): numpy's BLAS starts no
    threads (``search.startup.no_blas_threads``: this module does not import numpy, so the
    command's first use of it comes after this), and no garbage collections run while the
    command loads its modules and opens the index, until :func:`_loaded`
    (``search.startup.pause_collections``)."""
    from wikisearch.search.startup import fast_start, no_blas_threads, pause_collections, quick_exit
    fast_start()
    quick_exit()
    if lexical:
        no_blas_threads()
        pause_collections()


def _loaded(value):
    """``value``, once the command's modules are loaded and its index open: garbage collections
    resume (``search.startup.resume_collections``) before the command's own work."""
    from wikisearch.search.startup import resume_collections
    resume_collections()
    return value


def _interpret_if_small(paths, what: str, search: bool = False) -> None:
    """A small job on a cold numba cache runs the kernels as Python (``jit.interpret_small_job``):
    call before the command imports any kernel."""
    from wikisearch import jit
    total = 0
    for p in paths:
        if p == "-":
            return                                   # stdin: size unknown, compile as usual
        try:
            p = os.path.realpath(p)
            if os.path.isdir(p):
                total += sum(e.stat().st_size for e in os.scandir(p)    # not the speller's cache
                             if e.is_file() and e.name != "spelling.bin")
            else:
                total += os.path.getsize(p)
        except OSError:
            return                                   # the command itself says what is wrong
    # (the kernel lists, not the recorded signatures: unpickling numba's types imports half of
    # numba, about 0.4 s of a small job's critical path)
    modules = jit.SEARCH_KERNELS if search else sorted(set(jit.BUILD_KERNELS) | set(jit.SEARCH_KERNELS))
    jit.interpret_small_job(total, modules, say=lambda: click.echo(
        f"small input, first run: {what} with the kernels as Python rather than compiling them "
        f"(a larger input compiles them once; WIKISEARCH_JIT=on always compiles) ...", err=True))


def _say_compiling(what: str):
    """A ``jit.note_compiling`` context that prints, once, that numba is compiling (first run)."""
    from wikisearch.jit import note_compiling
    return note_compiling(lambda: click.echo(
        f"compiling {what} kernels (first run only; later runs load them from numba's cache) ...",
        err=True))


def _check_indexes(index_dirs) -> None:
    """Raise the index's own error (no index, unfinished build, damaged manifest, wrong format) before
    anything slow: on a first run the search kernels would otherwise compile for a minute first."""
    from wikisearch.index.manifest import read_manifest
    from wikisearch.search.sharded import shard_paths     # (imported by the query anyway)
    for d in index_dirs:
        for p in shard_paths(d):
            read_manifest(p)


def _precompile_search() -> None:
    """On a first run (an index built elsewhere), compile the search kernels on every core."""
    from wikisearch.jit import SEARCH_KERNELS, precompile

    def pool(n):                                # (imported only when there is work)
        from wikisearch.workers import worker_pool
        return worker_pool(n)
    n = os.cpu_count() or 1
    precompile(SEARCH_KERNELS, n, pool=pool, say=lambda: click.echo(
        f"compiling search kernels in {n} processes (first run only; later runs load them from "
        "numba's cache) ...", err=True))


def _rerank_model(path, mode: str, fusion: str):
    """The re-ranking model of ``--rerank-model PATH`` (None without one), read before any index
    is opened: an unreadable file is one line (``WikisearchError``), and so is a model the mode
    cannot use (dense mode has nothing to re-rank; hybrid re-ranks with it only by ``--fusion
    rerank``)."""
    if path is None:
        return None
    if mode == "dense":
        raise click.BadParameter("dense mode has no first stage to re-rank", param_hint="--rerank-model")
    if mode == "hybrid" and fusion != "rerank":
        raise click.BadParameter(f"hybrid search re-ranks only with --fusion rerank, not {fusion}",
                                 param_hint="--rerank-model")
    from wikisearch.search.rerank import load_model
    model = load_model(path)
    if mode == "lexical" and model.dense:
        raise click.BadParameter(f"{path} reads dense similarity: use it with --mode hybrid",
                                 param_hint="--rerank-model")
    if mode == "hybrid" and not model.dense:
        raise click.BadParameter(f"{path} reads no dense similarity: use it without --mode hybrid "
                                 "(lexical re-ranking)", param_hint="--rerank-model")
    return model


@main.command("query", cls=_QueryCommand)
@click.argument("query", nargs=-1, required=True)
@indexes_option
@click.option("-k", "--top", "k", default=10, show_default=True, type=click.IntRange(1, 10000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0, 100000),
              help="Skip this many hits first (the next page: --offset 10).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {query, total_matches, warnings, "
              "hits: [{rank, title, url, page_id, score, ...}]}.")
@click.option("--model", type=click.Choice(["bm25f", "tfidf"]), default=None, help="Ranking model.")
@click.option("--mode", type=click.Choice(["lexical", "dense", "hybrid"]), default="lexical", show_default=True,
              help="dense and hybrid (BM25F + dense, fused) need `wikisearch embed` and the dense extra.")
@click.option("--dense", "dense_dir", default=None, type=click.Path(file_okay=False),
              help="Dense directory [default: $WIKISEARCH_DENSE or wikisearch-dense beside the index].")
@click.option("--fusion", type=click.Choice(["rerank", "rrf", "weighted"]), default="rerank", show_default=True,
              help="Hybrid: rerank (the BM25F top 100 re-ordered by the learned model, which reads "
                   "the query's similarity to each page's lead vector), or fuse the two rankings by "
                   "reciprocal rank (rrf, k=60) or weighted min-max normalised scores.")
@click.option("--no-priors", is_flag=True, help="Rank by text alone: leave out the popularity prior "
              "(page views, in-links) of `wikisearch priors`.")
@click.option("--rerank", is_flag=True, help="Lexical: re-order the BM25F top 100 with the shipped "
              "learned model (better on descriptive queries and questions; ~1 ms more a query; "
              "benchmarks/results/relevance.md).")
@click.option("--rerank-model", "rerank_model", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Re-rank with this model file instead of the shipped one (a TreeModel's JSON, e.g. "
                   "`benchmarks/relevance.py --train`'s); implies --rerank, or with --mode hybrid "
                   "a model that reads dense similarity.")
@click.option("--snippets/--no-snippets", default=True, show_default=True,
              help="Show a passage of each hit with the query's words in bold.")
@click.option("--snippet-chars", default=150, show_default=True, type=click.IntRange(20, 2000))
@click.option("--no-correct", is_flag=True, help="No 'did you mean': search the words as typed.")
def query_cmd(query, index_dirs, k, offset, as_json, model, mode, dense_dir, fusion, no_priors,
              rerank, rerank_model, snippets, snippet_chars, no_correct):
    """Search the index.

    \b
    Words: any of them, best first; AND, OR, -word / NOT word; "a phrase".
    Field words (scored in that field): t: b: i: c: l: r: insource:
    Filters (restrict, do not score): intitle: incategory: linksto:
    """
    _fast_start(lexical=mode == "lexical")
    if mode == "lexical":
        _interpret_if_small(list(index_dirs) or [_default_index()], "searching", search=True)
    from wikisearch.search.sharded import open as open_searcher
    text = " ".join(query)
    index_dirs = list(index_dirs) or [_default_index()]
    index_dir = index_dirs[0]
    if mode != "lexical" and len(index_dirs) > 1:
        raise click.BadParameter("dense and hybrid search take one index", param_hint="-i")
    if rerank and mode != "lexical":
        raise click.BadParameter("--rerank re-ranks lexical results; hybrid re-ranks by default "
                                 "(--fusion rerank)", param_hint="--rerank")
    reranker = _rerank_model(rerank_model, mode, fusion)
    if mode != "lexical":                   # the missing extra first: no index helps without it
        from wikisearch.dense import require
        require("faiss", "torch", "sentence_transformers")
    _check_indexes(index_dirs)
    _precompile_search()
    with _say_compiling("search"):
        if mode != "lexical":
            from wikisearch.dense.cli import mode_search
            result = mode_search(index_dir, dense_dir, text, k + offset, mode, fusion, model,
                                 priors=False if no_priors else None, rerank_model=reranker)
        else:
            searcher = _loaded(open_searcher(index_dirs))
            searcher.on_slow_start = lambda message: click.echo(message, err=True)
            rank = searcher.reader.rank_config.replace(model=model) if model else None
            if rerank or reranker is not None:
                from functools import partial
                from wikisearch.search.rerank import rerank as rerank_search
                search = partial(rerank_search, searcher, model=reranker)
            else:
                search = searcher.search
            result = search(text, k=k, rank=rank, priors=False if no_priors else None,
                            offset=offset, snippets=snippets, snippet_chars=snippet_chars,
                            correct=not no_correct)
        total, relation = result.total_matches, result.total_relation
    if offset and mode != "lexical":
        result = result[offset:]
    if as_json:
        click.echo(json_safe(json.dumps(result.to_json(), ensure_ascii=False, indent=1)))
        return
    for w in result.warnings:
        click.echo(f"Warning: {terminal_safe(w)}", err=True)
    if result.rewritten_query:
        click.echo(f"Showing results for {result.rewritten_query!r} (no results for {text!r}).")
    elif result.suggestion:
        click.echo(f"Did you mean: {result.suggestion!r}?")
    about = f"at least {total:,}" if relation == "gte" else f"{total:,}"
    if not len(result):
        if total and offset:
            click.echo(f"No results past {offset:,}: {text!r} has {about} matches.")
        else:
            click.echo(f"No results for {text!r}.")
        return
    titles = [terminal_safe(h.title) for h in result]     # a dump's titles may hold ESC, NUL...
    width = max(len(t) for t in titles)
    bold = sys.stdout.isatty()
    for h, title in zip(result, titles):
        fields = ",".join(h.matched_fields)
        click.echo(f"{h.rank:>3}. {title:<{width}}  {h.score:8.3f}  [{fields}]  {terminal_safe(h.url)}")
        via = h.matched_via
        if via is not None and via.kind != "title":
            click.echo(f"     ({terminal_safe(str(via))})")
        if h.snippet is not None and h.snippet.text:
            click.echo("     " + (h.snippet.terminal() if bold else _plain(h.snippet.text)))
    first, last = result[0].rank, result[-1].rank
    more = f"; next page: --offset {last}" if relation == "gte" or total > last else ""
    click.echo(f"{first}-{last} of {about} matches ({result.took_ms:.1f} ms){more}")


def _plain(text: str) -> str:
    """Text for a terminal: control characters shown as spaces."""
    return "".join(" " if ch < " " or "\x7f" <= ch <= "\x9f" else ch for ch in text)


@main.command("show")
@click.argument("title", nargs=-1)
@index_option
@click.option("--page-id", type=int, default=None, help="Find the article by page id instead of title.")
@click.option("--text", "full_text", is_flag=True, help="Print the body text too.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: {title, url, page_id, redirects, opening, sections, infobox, "
                   "categories, links, text}.")
def show_cmd(title, index_dir, page_id, full_text, as_json):
    """Show an article of the index: its opening, infobox, sections and categories.

    TITLE may be a redirect (it shows the target) and is normalised like Wikipedia's titles
    (berlin_wall -> Berlin wall).
    """
    _fast_start()
    _interpret_if_small([index_dir], "reading", search=True)
    from wikisearch.search.sharded import open as open_searcher   # (a directory of shards too)
    if bool(title) == (page_id is not None):
        raise click.UsageError("give a TITLE or --page-id N")
    with _say_compiling("lookup"):
        doc = _loaded(open_searcher(index_dir)).doc(page_id if page_id is not None else " ".join(title))
    if as_json:
        click.echo(json_safe(json.dumps(doc.to_json(), ensure_ascii=False, indent=1)))
    else:
        click.echo(terminal_safe(doc.describe(text=full_text), lines=True))


@main.command("priors")
@click.argument("files", nargs=-1)
@index_option
@click.option("--pageviews", "pageview_files", multiple=True, metavar="FILE",
              help="Page-view file (repeatable; FILES after the options are page-view files too).")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "pageviews", "pageviews-complete", "pageviews-tsv", "clickstream"]),
              help="Page-view file format (auto: detected from the first line).")
@click.option("--project", default=None, help="Keep views of this wiki (en, en.wikipedia) "
              "[default: the index's].")
@click.option("--total-views", type=float, default=None,
              help="Denominator of the page-view share [default: the project's views in the files].")
@click.option("--pagelinks", type=click.Path(dir_okay=False), default=None,
              help="pagelinks SQL dump (.sql/.gz): in-links from it instead of from the dump.")
@click.option("--linktarget", type=click.Path(dir_okay=False), default=None,
              help="linktarget SQL dump, for pagelinks in the MediaWiki 1.43+ schema.")
@click.option("--all-sources", is_flag=True,
              help="Count links from every page of the indexed namespaces, not only indexed ones.")
@click.option("--dump-links", is_flag=True, help="Reset the in-links to the dump's own counts.")
@click.option("--remove", is_flag=True, help="Delete the index's priors (priors.bin): rank by text alone.")
@click.option("--json", "as_json", is_flag=True)
def priors_cmd(files, index_dir, pageview_files, fmt, project, total_views, pagelinks, linktarget,
               all_sources, dump_links, remove, as_json):
    """Store popularity priors beside the index: page views (pageviews dumps, pageviews-complete,
    per-article TSV, clickstream) and in-links (the dump's, or pagelinks SQL). Searches then add
    them to text scores (`query --no-priors` to leave them out), and `suggest` orders by them.
    It reports how many documents have page views and warns when few do."""
    if remove:
        if files or pageview_files or pagelinks or linktarget or dump_links:
            raise click.UsageError("--remove takes no page-view or link files")
        from wikisearch.popularity.update import remove_priors
        path = remove_priors(index_dir)
        click.echo(f"Removed {path}." if path else f"{index_dir} has no priors; nothing to remove.")
        return
    _interpret_if_small([index_dir], "computing priors")
    from wikisearch.popularity.update import update_priors
    s = update_priors(index_dir, list(pageview_files) + list(files), fmt=fmt, project=project,
                      total_views=total_views, pagelinks=pagelinks, linktarget=linktarget,
                      link_sources="namespace" if all_sources else "indexed", dump_links=dump_links)
    if as_json:
        click.echo(json.dumps(s, indent=1))
        return
    for note in s["notes"]:
        click.echo(f"Note: {note}", err=True)
    for src in s["sources"]:
        click.echo(f"{src['file']}: {src['format']}, {src['lines']:,} lines, {src['views']:,.0f} views, "
                   f"{src['matched_views']:,.0f} on indexed pages")
    click.echo(f"Wrote {s['path']}: {s['with_views']:,} of {s['documents']:,} documents with views "
               f"({s['views_coverage']:.1%}; share of {s['total_views']:,.0f}), {s['with_inlinks']:,} "
               f"with in-links ({s['inlinks_source'].get('source', 'dump')}).")
    for warning in s["warnings"]:
        click.echo(f"Warning: {warning}", err=True)


@main.command("suggest")
@click.argument("prefix", nargs=-1, required=True)
@index_option
@click.option("-k", "--top", "k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.option("--no-fuzzy", is_flag=True, help="Exact prefixes only (no titles within 1-2 edits).")
def suggest_cmd(prefix, index_dir, k, as_json, no_fuzzy):
    """Complete a title: titles and redirects starting with PREFIX, most popular first, then
    (unless --no-fuzzy) those starting within 1 edit (2 for prefixes of 6+ characters)."""
    _fast_start()
    _interpret_if_small([index_dir], "suggesting", search=True)
    from wikisearch.search.searcher import open as open_searcher
    text = " ".join(prefix)
    with _say_compiling("suggestion"):
        searcher = _loaded(open_searcher(index_dir))
        searcher.on_slow_start = lambda message: click.echo(message, err=True)
        got = searcher.suggest(text, k, fuzzy=not no_fuzzy)
    if as_json:
        click.echo(json_safe(json.dumps({"prefix": text, "suggestions": [g.to_json() for g in got]},
                                        ensure_ascii=False, indent=1)))
    elif not got:
        click.echo(f"No titles start with {text!r}.")
    for g in ([] if as_json else got):
        click.echo(terminal_safe(str(g)))


@main.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (the default answers this machine only).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("-w", "--workers", default=None, type=click.IntRange(1, 256),
              show_default="every core this process may use",
              help="Searches run at once, on threads of each process (the kernels release the GIL).")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port and the mmapped index (each runs Python on one core).")
@click.option("--cache-mb", default=64, show_default=True, type=click.IntRange(0, 1 << 20),
              help="Bound on the cached answers of repeated searches and suggestions, per process (0: none).")
@click.option("--dense", "dense_dir", default=None, type=click.Path(file_okay=False),
              help="Dense directory (`wikisearch embed`) for mode=dense|hybrid.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--rerank-model", "rerank_model", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Re-rank with this model file instead of the shipped one: rerank=1 with a lexical "
                   "model, mode=hybrid with one that reads dense similarity (then --dense too).")
def serve_cmd(index_dir, host, port, workers, processes, cache_mb, dense_dir, access_log, rerank_model):
    """Serve a search page (/) and a JSON API (/api/search, /api/suggest, /api/page/TITLE;
    Kiwix's /search and /suggest; MediaWiki's /w/api.php; /openapi.json) over the index."""
    _interpret_if_small([index_dir], "serving", search=True)
    if rerank_model is not None:                 # an unusable model: one line, before anything starts
        from wikisearch.search.rerank import load_model
        if load_model(rerank_model).dense and dense_dir is None:
            raise click.BadParameter(f"{rerank_model} reads dense similarity: it re-ranks mode=hybrid, "
                                     "which needs --dense DIR", param_hint="--rerank-model")
    from wikisearch.serve.server import serve
    serve(index_dir, host=host, port=port, threads=workers, processes=processes, dense_dir=dense_dir,
          access_log=access_log, cache_bytes=cache_mb << 20, rerank_model=rerank_model)


@main.command("inspect")
@click.argument("dump", required=False)
@click.option("--page", "page_title", help="Title of a page in DUMP to show (fields and terms).")
@index_option
@click.option("--term", help="Show a term's postings in the index (debug codec).")
@click.option("--doc", "doc_title", help="Show a document of the index by title.")
@click.option("--limit", default=20, show_default=True, help="Postings to show for --term.")
def inspect_cmd(dump, page_title, index_dir, term, doc_title, limit):
    """Look inside one stage: a dump page's fields and terms, or an index's postings/documents."""
    _interpret_if_small([dump] if dump else [index_dir], "reading", search=not dump)
    from wikisearch import inspection
    if dump:
        if not page_title:
            raise click.UsageError("give --page TITLE with a dump")
        click.echo(inspection.describe_page(dump, page_title))
    elif term:
        click.echo(inspection.describe_term(index_dir, term, limit))
    elif doc_title:
        click.echo(inspection.describe_doc(index_dir, doc_title))
    else:
        raise click.UsageError("give DUMP --page TITLE, or --term TERM, or --doc TITLE")


@main.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True)
def stats_cmd(index_dir, as_json):
    """Documents, terms, postings, bytes per posting, size as % of input, per-field figures."""
    from wikisearch.index.stats import format_stats, index_stats
    s = index_stats(index_dir)
    click.echo(json.dumps(s, indent=1) if as_json else format_stats(s))


@main.command("verify")
@index_option
def verify_cmd(index_dir):
    """Check every checksum of an index (slower than the checks done on open)."""
    from wikisearch.index.stats import verify_index
    n = verify_index(index_dir)
    click.echo(f"OK: {n} files verified.")


@main.command("eval")
@index_option
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Queries: qid<TAB>text per line.")
@click.option("--qrels", required=True, type=click.Path(exists=True, dir_okay=False),
              help="TREC qrels: qid 0 docid relevance.")
@click.option("--key", type=click.Choice(["title", "page_id"]), default="title", show_default=True,
              help="What the qrels' document ids are.")
@click.option("--no-priors", is_flag=True, help="Rank by text alone (leave out `wikisearch priors`).")
@click.option("--rerank", is_flag=True, help="Re-order each query's top 100 with the shipped "
              "learned model (wikisearch.search.rerank).")
@click.option("--rerank-model", "rerank_model", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Re-rank with this model file instead of the shipped one; implies --rerank, or with "
                   "--mode hybrid a model that reads dense similarity.")
@click.option("--mode", type=click.Choice(["lexical", "dense", "hybrid"]), default="lexical", show_default=True,
              help="Search as `query --mode` does; dense and hybrid need `wikisearch embed` and the dense extra.")
@click.option("--dense", "dense_dir", default=None, type=click.Path(file_okay=False),
              help="Dense directory [default: $WIKISEARCH_DENSE or wikisearch-dense beside the index].")
@click.option("--fusion", type=click.Choice(["rerank", "rrf", "weighted"]), default="rerank", show_default=True,
              help="Hybrid: the learned model with dense similarity, or a fusion of the two rankings.")
@click.option("--json", "as_json", is_flag=True)
def eval_cmd(index_dir, queries, qrels, key, no_priors, rerank, rerank_model, mode, dense_dir, fusion, as_json):
    """nDCG@10, MRR@10 and Recall@100 of the index on TREC-style judgments.

    Judgments of documents the index does not hold are left out (and queries left with none);
    it says how many matched, and fails when none did. A directory of shards (`index --shards N`)
    is evaluated as one index.
    """
    from wikisearch.evaluate import describe_coverage, run_eval
    if rerank and mode != "lexical":
        raise click.BadParameter("--rerank re-ranks lexical results; hybrid re-ranks by default "
                                 "(--fusion rerank)", param_hint="--rerank")
    reranker = _rerank_model(rerank_model, mode, fusion)
    with _say_compiling("search"):
        report = run_eval(index_dir, queries, qrels, key=key, priors=False if no_priors else None,
                          rerank=reranker or rerank or None, mode=mode, dense_dir=dense_dir, fusion=fusion)
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        for name, value in report.get("metrics", report).items():
            if isinstance(value, (int, float)):
                click.echo(f"{name:>12}: {value:.4f}")
        click.echo(describe_coverage(report))


if __name__ == "__main__":  # pragma: no cover
    main()
