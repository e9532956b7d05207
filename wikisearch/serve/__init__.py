"""serve: ``wikisearch serve`` -- a search page and an HTTP API over one index.

``app`` is the Starlette application (routes, headers, status codes), ``api`` what it answers as
plain dicts (:class:`~wikisearch.serve.api.Service`), ``mediawiki`` MediaWiki's ``/w/api.php``,
``openapi`` the description, ``server`` the uvicorn process; ``static/`` holds the page.
Needs the ``serve`` extra (``pip install 'wikisearch[serve]'``: Starlette and uvicorn).
"""
from __future__ import annotations


def require() -> None:
    """Raise MissingExtraError, one line, unless Starlette and uvicorn import."""
    from wikisearch.errors import MissingExtraError
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise MissingExtraError(f"wikisearch serve needs the serve extra (pip install 'wikisearch[serve]'): {e}") from None
