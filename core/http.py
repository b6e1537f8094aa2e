"""Small HTTP helpers shared by the apps' views."""

from django.http import HttpResponse
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


def sent_whole(response):
    """``response`` with its file read into the body, for the files Conversa serves
    itself (static files through WhiteNoise, uploads through ``core.views.media``).

    A ``FileResponse`` iterates its file synchronously, so under ASGI Django warned
    "StreamingHttpResponse must consume synchronous iterators" on each one and read it
    in a thread per chunk. These files are small (bundled CSS, scripts and icons;
    uploads re-encoded to a bounded size by core.images): one read is cheaper."""
    if not response.streaming:
        return response
    try:
        body = b"".join(response.streaming_content)
    finally:
        response.close()
    whole = HttpResponse(body, status=response.status_code)
    for header, value in response.items():
        whole[header] = value
    if "Content-Type" not in response:  # WhiteNoise leaves it out of a 304
        del whole["Content-Type"]
    whole["Content-Length"] = str(len(body))
    return whole
