"""The README works as written: its Python blocks and its shell commands, taken from README.md,
run in a fresh folder on the bundled sample (a script without a ``__main__`` guard, workers=2).

Commands that need a download, a large dump or an extra are skipped, each with its reason
(``SKIP``); every ``wikisearch query`` must find something (the README promises it)."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: (pattern in a command, why it does not run here).
SKIP = [
    ("pip install", "installs packages (network)"),
    ("python -m pytest", "the test suite itself"),
    ("enwiki-latest", "a full Wikipedia dump (tens of GB, a download)"),
    ("pageviews-2024", "a page-view file from dumps.wikimedia.org (a download)"),
    ("wikisearch embed", "the dense extra: torch and a sentence model (tests/test_dense.py covers it)"),
    ("--mode hybrid", "the dense extra (needs `wikisearch embed` first)"),
    ("wikisearch serve", "a server that runs until stopped (tests/test_serve.py runs one)"),
]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _commands() -> list[str]:
    """Every shell command of the README's bash blocks, in order (``a && b`` is two)."""
    out = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.extend(part.strip() for part in line.split(" && "))
    return out


def _skip_reason(command: str) -> str | None:
    return next((why for pattern, why in SKIP if pattern in command), None)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "WIKISEARCH_INDEX"}
    env["PYTHONPATH"] = str(ROOT)
    bindir = str(Path(sys.executable).parent)          # where the `wikisearch` script is installed
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A fresh folder that looks like the repository's root to the README: the sample is at
    wikisearch/data/sample-enwiki.xml.bz2."""
    d = tmp_path_factory.mktemp("readme")
    (d / "wikisearch").mkdir()
    (d / "wikisearch" / "data").symlink_to(ROOT / "wikisearch" / "data")
    return d


def test_the_readme_has_what_it_should():
    assert len(_blocks("python")) == 1
    commands = _commands()
    assert any(c.startswith("wikisearch index wikisearch/data/sample-enwiki.xml.bz2") for c in commands)
    assert sum(c.startswith("wikisearch query") for c in commands) >= 5
    assert any(c.startswith("wikisearch show") for c in commands)
    text = README.read_text(encoding="utf-8")
    assert "dumps.wikimedia.org" in text and "pages-articles-multistream" in text
    assert "lata mangeshkar" not in text.lower()          # not in the sample: finds nothing
    assert "Ukrainian" in text and "Japanese" in text     # which languages the analyzer supports


def test_readme_shell_commands(workdir):
    if not shutil.which("wikisearch", path=_env()["PATH"]):
        pytest.skip("the wikisearch command is not installed (pip install -e .)")
    ran, skipped = [], []
    for command in _commands():
        why = _skip_reason(command)
        if why:
            skipped.append((command, why))
            continue
        p = subprocess.run(["bash", "-c", command], cwd=workdir, env=_env(), capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, f"{command}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        assert "Traceback" not in p.stderr, command
        if shlex.split(command, comments=True)[:2] == ["wikisearch", "query"]:
            assert p.stdout.strip() and "No results" not in p.stdout, f"{command} found nothing"
        ran.append(command)
    assert len(ran) >= 15, ran
    assert all(why for _, why in skipped)
    print("\n".join(f"skipped: {c}  ({why})" for c, why in skipped))


def test_readme_python_block(tmp_path):
    """As a script, without an ``if __name__ == "__main__"`` guard, with workers=2 (in a folder of
    its own: a ``wikisearch/`` folder beside a script would shadow the package)."""
    script = tmp_path / "readme_example.py"
    script.write_text(_blocks("python")[0])
    p = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=_env(), capture_output=True,
                       text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = p.stdout.splitlines()
    assert lines[0].endswith(" matches") and int(lines[0].split()[0]) > 5
    assert lines[1].startswith("1 Angela Merkel ")
    assert "'Berlin'" in p.stdout and "['IKEA', 'Berlin']" in p.stdout
