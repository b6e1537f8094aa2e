"""Small HTTP helpers shared by the apps' views."""

from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request, default: str) -> str:
    """Where to go after a form: its ``next`` (posted, or in the query string) when that
    is a path on this site, else ``default``. A path only: ``redirect()`` takes any
    other string for a view name (``next=-1`` was a server error)."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if (
        url.startswith("/")
        and not url.startswith("//")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return default
