import functools
from urllib.parse import unquote_plus

from django.db import InterfaceError, OperationalError, connection
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from core.outage import database_unavailable, is_database_unavailable, outage_log


class DatabaseUnavailableMiddleware:
    """While PostgreSQL cannot be reached, every request gets a quick 503 ("temporarily
    unavailable": a page in the site's layout, or ``{"code": "unavailable"}`` under
    /api/) with ``Retry-After``, instead of a 500 after the pool's timeout.

    It takes the request's connection up front, before the session and the user are
    read (sessions, authentication and the language middleware all query the
    database, and Django turns an exception raised inside a middleware into a 500
    before any middleware above it could see it). The connection is the one the view
    then uses, so a page pays nothing extra. A connection lost during the view is
    answered the same way (``process_exception``). Above the session middleware, only
    below WhiteNoise: static files need no database. Sync-only like the rest of the
    stack (see MIDDLEWARE). See docs/architecture.md, "Outages"."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if connection.vendor == "postgresql" and request.path_info not in _own_check_paths():
            try:
                connection.close_if_health_check_failed()  # without a pool (CONN_MAX_AGE)
                connection.ensure_connection()
            except (OperationalError, InterfaceError) as exc:
                return database_unavailable(request, exc)
            outage_log.answered()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return database_unavailable(request, exception)
        return None


@functools.cache
def _own_check_paths() -> frozenset[str]:
    """Views that need no database, or check it with a budget of their own."""
    return frozenset({reverse("healthz"), reverse("bare")})


class HtmxRedirectMiddleware:
    """An HTMX request answered with a redirect (typically to sign in again after the
    session expired) becomes a full-page navigation instead of the target page being
    swapped into a table row. Sync-only like its neighbour at the bottom of the stack."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "htmx", False) and response.status_code in (301, 302, 303, 307, 308):
            return HttpResponseClientRedirect(response["Location"])
        return response


class AdminNulCharacterMiddleware:
    """A NUL character in a Django admin query string gets a 400 with a clear message.
    PostgreSQL refuses NUL in text, and the admin hands its list filters to the
    database as they come (a server error); the site's own views and the API clean
    their parameters themselves. Sync-only like its neighbours."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_admin_prefix()) and "\x00" in unquote_plus(
            request.META.get("QUERY_STRING", "")
        ):
            reason = _("The address contains a character that is not allowed (NUL).")
            return render(request, "400.html", {"reason": reason}, status=400)
        return self.get_response(request)


@functools.cache
def _admin_prefix() -> str:
    return reverse("admin:index")
