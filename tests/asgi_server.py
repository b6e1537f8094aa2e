"""The production-like ASGI server for journeys that need websockets.

Django's ``live_server`` is a WSGI thread: it cannot upgrade a socket. ``asgi_server``
starts ``uvicorn config.asgi:application`` (as ``make run`` does) in its own process
on the test database, with the test's media folder, and yields its URL as
``http://localhost:PORT``. With ``REDIS_URL`` set (CI) it uses Redis for the channel
layer and cache, under keys of its own, shared with a ``celery_worker`` started
by the same test (``shared_process_env``). Registered through ``pytest_plugins`` in the
root conftest.
"""

import os
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.celery_fixtures import _test_database_url, wait_for

BASE_DIR = Path(settings.BASE_DIR)
UVICORN = BASE_DIR / ".venv" / "bin" / "uvicorn"
READY_TIMEOUT = 60
# What an unhandled exception leaves in the server's log.
UNHANDLED = (
    "Traceback (most recent call last)",
    "Exception in callback",
    "exception was never retrieved",
    "Internal Server Error",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def asgi_server_env() -> dict[str, str]:
    """Extra environment for the server; a test module overrides this fixture (e.g. a
    ``DATABASE_URL`` through a proxy it can cut, tests/test_database_outage.py)."""
    return {}


@pytest.fixture
def asgi_server(request, transactional_db, tmp_path, settings, shared_process_env, asgi_server_env):
    port = _free_port()
    url = f"http://localhost:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "VAR_DIR", "MEDIA_ROOT"}
        and not key.startswith("PYTEST_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=_test_database_url(),
        # Shared with a worker the test starts (tests/celery_fixtures.py).
        VAR_DIR=shared_process_env["VAR_DIR"],
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        SITE_URL=url,
        DEBUG="1",
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env.update(
            REDIS_URL=shared_process_env["REDIS_URL"],
            REDIS_KEY_PREFIX=shared_process_env["REDIS_KEY_PREFIX"],
        )
    env.update(asgi_server_env)
    settings.SITE_URL = url
    # For tests that send socket events from this process to the server's sockets
    # (its Redis key prefix); restored with the settings after the test.
    settings.ASGI_SERVER_ENV = env
    log_path = tmp_path / "uvicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own virtualenv's uvicorn
            [
                str(UVICORN),
                "config.asgi:application",
                "--host=127.0.0.1",
                f"--port={port}",
                "--lifespan=off",
                "--no-access-log",
                "--ws-per-message-deflate=false",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if not wait_for(lambda: server.poll() is not None or _healthy(url), READY_TIMEOUT):
            pytest.fail("uvicorn did not start:\n" + log_path.read_text()[-4000:], pytrace=False)
        if server.poll() is not None:
            pytest.fail("uvicorn exited:\n" + log_path.read_text()[-4000:], pytrace=False)
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
                server.wait(timeout=10)
    # A request or a task that died with an unhandled exception (a 500, or a traceback
    # that never reached anyone, as asgiref's "CurrentThreadExecutor already quit or is
    # broken" did) fails the test that met it, unless the test is about faults.
    if not request.node.get_closest_marker("server_errors_expected"):
        unhandled = [
            line for line in log_path.read_text(errors="replace").splitlines()
            if any(sign in line for sign in UNHANDLED)
        ]  # fmt: skip
        if unhandled:
            pytest.fail(
                "the server logged an unhandled exception:\n"
                + log_path.read_text(errors="replace")[-6000:],
                pytrace=False,
            )
