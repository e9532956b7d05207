"""What a wiki says about itself (``<siteinfo>``): names, URLs, namespaces, redirect words.

Part of the dump stage; import these names from :mod:`wikisearch.ingest.dump`.

>>> site = SiteInfo.synthesize("en")
>>> site.split_namespace("Category:Foo"), site.url("Angela Merkel")
((14, 'Foo'), 'https://en.wikipedia.org/wiki/Angela_Merkel')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote, urlsplit

#: MediaWiki's canonical (English) namespace names; every wiki accepts them besides its own.
CANONICAL_NAMESPACES: dict[int, str] = {
    -2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Project",
    5: "Project talk", 6: "File", 7: "File talk", 8: "MediaWiki", 9: "MediaWiki talk",
    10: "Template", 11: "Template talk", 12: "Help", 13: "Help talk", 14: "Category",
    15: "Category talk", 100: "Portal", 101: "Portal talk", 118: "Draft", 119: "Draft talk",
    710: "TimedText", 711: "TimedText talk", 828: "Module", 829: "Module talk"}
#: Aliases every Wikipedia accepts ("Wikipedia:" is the project namespace on all of them).
NAMESPACE_ALIASES: dict[str, int] = {"Image": 6, "Image talk": 7, "Wikipedia": 4,
                                     "Wikipedia talk": 5}
#: Per-language aliases ($namespaceAliases in Messages*.php) that redirects in the samples use.
LOCAL_NAMESPACE_ALIASES: dict[str, dict[str, int]] = {
    "vi": {"Hình": 6, "Thảo luận Hình": 7, "Tiêu bản": 10, "Thảo luận Tiêu bản": 11},
    "mr": {"साहाय्य": 12, "साहाय्य चर्चा": 13},
}
#: Redirect magic words (casefolded) of the sample languages (bg bn el en hy ja mr uk vi) and of
#: the larger Wikipedias, from MediaWiki's languages/messages/Messages*.php.
REDIRECT_MAGIC_WORDS = frozenset(w.casefold() for w in """
    REDIRECT пренасочване виж পুনর্নির্দেশ ΑΝΑΚΑΤΕΥΘΥΝΣΗ ՎԵՐԱՀՂՈՒՄ 転送 リダイレクト
    पुनर्निर्देशन पुर्ननिर्देशन ПЕРЕНАПРАВЛЕННЯ ПЕРЕНАПР перенаправление đổi WEITERLEITUNG
    REDIRECTION REDIRECCIÓN REDIRECCION RINVIA RINVIO RIMANDO REDIRECIONAMENTO REDIRECIONAR REDIR
    DOORVERWIJZING PATRZ PRZEKIERUJ TAM OMDIRIGERING OMDIRIGER 重定向 重新導向 넘겨주기 تحويل
    تغییر_مسیر تغییرمسیر הפניה YÖNLENDİRME YÖNLENDİR PŘESMĚRUJ OHJAUS UUDELLEENOHJAUS
    ALIH अनुप्रेषित ÁTIRÁNYÍTÁS REDIRECCIÓ PREUSMJERI""".split())

_URL_SAFE = ";@$!*(),/:~"   # what MediaWiki's wfUrlencode leaves unescaped
_WIKIMEDIA = (".wikipedia.org", ".wiktionary.org", ".wikimedia.org", ".wikibooks.org",
              ".wikisource.org", ".wikiquote.org", ".wikinews.org", ".wikivoyage.org",
              ".wikiversity.org", ".wikidata.org", ".mediawiki.org")
_LONG_CHARREF = re.compile(r"&#(?:[xX][0-9a-fA-F]{7,}|[0-9]{8,});?")


def unescape_html(s: str) -> str:
    """``html.unescape``, except that a numeric reference too long to be a character (which
    makes it raise: "&#" and thousands of digits) becomes U+FFFD instead of an exception."""
    unescape = _UNESCAPE or _html_unescape()
    try:
        return unescape(s)
    except ValueError:
        return unescape(_LONG_CHARREF.sub("\ufffd", s))


_UNESCAPE = None


def _html_unescape():
    """``html.unescape``, imported on first use: html's entity table (~2,000 entries) is not
    needed by a process that only reads an index's site (``SiteInfo``)."""
    global _UNESCAPE
    from html import unescape
    _UNESCAPE = unescape
    return unescape


_REDIRECT_RE = re.compile(r"\s*+[#＃]\s*+([^\s\[:]++)\s*+:?\s*+\[\[([^\]|]*)")
_ATTR_RE = re.compile(rb'(?<![\w:.-])([\w:.-]++)\s*+=\s*+"([^"]*+)"')   # a name is tried once
_WIKIS = re.compile(r"([a-z_]+?)(?:wiki|wiktionary|wikibooks|wikinews|wikiquote|wikisource"
                    r"|wikiversity|wikivoyage)")


def _fold(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


@dataclass(frozen=True)
class SiteInfo:
    """What ``<siteinfo>`` says about the wiki: names, URLs, namespaces.

    >>> site = SiteInfo.synthesize("en")
    >>> site.normalize_title("category:foo_bar"), site.url("Angela Merkel")
    ('Category:Foo bar', 'https://en.wikipedia.org/wiki/Angela_Merkel')
    """

    sitename: str
    dbname: str
    base_url: str
    lang: str
    case: str
    namespaces: dict[int, str]
    schema: str

    @classmethod
    def synthesize(cls, lang: str = "en", schema: str = "", host: str | None = None) -> "SiteInfo":
        """A Wikipedia's siteinfo when the input has none (WikiExtractor, bare exports)."""
        host = host or f"{lang}.wikipedia.org"
        names = {**CANONICAL_NAMESPACES, 4: "Wikipedia", 5: "Wikipedia talk"}
        return cls("Wikipedia", f"{lang.replace('-', '_')}wiki", f"https://{host}/wiki/", lang,
                   "first-letter", names, schema)

    def __hash__(self) -> int:   # namespaces is a dict: hash its items (caches key on sites)
        return hash((self.dbname, self.base_url, self.lang, self.case, self.schema,
                     tuple(sorted(self.namespaces.items()))))

    @cached_property
    def _ns_ids(self) -> dict[str, int]:
        # Canonical English names and aliases work on every wiki; localized names win.
        ids = {_fold(n): k for k, n in CANONICAL_NAMESPACES.items() if n}
        ids.update((_fold(n), k) for n, k in NAMESPACE_ALIASES.items())
        ids.update((_fold(n), k) for n, k in LOCAL_NAMESPACE_ALIASES.get(self.lang, {}).items())
        ids.update((_fold(n), k) for k, n in self.namespaces.items() if n)
        return ids

    def split_namespace(self, title: str) -> tuple[int, str]:
        """``"Category:Foo"`` -> ``(14, "Foo")``; ``(0, title)`` when no namespace prefix."""
        title = title.strip()
        if title.startswith(":"):
            title = title[1:].strip()
        prefix, colon, rest = title.partition(":")
        key = self._ns_ids.get(_fold(prefix)) if colon else None
        return (0, title) if key is None else (key, rest.strip(" _"))

    def _ucfirst(self, text: str) -> str:
        if self.case != "first-letter" or not text:
            return text
        first = text[0].upper()
        return first + text[1:] if len(first) == 1 else text   # 'ß' stays, as in MediaWiki

    def normalize_title(self, title: str) -> str:
        """MediaWiki title normalisation: ``"  lata  mangeshkar "`` -> ``"Lata mangeshkar"``.

        Underscores and runs of whitespace become one space, a ``#fragment`` and a leading
        ``:`` go, a namespace prefix (localized, canonical or alias such as ``Image``) is
        rewritten to the site's name, and first letters are uppercased on first-letter wikis.
        """
        title = " ".join(title.replace("_", " ").partition("#")[0].split())
        key, rest = self.split_namespace(title)
        if key == 0:
            return self._ucfirst(rest)
        name = self.namespaces.get(key) or CANONICAL_NAMESPACES.get(key, "")
        return f"{name}:{self._ucfirst(rest)}"

    def url(self, title: str) -> str:
        """``"Angela Merkel"`` -> ``"https://en.wikipedia.org/wiki/Angela_Merkel"``."""
        return self.base_url + quote(title.strip().replace(" ", "_"), safe=_URL_SAFE)

    def to_json(self) -> dict:
        return {"sitename": self.sitename, "dbname": self.dbname, "base_url": self.base_url,
                "lang": self.lang, "case": self.case, "schema": self.schema,
                "namespaces": {str(k): v for k, v in sorted(self.namespaces.items())}}

    @classmethod
    def from_json(cls, d: dict) -> "SiteInfo":
        return cls(d["sitename"], d["dbname"], d["base_url"], d["lang"], d["case"],
                   {int(k): v for k, v in d["namespaces"].items()}, d["schema"])


def redirect_target(text: str, site: SiteInfo) -> str | None:
    """The normalised target of ``#REDIRECT [[Target]]`` (any known magic word), else None.

    >>> redirect_target("#перенаправление [[Киев#История|x]]", SiteInfo.synthesize("uk"))
    'Киев'
    """
    m = _REDIRECT_RE.match(text) if text[:64].lstrip()[:1] in ("#", "＃") else None
    if not m or m.group(1).casefold() not in REDIRECT_MAGIC_WORDS:
        return None
    return site.normalize_title(m.group(2)) or None


def _base_url(base: str) -> str:
    """``https://en.wikipedia.org/wiki/Main_Page`` -> ``https://en.wikipedia.org/wiki/``."""
    if "?title=" in base:
        url = base[:base.index("?title=") + 7]
    elif "/wiki/" in base:
        url = base[:base.index("/wiki/") + 6]
    else:
        url = base.rsplit("/", 1)[0] + "/"
    host = urlsplit(url).hostname or ""
    # Wikimedia sites are HTTPS-only now; old dumps (enwik8) still say http.
    return "https" + url[4:] if url.startswith("http:") and host.endswith(_WIKIMEDIA) else url


def parse_siteinfo(root: bytes, info: bytes, lang: str | None) -> SiteInfo:
    """SiteInfo from the ``<mediawiki ...>`` start tag and the ``<siteinfo>`` element (or b"")."""
    attrs = {k.decode(): v.decode() for k, v in _ATTR_RE.findall(root)}
    version = re.search(r"export-(\d+\.\d+)", attrs.get("xmlns", ""))
    schema = attrs.get("version") or (version.group(1) if version else "")
    head = info.decode("utf-8", "replace")

    def tag(name: str) -> str:
        a = head.find(f"<{name}>")            # str.find, not a lazy regex: linear
        b = head.find(f"</{name}>", a) if a >= 0 else -1
        return unescape_html(head[a + len(name) + 2:b].strip()) if b >= 0 else ""

    dbname, base = tag("dbname"), tag("base")
    host = urlsplit(base).hostname
    by_db = _WIKIS.fullmatch(dbname)
    # xml:lang first: it is the content language (simplewiki says "en"; its dbname does not).
    lang = (lang or attrs.get("xml:lang") or (by_db and by_db.group(1).replace("_", "-"))
            or (host or "").split(".")[0] or "en")
    site = SiteInfo.synthesize(lang, schema, host)
    names = {int(k): unescape_html(v) for k, v in re.findall(
        r'<namespace key="(-?\d+)"[^>]*?(?:/>|>(.*?)</namespace>)', head, re.S)}
    return SiteInfo(tag("sitename") or site.sitename, dbname or site.dbname,
                    _base_url(base) if base else site.base_url, lang,
                    tag("case") or "first-letter", names or site.namespaces, schema)


def extractor_siteinfo(url: str, lang: str | None, schema: str) -> SiteInfo:
    """WikiExtractor says nothing of the wiki but the URL of each page: take its host."""
    host = urlsplit(url).hostname or ""
    lang = lang or (host.split(".")[0] if host.endswith(_WIKIMEDIA) else "") or "en"
    return SiteInfo.synthesize(lang, schema, host if host.endswith(_WIKIMEDIA) else None)
