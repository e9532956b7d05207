"""The shape of the package: imports go one way, from the CLI down to the byte formats.

Every import counts, including those inside functions (a cycle hidden in a function is still a
cycle), and ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wikisearch"

#: Layers from the bottom up: a module may import modules of its own layer or below, never above.
LAYERS = [
    ("base", ["wikisearch.errors", "wikisearch.config", "wikisearch.fileio", "wikisearch.jit",
              "wikisearch._topk_kernels", "wikisearch.cluster"]),
    ("ingest", ["wikisearch.ingest"]),
    ("analysis", ["wikisearch.analysis"]),
    ("index", ["wikisearch.index"]),
    ("popularity", ["wikisearch.popularity"]),
    ("search", ["wikisearch.search"]),
    ("consumers", ["wikisearch.evaluate", "wikisearch.inspection", "wikisearch.dense"]),
    ("serve", ["wikisearch.serve"]),
    ("build", ["wikisearch.build", "wikisearch.workers", "wikisearch._aot_build"]),
    ("cli", ["wikisearch.cli", "wikisearch.__main__"]),
]


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the wikisearch modules it imports (anywhere in its code)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in modules:      # "wikisearch.x.y" where y is a name: x
                    t = t.rpartition(".")[0]
                if t.startswith("wikisearch") and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def layer_of(module: str) -> int:
    best, level = -1, None
    for i, (_n, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, level = len(p), i
    return level


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that starts and ends at the same module), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    """So that the test above can fail: a planted cycle, also through a package, is found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    graph["wikisearch.index.segment"] = graph["wikisearch.index.segment"] | {"wikisearch.search.searcher"}
    assert find_cycle(graph) is not None           # searcher -> index.reader -> segment -> searcher


def test_every_module_has_a_layer():
    missing = [m for m in import_graph() if m != "wikisearch" and layer_of(m) is None]
    assert not missing, f"modules in no layer (add them to LAYERS): {missing}"


def test_imports_only_go_down():
    upward = []
    for m, deps in import_graph().items():
        if m == "wikisearch":                  # the package's lazy exports name the API
            continue
        for d in deps:
            if d != "wikisearch" and layer_of(d) > layer_of(m):
                upward.append(f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})")
    assert not upward, "\n".join(sorted(upward))


def test_functions_count_too():
    """The graph sees imports inside functions (where the old cycles hid)."""
    graph = import_graph()
    assert "wikisearch.dense.search" in graph["wikisearch.dense.cli"]          # imported lazily
    assert "wikisearch.build" in graph["wikisearch.cli"]


@pytest.mark.parametrize("name", ["errors", "config", "fileio", "jit"])
def test_base_modules_import_nothing_of_ours(name):
    assert import_graph()[f"wikisearch.{name}"] <= {"wikisearch.errors"}


def test_one_module_knows_the_term_dictionary_layout():
    """Only termdict and its kernels touch the dictionary's arrays by name."""
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if "block_post_offsets" in p.read_text(encoding="utf-8"))
    assert users == ["index/_termdict_kernels.py", "index/termdict.py"]


def test_readers_implement_the_protocol(tmp_path):
    from wikisearch import build_index, sample_dump
    from wikisearch.index.reader import IndexReader, Reader
    sys.path.insert(0, str(Path(__file__).parent))
    from _memindex import MemoryIndex
    assert isinstance(MemoryIndex([{"title": "A", "body": "a b"}]), Reader)
    idx = build_index(sample_dump(), tmp_path / "idx")
    assert isinstance(IndexReader(idx), Reader)
