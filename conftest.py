"""Fixtures shared by the whole suite.

Services: tests marked ``needs_postgres`` or ``needs_redis`` *fail* when ``CI`` is
set and the service is missing (so CI can never go green by skipping them); on a
developer's machine they skip. Browser tests (marker ``browser``) run last and
are normally run as their own pytest invocation (see the Makefile).
"""

import os

import pytest
import redis
from django.conf import settings
from django.db import connection

# The real Celery worker (``celery_worker``). pytest reads ``pytest_plugins`` in the
# root conftest only.
pytest_plugins = ["tests.celery_fixtures"]

IN_CI = bool(os.environ.get("CI"))


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not available", pytrace=False)
    pytest.skip(f"{what} not available")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("needs_postgres") and connection.vendor != "postgresql":
        _missing("PostgreSQL (set DATABASE_URL)")
    if request.node.get_closest_marker("needs_redis"):
        if not settings.REDIS_URL:
            _missing("Redis (set REDIS_URL)")
        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
            client.ping()
            client.close()
        except redis.RedisError:
            _missing(f"Redis at {settings.REDIS_URL}")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a per-test folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
