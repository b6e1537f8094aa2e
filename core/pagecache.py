"""Whole public pages for visitors without a session, served with no database access.

The shop and product pages (``catalog.views``) are the same for every visitor who
is not signed in, given the business's versions, the language, the host, the path
and, on the shop, whether it is open now. For such a visitor (a GET without a
query string — tracking parameters such as ``utm_source`` aside, ``TRACKING_PARAMS``
—, a session cookie or a messages cookie: ``is_cacheable``) the page's
bytes are kept in this process (``CACHES["fragments"]``) under a key built from
those, and a hit runs no query and renders no template.

What keys a page must be known without the database, so this process keeps, for
each business, the few values the key needs (``PUBLIC_STATES``: its versions and
opening hours), read from the database at most once per ``STATE_TTL`` seconds:

- a write in this process (every catalog write through
  ``catalog.services.bump_catalog_version``, every profile, logo and hours change
  in ``accounts.services``, the admin) calls ``forget_public_pages()``, which
  forgets them at once and again when its transaction commits: the next request
  here sees the write;
- a write in another process (a Celery worker importing a feed, another web
  process) changes the versions in the database row, which this process reads
  again within ``STATE_TTL``: its pages are stale for at most that long.

The trade-off, against keeping the versions in the shared cache (Redis in
production), which would show a write to every process at once: a Redis lookup
costs a network round trip on every hit, and on the embedded default (a
local-memory cache per process) it would not be shared at all, so it would still
need a bound like this one. A second
of staleness after a write made elsewhere is what this design accepts; a write made
in the same process is never stale.

CSRF: a cached page holds ``CSRF_PLACEHOLDER`` where the template puts the CSRF
token (the footer's language form and HTMX's header), and every response gets the
token of its own request in its place, so a visitor never sees another's token and
the forms work exactly as on a page rendered for them.
"""

import itertools
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe

STATE_TTL = 1.0  # seconds a process may serve a page after a write made in another process
# Markup no escaped text can contain, so only the template's token tags produce it.
CSRF_PLACEHOLDER = mark_safe("<csrf-token-of-the-request>")
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()

_clock = time.monotonic  # tests move it forward


class ProcessMemo:
    """Values read from the database, each kept in this process for at most ``ttl``
    seconds (and at most ``max_entries`` of them), and all forgotten by ``clear()``.
    Thread-safe: a value loaded while a ``clear()`` ran (it may predate the write
    that cleared) is returned to its caller but not kept."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries  # keys may come from URLs: bound the memory
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = itertools.count()
        self._current = next(self._generation)
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        now = _clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._current
        value = load()
        with self._lock:
            if generation == self._current:
                if len(self._entries) >= self.max_entries:
                    self._entries = {}
                self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._current = next(self._generation)
            self._entries = {}


PUBLIC_STATES = ProcessMemo(ttl=STATE_TTL)


def forget_public_pages() -> None:
    """Call in every write that changes what a public page shows (any business): this
    process reads the businesses' versions again, now (for reads inside the writer's
    own transaction) and after the commit (for a read that raced the write). Cheap:
    the next request per business costs the state's queries once."""
    PUBLIC_STATES.clear()
    transaction.on_commit(PUBLIC_STATES.clear)


# Parameters that say where a visitor came from (campaign links, ad networks' click
# ids). They never change a page: a page whose query string holds only these is the
# page without them (and the language form's ``next`` leaves them out, see
# ``serve_page``); insights records them as a click (catalog.hooks.tracked_visit).
TRACKING_PARAMS = frozenset(
    ("ref", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
     "fbclid", "gclid", "click_id")
)  # fmt: skip


def has_tracking(request: HttpRequest) -> bool:
    """Whether the request's query string holds a tracking parameter (cheap: no
    parsing when there is no query string)."""
    return bool(request.META.get("QUERY_STRING")) and not TRACKING_PARAMS.isdisjoint(request.GET)


def only_tracking(request: HttpRequest) -> bool:
    """Whether the query string is empty or holds tracking parameters alone."""
    return not request.META.get("QUERY_STRING") or set(request.GET) <= TRACKING_PARAMS


def is_cacheable(request: HttpRequest) -> bool:
    """Whether ``request`` may get the page every visitor without a session gets: a
    GET with no query string but tracking parameters (any other would show in the
    language form's ``next``, or change the page), no session (signed-in users, and
    anyone the site keeps state for) and no pending messages."""
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
        and only_tracking(request)
    )


def serve_page(
    request: HttpRequest, key: str, render: Callable[[dict[str, Any]], HttpResponse]
) -> HttpResponse:
    """The page cached under ``key``, else ``render(extra_context)``'s, kept when it
    is a 200. ``render`` must pass ``extra_context`` to its template (it replaces the
    CSRF token by ``CSRF_PLACEHOLDER``) and put nothing in the page that ``key`` does
    not determine. Only for requests that pass ``is_cacheable``."""
    pages = caches["fragments"]
    cached = pages.get(key)
    if cached is None:
        # ``next_path``: the language form's ``next`` (base.html), the path alone, as
        # the only query string this page may have is tracking parameters.
        rendered = render({"csrf_token": CSRF_PLACEHOLDER, "next_path": request.path})
        cached = (rendered.content, rendered["Content-Type"])
        if rendered.status_code != 200:
            return _with_token(request, rendered, *cached)
        pages.set(key, cached)
    return _with_token(request, HttpResponse(), *cached)


def _with_token(request, response: HttpResponse, content: bytes, content_type: str) -> HttpResponse:
    if _PLACEHOLDER_BYTES in content:
        content = content.replace(_PLACEHOLDER_BYTES, get_token(request).encode())
    response.content = content
    response["Content-Type"] = content_type
    # The page differs for a visitor with a session. SessionMiddleware says so only
    # when the session is read, which a hit never does (CsrfViewMiddleware says it
    # too, as long as the page holds a token).
    patch_vary_headers(response, ("Cookie",))
    return response
