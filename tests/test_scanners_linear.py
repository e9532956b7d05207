"""Every scanner of the ingest stage is linear in the page (issue 18, item 4).

One adversarial line per pattern (the input that makes a backtracking regex quadratic or worse:
long runs with no closing, many openings on one line) at two sizes, n and 16 n. The Python
scanners are checked by counting calls (``count_calls``); the regexes run in C, where no step
count is visible, so their check compares CPU time of the two sizes in this process (the least
of five runs each): a linear pattern takes ~16x, a quadratic one ~256x, and the bound is 64x.
Each pattern is also run through the whole parser (``parse_wikitext``) on a page of that line.
"""
from __future__ import annotations

import random
import re
import time

import pytest

from wikisearch.ingest import dump as D, site as S, wikiscan as W, wikitext as T
from wikisearch.ingest.parse import parse_wikitext
from wikisearch.ingest.site import SiteInfo

# pattern name -> (the call under test, the adversarial line of size ~n)
CASES = {
    "heading": (lambda s: list(W.heading_lines(s)), lambda n: "=" * n + "a"),
    "heading-spaces": (lambda s: list(W.heading_lines(s)), lambda n: "=" + " " * n + "a="[::-1] + "x"),
    "ext_tag": (lambda s: list(W._EXT_TAG.finditer(s)), lambda n: "<ref " * (n // 5)),
    "ext_tag-unclosed": (W.extract_tags, lambda n: "<ref>" * (n // 5)),
    "braces": (W._match_braces, lambda n: "{{" * (n // 2)),
    "link_target": (W._LINK_TARGET.findall, lambda n: "[[a|" + "x]" * (n // 2)),
    "link_target-many": (W._LINK_TARGET.findall, lambda n: "[[a|x]" * (n // 6)),
    "link_mask": (W._LINK_MASK.findall, lambda n: "[[" + "]x" * (n // 2)),
    "link": (W._LINK.findall, lambda n: "[[a|" * (n // 4)),
    "table_edge": (W._TABLE_EDGE.findall, lambda n: " " * n + "x"),
    "cell": (W._CELL.findall, lambda n: "|" + "a=" * (n // 2)),
    "cell_sep-bang": (W._CELL_SEP.findall, lambda n: "!!a=" * (n // 4)),
    "cell_sep-pipe": (W._CELL_SEP.findall, lambda n: "||a=" * (n // 4)),
    "ext_link-many": (W.ext_links_text, lambda n: "[http:x " * (n // 8)),
    "ext_link-long": (W.ext_links_text, lambda n: "[http:" + "x" * n),
    "block_tag": (W._BLOCK_TAG.findall, lambda n: "<br " * (n // 4)),
    "html_tag": (W._HTML_TAG.findall, lambda n: "<span " * (n // 6)),
    "quotes": (lambda s: W._QUOTES.sub("", s), lambda n: "'" * n),
    "bare_url": (T.BARE_URL.findall, lambda n: "http://." * (n // 8)),
    "bare_url-long": (T.BARE_URL.findall, lambda n: "http://" + "." * n),
    "file_option": (T.FILE_OPTION.fullmatch, lambda n: " " * n + "1 x"),
    "file_option-px": (T.FILE_OPTION.fullmatch, lambda n: "1" + " " * n + "x"),
    "file_option-upright": (T.FILE_OPTION.fullmatch, lambda n: "upright" + " " * n + "x"),
    "magic": (T._MAGIC.findall, lambda n: "__" + "a_" * (n // 2)),
    "line_mark": (T._LINE_MARK.findall, lambda n: " " * n + "x"),
    "redirect": (T.REDIRECT.match, lambda n: "#R " + " " * n + "x"),
    "redirect-text": (T.REDIRECT.match, lambda n: "#R [[a|" + "x" * n),
    "site_redirect": (S._REDIRECT_RE.match, lambda n: "#R " + " " * n + "x"),
    "skip_key": (T.SKIP_KEY.search, lambda n: "a" * n),
    "bad_title": (T._BAD_TITLE.search, lambda n: "a" * n),
    "spaces": (lambda s: T._SPACES.sub(" ", s), lambda n: " " * n),
    "newlines": (lambda s: T._NEWLINES.sub("\n", s), lambda n: "\n " * (n // 2) + "x"),
    "attr": (lambda s: D._ATTR_RE.findall(s.encode()), lambda n: "a" * n),
    "attr-unclosed": (lambda s: D._ATTR_RE.findall(s.encode()), lambda n: 'a="' * (n // 3)),
    "entity": (lambda s: D._ENTITY_RE.sub(D._entity, s.encode()), lambda n: "&#" + "1" * n),
    "comments": (W.strip_comments, lambda n: "<!--" * (n // 4)),
}
N = 4000
SITE = SiteInfo.synthesize("en", "0.11", "en.wikipedia.org")


def _cpu(fn, arg, repeat=5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn(arg)
        best = min(best, time.process_time() - t0)
    return best


def _ratio(fn, make) -> float:
    small, big = make(N), make(16 * N)
    # repeat the small input so that both runs are long enough for the clock
    reps = 16
    t_small = _cpu(lambda s: [fn(s) for _ in range(reps)], small) / reps
    t_big = _cpu(fn, big)
    return t_big / max(t_small, 1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_pattern_is_linear(name):
    fn, make = CASES[name]
    assert _ratio(fn, make) < 64, name


@pytest.mark.parametrize("name", sorted(CASES))
def test_parser_is_linear_on_the_line(name):
    """The whole fast parser on a page that is that line, then the same line 16 times longer."""
    _fn, make = CASES[name]
    assert _ratio(lambda s: parse_wikitext(s, "Page", SITE), make) < 64, name


def test_heading_scanner_counts(count_calls):
    """The heading scanner's calls do not grow with a line's length, and grow linearly with the
    number of "=" lines."""
    _r, small = count_calls(lambda s: list(W.heading_lines(s)), "=" * 1000 + "a")
    _r, big = count_calls(lambda s: list(W.heading_lines(s)), "=" * 64000 + "a")
    assert big == small
    _r, few = count_calls(lambda s: list(W.heading_lines(s)), "== a ==\nx\n" * 100)
    _r, many = count_calls(lambda s: list(W.heading_lines(s)), "== a ==\nx\n" * 1600)
    assert many <= 17 * few


def test_ext_link_scanner_counts(count_calls):
    """Calls grow linearly with the number of unclosed heads on a line (no rescans)."""
    _r, few = count_calls(W.ext_links_text, "[http:x " * 100)
    _r, many = count_calls(W.ext_links_text, "[http:x " * 1600)
    assert many <= 17 * few


def test_heading_scanner_matches_the_regex():
    """The line scanner finds exactly the lines and runs of the regex it replaces (oracle)."""
    regex = re.compile(r"^(=+)[ \t]*([^\n]*?)[ \t]*(=+)[ \t]*$", re.M)
    rnd = random.Random(18)
    for _ in range(20000):
        t = "".join(rnd.choice("= \ta\n") for _ in range(rnd.randint(0, 14)))
        expected = [(m.start(), m.end(), len(m.group(1)), len(m.group(3)), m.end(3))
                    for m in regex.finditer(t)]
        assert list(W.heading_lines(t)) == expected, repr(t)


def test_ext_link_scanner_matches_the_regex():
    regex = re.compile(r"\[(?:(?:https?|ftps?|ircs?|news|mailto|gopher|telnet|nntp|svn|git|ssh"
                       r"|sftp|mms|worldwind|redis|tel|urn|geo|sms|sips?|xmpp|bitcoin|magnet):"
                       r"|//)[^\s\[\]<>\"\x1e]*([^\]\n\x1e]*)\]", re.I)
    rnd = random.Random(18)
    parts = ["[http:", "[//", "[HTTPS:", "]", " ", "a", "\n", "[", "\x1e", "<"]
    for _ in range(20000):
        t = "".join(rnd.choice(parts) for _ in range(rnd.randint(0, 10)))
        assert W.ext_links_text(t) == regex.sub(r"\1", t), repr(t)
