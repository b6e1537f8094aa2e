"""The one way a webhook leaves the machine: checked against server-side request
forgery, then sent to the address that was checked.

- :func:`check_url` (when an endpoint is saved): HTTPS only — plain HTTP only to
  ``localhost`` / a loopback address while ``DEBUG`` is on —, no credentials in the
  URL, a host name or a public address.
- :func:`resolve` (at every delivery): the host's addresses, each refused if it is
  not a public unicast address (private, loopback, link-local, multicast, reserved,
  unspecified, shared, IPv4-mapped IPv6 of any of those), unless it is in
  ``WEBHOOKS_ALLOWED_NETWORKS``. A name with any refused address is refused.
- :func:`post` connects to that checked address (the URL carries the IP; the
  ``Host`` header and TLS's SNI and certificate check carry the name), so a DNS
  answer that changes between the check and the connection (rebinding) changes
  nothing. Redirects are not followed; the answer is read up to 64 kB, and the
  whole request stops after ``WEBHOOKS_TIMEOUT`` seconds.
"""

import dataclasses
import ipaddress
import os
import socket
import time
from functools import lru_cache
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import AppError

MAX_ANSWER = 64 * 1024
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The destination may not be reached (SSRF rules); the message says why."""


def _refuse(message: str) -> AppError:
    return AppError(message, code="invalid_url", field="url")


def check_url(url: str) -> str:
    """The URL, stripped, if an endpoint may have it; an ``AppError`` (field ``url``)
    if not. Checks its form only: the addresses are checked at each delivery."""
    url = str(url or "").strip()
    if not url or len(url) > 2000:
        raise _refuse(_("Enter a URL of at most 2000 characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse(_("Enter a valid URL.")) from None
    host = (parts.hostname or "").lower()
    if not host or any(c.isspace() for c in url):
        raise _refuse(_("Enter a valid URL."))
    if parts.username is not None or parts.password is not None:
        raise _refuse(_("The URL cannot contain a user name or password."))
    if parts.scheme == "http":
        if not (settings.DEBUG and host in LOCAL_NAMES):
            raise _refuse(_("The URL must start with https://."))
    elif parts.scheme != "https":
        raise _refuse(_("The URL must start with https://."))
    if port == 0:
        raise _refuse(_("Enter a valid URL."))
    return url


@lru_cache(maxsize=8)
def _allowed(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip())


def is_forbidden(address: IP) -> bool:
    """Whether a webhook may not go to ``address`` (SSRF rules, the setting's
    networks excepted)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network in _allowed(tuple(settings.WEBHOOKS_ALLOWED_NETWORKS)):
        if address.version == network.version and address in network:
            return False
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> IP:
    """The checked address to connect to for ``host``; :class:`Refused` if there is
    none, or if any of its addresses is forbidden."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"cannot resolve {host}: {exc}") from None
        found = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not found:
        raise Refused(f"cannot resolve {host}")
    for address in found:
        if is_forbidden(address):
            raise Refused(f"{host} resolves to a forbidden address ({address})")
    return found[0]


_clients: dict[int, httpx.Client] = {}


def _client() -> httpx.Client:
    """The process's HTTP client (thread-safe; made after a fork, in the child): a new
    one costs ~25 ms of CPU, its TLS context. No connection is kept alive: each request
    connects to the address just checked, and a TLS connection made for one name is
    never reused for another name on the same address."""
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
    return client


@dataclasses.dataclass
class Answer:
    status_code: int | None
    body: bytes
    headers: dict[str, str]
    duration_ms: int
    error: str = ""


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Answer:
    """POST ``body`` to ``url`` under the SSRF rules; never raises for a network
    failure or a refused address (the :class:`Answer` has ``error``)."""
    timeout = settings.WEBHOOKS_TIMEOUT if timeout is None else timeout
    started = time.monotonic()

    def failed(error: str) -> Answer:
        return Answer(None, b"", {}, int((time.monotonic() - started) * 1000), error[:255])

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    try:
        check_url(url)
        address = resolve(host, port)
    except AppError as exc:
        return failed(str(exc.message))
    except Refused as exc:
        return failed(str(exc))
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    target = parts._replace(netloc=netloc).geturl()
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host:
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    deadline = started + timeout
    try:
        with _client().stream(
            "POST",
            target,
            content=body,
            headers={**headers, "host": host_header},
            extensions=extensions,
            timeout=timeout,
        ) as response:
            answer = bytearray()
            for chunk in response.iter_raw():
                answer += chunk
                if len(answer) >= MAX_ANSWER or time.monotonic() > deadline:
                    break
            if time.monotonic() > deadline:
                return failed("timed out")
            return Answer(
                response.status_code,
                bytes(answer[:MAX_ANSWER]),
                dict(response.headers),
                int((time.monotonic() - started) * 1000),
            )
    except httpx.TimeoutException:
        return failed("timed out")
    except httpx.HTTPError as exc:
        return failed(f"{type(exc).__name__}: {exc}")
