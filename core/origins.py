"""Which web pages may open the site's sockets: the Origin check of every websocket.

A browser sends the page's origin (scheme, host and port) with every websocket
handshake and lets any page open a socket to any site, with the site's cookies: the
server must refuse the pages that are not its own (cross-site websocket hijacking).
Channels' ``AllowedHostsOriginValidator`` compared the host name only, so
``http://shop.example:8443`` or ``http://shop.example`` (no TLS) passed for
``https://shop.example``. Here the whole origin must be one of the site's own:

- ``SITE_URL``'s origin, and each of ``CSRF_TRUSTED_ORIGINS`` (Django's notation:
  ``https://*.example.com`` is any subdomain of example.com, on that scheme and port);
- with ``DEBUG`` on (``make run``, the browser tests), also the origin the socket
  itself was opened at: the handshake's ``Host`` (one of ``ALLOWED_HOSTS``) with the
  socket's scheme, so ``http://127.0.0.1:8001`` works when the dev server runs there.

No Origin, ``null``, or anything that is not an http(s) origin is refused. Ports are
compared with the scheme's default filled in (``https://a.example`` is
``https://a.example:443``).
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_SCHEMES = {"ws": "http", "wss": "https"}

Origin = tuple[str, str, int]  # scheme, host (lower case), port


def parse_origin(value: str) -> Origin | None:
    """``"https://Shop.example"`` → ``("https", "shop.example", 443)``; None for
    anything that is not an http(s) origin with a host."""
    try:
        parts = urlsplit(value.strip())
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port out of range or not a number
        return None
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    return scheme, host, port


def _matches(origin: Origin, pattern: Origin) -> bool:
    scheme, host, port = pattern
    if (origin[0], origin[2]) != (scheme, port):
        return False
    if host.startswith("*."):
        return origin[1].endswith(host[1:])
    return origin[1] == host


def site_origins() -> list[Origin]:
    """The site's own origins, from the settings (read on every call: tests and
    ``settings`` overrides change them)."""
    configured = [settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS]
    return [origin for origin in map(parse_origin, configured) if origin is not None]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _served_at(scope) -> Origin | None:
    """The origin the socket was opened at (DEBUG only): its Host header, if it is one
    of ALLOWED_HOSTS, with the socket's scheme."""
    host = _header(scope, b"host")
    scheme = SOCKET_SCHEMES.get(scope.get("scheme", "ws"))
    if not host or scheme is None:
        return None
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS or [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        return None
    return parse_origin(f"{scheme}://{host}")


def origin_allowed(scope) -> bool:
    """Whether the websocket handshake in ``scope`` comes from one of the site's pages."""
    header = _header(scope, b"origin")
    origin = parse_origin(header) if header else None
    if origin is None:
        return False
    if any(_matches(origin, pattern) for pattern in site_origins()):
        return True
    return bool(settings.DEBUG) and origin == _served_at(scope)


class SiteOriginValidator:
    """ASGI middleware for the websocket router: a handshake from a page that is not
    the site's own (see the module's docstring) is refused (HTTP 403) before it
    reaches authentication or a consumer."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
