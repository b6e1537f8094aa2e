import functools
from urllib.parse import unquote_plus

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect


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
