import functools
from urllib.parse import unquote_plus, urlsplit

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseRedirect
from django.http.request import split_domain_port
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect
from whitenoise.middleware import WhiteNoiseMiddleware

from core.http import sent_whole
from core.outage import database_unavailable, is_database_unavailable


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, with each file sent whole (core.http.sent_whole): its own
    ``FileResponse`` made Django warn under ASGI on every stylesheet and script."""

    @staticmethod
    def serve(static_file, request):
        return sent_whole(WhiteNoiseMiddleware.serve(static_file, request))


class DatabaseUnavailableMiddleware:
    """While PostgreSQL cannot be reached, a request that needs it gets a quick 503
    ("temporarily unavailable": a page in the site's layout, or
    ``{"code": "unavailable"}`` under /api/) with ``Retry-After``, instead of a 500
    after waiting behind the pool (docs/architecture.md, "Outages").

    Two places can meet the outage first. Above the view, only the session's user is
    read from the database (the language middleware below needs it on every
    request), and Django turns an exception raised inside a middleware into a 500
    before any middleware above could answer it: so this one, right below
    ``AuthenticationMiddleware``, resolves ``request.user`` itself, at no extra cost
    (it is cached on the request). In the view, ``process_exception`` answers an
    error that means the database is unreachable. A request that never touches the
    database (a 404, static files) is served as usual. Sync-only like the rest of the
    stack (see MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.user.is_authenticated  # noqa: B018 - loads the session's user
        except (OperationalError, InterfaceError) as exc:
            if not is_database_unavailable(exc):
                raise
            return database_unavailable(request, exc)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return database_unavailable(request, exception)
        return None


class LoopbackToSiteMiddleware:
    """Development only (``DEBUG``): a page asked for at a loopback address
    (127.0.0.1, [::1]) while ``SITE_URL`` names a host is redirected there, keeping
    the path. ``make run`` prints http://localhost:PORT/; a browser opened at
    127.0.0.1 instead could never confirm a payment with a fingerprint, since WebAuthn
    needs a domain, and the site's origin would not match. GET and HEAD only."""

    LOOPBACK = {"127.0.0.1", "[::1]", "::1"}

    def __init__(self, get_response):
        self.get_response = get_response
        site = urlsplit(settings.SITE_URL)
        self.site_origin = f"{site.scheme}://{site.netloc}"
        self.active = (site.hostname or "") not in self.LOOPBACK | {""}

    def __call__(self, request):
        if self.active and request.method in ("GET", "HEAD"):
            host, _port = split_domain_port(request.get_host())
            if host in self.LOOPBACK:
                return HttpResponseRedirect(self.site_origin + request.get_full_path())
        return self.get_response(request)


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
