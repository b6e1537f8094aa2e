"""The platform under the features: health check, settings, row locks, sockets, API docs.

Settings are read in subprocesses, each with an environment built from scratch, so a
test proves what a real process started with that environment gets.
"""

import asyncio
import json
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.db import OperationalError

BASE_DIR = Path(django_settings.BASE_DIR)


# --- /healthz ---------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_is_200_when_the_database_answers(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured"},
    }
    assert "no-cache" in response["Cache-Control"]


class _BrokenConnection:
    """Stands in for ``django.db.connection`` when the database is gone."""

    def cursor(self):
        raise OperationalError("connection refused")


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_fails(client, settings, monkeypatch):
    settings.REDIS_URL = ""
    monkeypatch.setattr("core.views.connection", _BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "error: OperationalError"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.needs_redis
@pytest.mark.django_db
def test_healthz_reports_redis_when_it_is_configured(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_configured_but_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("error: ")


# --- Settings, each read by a fresh process -------------------------------------------

_DUMP_SETTINGS = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from django.conf import settings
from config.celery import app
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "db_engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "db_host": db.get("HOST", ""),
    "db_test_name": str(db.get("TEST", {}).get("NAME") or ""),
    "db_options": db.get("OPTIONS", {}),
    "db_conn_max_age": db.get("CONN_MAX_AGE"),
    "fragments_cache": settings.CACHES["fragments"]["BACKEND"],
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "channel_capacity": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("capacity"),
    "channel_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION", ""),
    "cache_prefix": settings.CACHES["default"].get("KEY_PREFIX", ""),
    "channel_prefix": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix"),
    "broker_url": app.conf.broker_url,
    "broker_options": app.conf.broker_transport_options,
    "mailers": settings.MAILERS,
    "var_dir": str(settings.VAR_DIR),
}))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """An environment with nothing but PATH and HOME (and ``extra``)."""
    import os

    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home()), **extra}


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings_in(env: dict[str, str]) -> dict:
    result = _run_python(_DUMP_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(50))


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = _clean_env(
        VAR_DIR=str(tmp_path / "var"),
        DEBUG="0",
        SECRET_KEY=_random_secret_key(),
        PAYMENT_PIN_PEPPER=_random_secret_key(),
        PIX_CALLBACK_SECRET=_random_secret_key(),
        ALLOWED_HOSTS="conversa.example",
        SMTP_URL="smtp://user:pass@mail.example:587/?tls=True",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_settings_with_an_empty_environment_are_the_embedded_default():
    # VAR_DIR unset: the default folder, var/ in the project.
    got = _settings_in(_clean_env())
    var = BASE_DIR / "var"
    assert got["DEBUG"] is True
    assert got["var_dir"] == str(var)
    assert got["db_engine"] == "django.db.backends.sqlite3"
    assert got["db_name"] == str(var / "conversa.sqlite3")
    assert got["db_test_name"] == str(var / "test.sqlite3")
    assert got["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert got["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert got["broker_url"] == "filesystem://"
    folders = {
        key: Path(value)
        for key, value in got["broker_options"].items()
        if key.endswith("folder") or key.startswith("data_folder")
    }
    assert {"data_folder_in", "data_folder_out", "control_folder"} <= set(folders)
    for key, folder in folders.items():
        assert folder.is_absolute(), key
        assert folder.is_dir(), key
        assert folder.is_relative_to(var), key
    default_mailer = got["mailers"]["default"]
    assert default_mailer["BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert default_mailer["OPTIONS"]["file_path"] == str(var / "mail")


def test_settings_switch_to_the_servers_when_urls_are_set(tmp_path):
    got = _settings_in(
        _clean_env(
            VAR_DIR=str(tmp_path / "var"),
            DATABASE_URL="postgres://conversa:s3cret@db.example:5432/conversa",
            REDIS_URL="redis://cache.example:6379/2",
            SMTP_URL="smtp://user:p%40ss@mail.example:587/?tls=True",
        )
    )
    assert got["db_engine"] == "django.db.backends.postgresql"
    assert (got["db_name"], got["db_host"]) == ("conversa", "db.example")
    assert got["channel_layer"] == "core.channel_layer.RedisChannelLayer"
    assert got["channel_capacity"] == 2000
    assert got["channel_hosts"] == [
        {"address": "redis://cache.example:6379/2", "max_connections": 1000, "socket_timeout": 15}
    ]
    assert got["cache"] == "core.cache.RedisCache"
    assert got["cache_location"] == "redis://cache.example:6379/2"
    assert got["broker_url"] == "redis://cache.example:6379/2"
    assert got["broker_options"] == {"global_keyprefix": "conversa:", "visibility_timeout": 3600}
    assert got["cache_prefix"] == got["channel_prefix"] == "conversa"
    # rendered catalog parts stay in each process (see catalog.views._cached_fragment)
    assert got["fragments_cache"] == "django.core.cache.backends.locmem.LocMemCache"
    default_mailer = got["mailers"]["default"]
    assert default_mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    options = default_mailer["OPTIONS"]
    assert options["host"] == "mail.example"
    assert options["port"] == 587
    assert options["username"] == "user"
    assert options["password"] == "p@ss"
    assert options["use_tls"] is True
    assert options["use_ssl"] is False
    assert not {key for key in got["mailers"]["default"] if key.startswith("EMAIL_")}


def test_postgresql_connections_come_from_a_pool_unless_it_is_turned_off(tmp_path):
    # Under ASGI each request runs in a new thread, so only a pool reuses connections;
    # Django refuses CONN_MAX_AGE with one.
    url = "postgres://conversa:s3cret@db.example:5432/conversa"
    pooled = _settings_in(_clean_env(VAR_DIR=str(tmp_path / "var"), DATABASE_URL=url))
    unpooled = _settings_in(
        _clean_env(VAR_DIR=str(tmp_path / "var"), DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="0")
    )

    assert pooled["db_options"]["pool"] == {
        "min_size": 2,
        "max_size": 10,
        "timeout": 1.5,
        "max_waiting": 50,
        "reconnect_timeout": 2,
    }
    assert pooled["db_conn_max_age"] == 0
    assert "pool" not in unpooled["db_options"]
    assert unpooled["db_conn_max_age"] == 60


def test_postgresql_fails_fast_when_the_database_is_unreachable(tmp_path):
    # A request waits 1.5 s at most for a connection, libpq 2 s for connecting, and a
    # connection whose data goes unacknowledged for 2 s is dropped (docs/architecture.md,
    # "Outages"); each can be tuned, the libpq ones in DATABASE_URL's query string.
    url = "postgres://conversa:s3cret@db.example:5432/conversa"
    defaults = _settings_in(_clean_env(VAR_DIR=str(tmp_path / "var"), DATABASE_URL=url))
    tuned = _settings_in(
        _clean_env(
            VAR_DIR=str(tmp_path / "var"),
            DATABASE_URL=url + "?connect_timeout=5&tcp_user_timeout=10000",
            DATABASE_POOL_TIMEOUT="3",
            DATABASE_POOL_MAX_WAITING="7",
        )
    )
    unpooled = _settings_in(
        _clean_env(VAR_DIR=str(tmp_path / "var"), DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="0")
    )

    assert defaults["db_options"]["connect_timeout"] == 2
    assert defaults["db_options"]["tcp_user_timeout"] == 2000
    assert tuned["db_options"]["connect_timeout"] == 5
    assert tuned["db_options"]["tcp_user_timeout"] == 10000
    assert tuned["db_options"]["pool"]["timeout"] == 3.0
    assert tuned["db_options"]["pool"]["max_waiting"] == 7
    assert unpooled["db_options"]["connect_timeout"] == 2


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_the_postgresql_connection_has_the_outage_timeouts():
    from django.db import connection

    connection.ensure_connection()

    parameters = connection.connection.info.get_parameters()
    assert parameters["connect_timeout"] == "2"
    assert parameters["tcp_user_timeout"] == "2000"


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_the_postgresql_connection_is_taken_from_the_pool():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    assert connection.pool is not None
    assert connection.connection._pool is connection.pool


def test_redis_key_prefix_keeps_deployments_sharing_a_redis_apart(tmp_path):
    got = _settings_in(
        _clean_env(
            VAR_DIR=str(tmp_path / "var"),
            REDIS_URL="redis://cache.example:6379/0",
            REDIS_KEY_PREFIX="staging",
        )
    )
    assert got["cache_prefix"] == got["channel_prefix"] == "staging"
    assert got["broker_options"] == {"global_keyprefix": "staging:", "visibility_timeout": 3600}


@pytest.mark.parametrize(
    ("url", "use_tls", "use_ssl", "port"),
    [
        ("smtp://u:p@mail.example/?tls=1", True, False, 587),
        ("smtp://u:p@mail.example:2525/?tls=false", False, False, 2525),
        ("smtp://u:p@mail.example/?email_use_tls=False", False, False, 587),
        ("smtp+tls://u:p@mail.example:25", True, False, 25),
        ("smtp+ssl://u:p@mail.example", False, True, 465),
        ("smtp://mail.example/?ssl=yes", False, True, 465),
    ],
)
def test_smtp_url_tls_flags(tmp_path, url, use_tls, use_ssl, port):
    got = _settings_in(_clean_env(VAR_DIR=str(tmp_path / "var"), SMTP_URL=url))
    options = got["mailers"]["default"]["OPTIONS"]
    assert (options["use_tls"], options["use_ssl"], options["port"]) == (use_tls, use_ssl, port)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smtp://u:p@mail.example/?tsl=1", "unknown option"),
        ("smtp://u:p@mail.example/?tls=maybe", "not a yes/no value"),
        ("smtp://u:p@mail.example/?tls=1&ssl=1", "not both"),
    ],
)
def test_a_wrong_smtp_url_fails_at_start_up(tmp_path, url, message):
    result = _run_python(_DUMP_SETTINGS, _clean_env(VAR_DIR=str(tmp_path / "var"), SMTP_URL=url))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_debug_off_without_secret_key_fails_clearly(tmp_path):
    result = _run_python(_DUMP_SETTINGS, _clean_env(VAR_DIR=str(tmp_path / "var"), DEBUG="0"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set SECRET_KEY when DEBUG is off." in result.stderr


# --- ASGI ---------------------------------------------------------------------------


SITE = "http://localhost:8000"


async def _reaches_the_router(headers, path="/ws/no-such-socket/") -> bool:
    """Whether a websocket handshake with ``headers`` gets past the origin check: the
    URL router (which knows no such path) raises; the check closes it unaccepted.
    Whichever comes first is the answer (the communicator's ``connect`` would report
    the router's error only when its timeout ends)."""
    from config.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=headers)
    await communicator.send_input({"type": "websocket.connect"})
    sent = asyncio.ensure_future(communicator.output_queue.get())
    done, _pending = await asyncio.wait(
        {sent, communicator.future}, timeout=5, return_when=asyncio.FIRST_COMPLETED
    )
    if communicator.future in done:
        sent.cancel()
        exc = communicator.future.exception()
        assert isinstance(exc, ValueError) and "No route found" in str(exc), exc
        return True
    assert sent in done, "the handshake got no answer"
    assert sent.result()["type"] == "websocket.close", sent.result()
    await communicator.disconnect()
    return False


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"http://localhost.evil.example",
        b"http://evil.example:8000",
        b"http://localhost:8001",  # the site's host on another port
        b"http://localhost",  # ... on the scheme's default port
        b"https://localhost:8000",  # ... on another scheme
        b"ws://localhost:8000",
        b"null",
        b"",
        b"http://user@localhost:8000",
        b"http://localhost:99999",
        None,  # no Origin at all
    ],
    ids=[
        "foreign",
        "look-alike",
        "foreign-same-port",
        "wrong-port",
        "default-port",
        "wrong-scheme",
        "ws-scheme",
        "null",
        "empty",
        "userinfo",
        "bad-port",
        "missing",
    ],
)
async def test_a_websocket_from_another_origin_is_refused(settings, origin):
    # given the site at http://localhost:8000 (in production: DEBUG off)
    settings.SITE_URL, settings.CSRF_TRUSTED_ORIGINS, settings.DEBUG = SITE, [], False
    headers = [(b"host", b"localhost:8000")]
    if origin is not None:
        headers.append((b"origin", origin))

    # when a page from another origin (scheme, host or port) opens a socket
    # then the origin check refuses it
    assert await _reaches_the_router(headers) is False


@pytest.mark.asyncio
@pytest.mark.parametrize("origin", [b"http://localhost:8000", b"HTTP://LocalHost:8000"])
async def test_a_websocket_from_the_sites_origin_gets_past_the_check(settings, origin):
    settings.SITE_URL, settings.CSRF_TRUSTED_ORIGINS, settings.DEBUG = SITE, [], False

    headers = [(b"origin", origin), (b"host", b"localhost:8000")]

    assert await _reaches_the_router(headers) is True


@pytest.mark.asyncio
async def test_csrf_trusted_origins_may_open_sockets_too(settings):
    # given a site served at its own name and trusted under another (a wildcard too)
    settings.SITE_URL, settings.DEBUG = "https://shop.example", False
    settings.CSRF_TRUSTED_ORIGINS = ["https://www.shop.example", "https://*.loja.example"]

    def opened_from(origin: bytes):
        return _reaches_the_router([(b"origin", origin), (b"host", b"shop.example")])

    # then those origins pass, on their scheme and (default) port only
    for origin in (
        b"https://shop.example",
        b"https://shop.example:443",
        b"https://www.shop.example",
    ):
        assert await opened_from(origin) is True
    assert await opened_from(b"https://a.loja.example") is True
    for origin in (
        b"http://shop.example",
        b"https://shop.example:8443",
        b"http://www.shop.example",
        b"https://loja.example.evil",
        b"https://evilloja.example",
    ):
        assert await opened_from(origin) is False


@pytest.mark.asyncio
async def test_in_debug_the_origin_the_dev_server_is_served_at_passes(settings):
    # given `make run` on another port than SITE_URL's (DEBUG on)
    settings.SITE_URL, settings.CSRF_TRUSTED_ORIGINS, settings.DEBUG = SITE, [], True

    def opened(origin: bytes, host: bytes):
        return _reaches_the_router([(b"origin", origin), (b"host", host)])

    # then a page of that server may open its socket
    assert await opened(b"http://127.0.0.1:8001", b"127.0.0.1:8001") is True
    assert await opened(b"http://localhost:8001", b"localhost:8001") is True
    # but not a page from another port, scheme or host, nor for a host not allowed
    assert await opened(b"http://127.0.0.1:9999", b"127.0.0.1:8001") is False
    assert await opened(b"https://127.0.0.1:8001", b"127.0.0.1:8001") is False
    assert await opened(b"http://evil.example:8001", b"127.0.0.1:8001") is False
    assert await opened(b"http://evil.example", b"evil.example") is False


# --- API docs under the strict CSP --------------------------------------------------


@pytest.mark.django_db
def test_api_docs_page_runs_under_the_strict_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    html = response.content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts, "the page loads Swagger UI with scripts"
    for attributes, body in scripts:
        assert body.strip() == "", f"inline script code: {body[:80]!r}"
        src = re.search(r'src="([^"]+)"', attributes)
        assert src, f"script without src: {attributes!r}"
    assert not re.search(r"<style\b", html, flags=re.I), "inline <style> is blocked"
    assert not re.search(r"\son\w+=", html, flags=re.I), "inline event handlers are blocked"

    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        url = url.replace("&amp;", "&")
        assert url.startswith("/"), f"{url} is not on this origin"
        if url.startswith(django_settings.STATIC_URL):
            path = url[len(django_settings.STATIC_URL) :].split("?")[0]
            assert finders.find(path), f"missing static file {path}"
        else:
            asset = client.get(url)
            assert asset.status_code == 200, url
            if "script" in url:
                assert "javascript" in asset["Content-Type"]


@pytest.mark.django_db
def test_api_schema_declares_the_token_scheme(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token: `Authorization: Bearer cv_…`.",
    }
