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
