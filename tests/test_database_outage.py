"""A PostgreSQL outage, seen by a real server: it fails fast and comes back by itself.

The ASGI server (tests/asgi_server.py) reaches the test database through a small TCP
proxy that the test cuts and restores. Cutting it drops every open connection and
then either refuses new ones (the database's host is up, PostgreSQL is not) or
accepts them and never answers (a hung server, or a firewall that drops packets).
While it is cut, ``/healthz`` answers 503 within a second, pages a 503 in the site's
layout within about two, the API a JSON 503, ten requests at once are all answered
(no backlog behind a pool's timeout) and nothing logs a stack trace; once it is
restored, pages answer 200 again within a couple of seconds. See docs/architecture.md,
"Outages".
"""

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.tests.factories import UserFactory
from tests.asgi_server import _free_port
from tests.celery_fixtures import _test_database_url, wait_for

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


class PostgresProxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL, run by an event loop in a thread
    of its own. ``cut("refused")`` or ``cut("blackholed")`` drops every connection;
    ``restore()`` forwards new connections again."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = _free_port()
        self.mode = "open"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def cut(self, mode: str) -> None:
        assert mode in {"refused", "blackholed"}
        self._call(self._cut(mode))

    def restore(self) -> None:
        self._call(self._restore())

    def stop(self) -> None:
        self._call(self._cut("refused"))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    def _drop_all(self) -> None:
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def _cut(self, mode: str) -> None:
        self.mode = mode
        if mode == "refused" and self._server is not None:
            self._server.close()  # nothing listens: new connections are refused
            self._server = None
        self._drop_all()

    async def _restore(self) -> None:
        self.mode = "open"
        self._drop_all()  # the ones accepted and never answered while blackholed
        if self._server is None:
            await self._listen()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._transports.add(writer.transport)
        if self.mode != "open":
            return  # blackholed: accepted, never answered, closed at restore()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._transports.add(upstream_writer.transport)
        await asyncio.gather(
            self._pump(reader, upstream_writer), self._pump(upstream_reader, writer)
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(writer.transport)
            writer.transport.abort()


@pytest.fixture
def postgres_proxy(transactional_db):
    settings_dict = connection.settings_dict
    proxy = PostgresProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def asgi_server_env(postgres_proxy) -> dict[str, str]:
    """The server's DATABASE_URL points at the proxy (and so at the test database)."""
    url = urlsplit(_test_database_url())
    credentials, at, _ = url.netloc.rpartition("@")
    netloc = f"{credentials}{at}127.0.0.1:{postgres_proxy.port}"
    return {"DATABASE_URL": urlunsplit(url._replace(netloc=netloc))}


def _get(url: str, **headers: str) -> tuple[int, Message, str, float]:
    """(status, headers, body, seconds) of a GET; a 4xx/5xx is an answer too."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            status, head, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, error.headers, error.read()
    return status, head, body.decode(), time.monotonic() - started


@pytest.mark.parametrize("failure", ["refused", "blackholed"])
def test_a_database_outage_fails_fast_and_service_returns_with_the_database(
    postgres_proxy, asgi_server, failure
):
    # given a server that answers pages through the proxy, to visitors and to a
    # signed-in user (whose session and user the middleware reads before the view)
    browser = Client()
    browser.force_login(UserFactory())
    signed_in = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.session.session_key}"}
    assert _get(asgi_server + "/s/")[0] == 200
    status, _, body, _ = _get(asgi_server + "/", **signed_in)
    assert status == 200
    assert "Sign out" in body

    # when the database goes away
    postgres_proxy.cut(failure)

    # then the health check says so within about a second: it gives the database
    # 0.8 s (core.views.HEALTHZ_DATABASE_TIMEOUT); the margin is for this 2-core machine
    # running another test worker beside the server (1.03 s was seen there)
    status, _, body, seconds = _get(asgi_server + "/healthz")
    assert status == 503
    assert json.loads(body)["checks"]["database"].startswith("error: ")
    assert seconds < 1.5

    # and a page answers "temporarily unavailable" in the site's layout within ~2 s
    status, head, body, seconds = _get(asgi_server + "/s/", **{"Accept-Language": "en"})
    assert status == 503
    assert 'class="site-header"' in body
    assert "Temporarily unavailable" in body
    assert head["Retry-After"].isdigit()
    assert seconds < 2.5

    # and so does a page for the signed-in user, though the session cannot be read
    status, head, body, seconds = _get(asgi_server + "/", **signed_in, **{"Accept-Language": "en"})
    assert status == 503
    assert 'class="site-header"' in body
    assert "Temporarily unavailable" in body
    assert head["Retry-After"].isdigit()
    assert seconds < 2.5

    # and the API answers with its own error format
    status, head, body, seconds = _get(asgi_server + "/api/v1/businesses/")
    assert status == 503
    assert json.loads(body)["code"] == "unavailable"
    assert head["Retry-After"].isdigit()
    assert seconds < 2.5

    # and ten requests at once are all answered, none queued behind another
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(
                lambda i: _get(asgi_server + "/", **(signed_in if i % 2 else {}))[0], range(10)
            )
        )
    assert answers == [503] * 10
    assert time.monotonic() - started < 3.5

    # when the database comes back
    postgres_proxy.restore()
    restored = time.monotonic()

    # then pages answer again within a couple of seconds
    assert wait_for(lambda: _get(asgi_server + "/s/")[0] == 200, timeout=10, interval=0.1)
    assert time.monotonic() - restored < 2.5
    assert _get(asgi_server + "/healthz")[0] == 200
    status, _, body, _ = _get(asgi_server + "/", **signed_in)
    assert status == 200
    assert "Sign out" in body
