"""Fixtures shared by the whole suite.

Services: tests marked ``needs_postgres`` or ``needs_redis`` *fail* when ``CI`` is
set and the service is missing (so CI can never go green by skipping them); on a
developer's machine they skip. Browser tests (marker ``browser``) run last and
are normally run as their own pytest invocation (see the Makefile).

People: ``owner`` of ``business`` ("Padaria Central"), with an ``admin`` and an
``agent``; an ``outsider`` who is a member of nothing; and ``other``, the business
next door with its own owner, admin and agent. Factories for users and businesses
are in ``accounts/tests/factories.py``, catalog helpers in
``catalog/tests/factories.py``, and the real Celery worker (``celery_worker``) in
``tests/celery_fixtures.py``.
"""

import os
from types import SimpleNamespace

import hypothesis
import pytest
import redis
from django.conf import settings
from django.db import connection

from accounts.models import Membership
from accounts.tests.factories import UserFactory, create_business, join
from core.pagecache import PUBLIC_STATES

# No per-example deadline for property tests: the machines are shared and small, and a
# slow example is not a wrong one (speed is measured under bench/, not in tests).
hypothesis.settings.register_profile("conversa", deadline=None)
hypothesis.settings.load_profile("conversa")

# The real Celery worker (``celery_worker``). pytest reads ``pytest_plugins`` in the
# root conftest only.
pytest_plugins = ["tests.celery_fixtures", "tests.asgi_server"]

IN_CI = bool(os.environ.get("CI"))

# The lock and concurrency tests run a dozen to fifty threads against this one
# process's connection pool (10 connections), on machines shared with other jobs: a
# thread may wait for a connection while others hold theirs waiting on a row lock.
# They wait as long as they did before (10 s). A web process answers 503 after
# DATABASE_POOL_TIMEOUT (1.5 s) instead, there many requests are spread over many
# processes; tests/test_database_outage.py measures that on a real server.
_pool_options = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
if isinstance(_pool_options, dict):
    _pool_options["timeout"] = 10
ROLE = Membership.Role


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not available", pytrace=False)
    pytest.skip(f"{what} not available")


def pytest_collection_modifyitems(config, items):
    """Browser tests last; the fuzzers (the longest tests, minutes each) first, so that
    under pytest-xdist no worker starts one when the others are nearly done."""
    # `make test` collects the journeys from their folder only (collecting the whole
    # suite costs each worker half a minute), so one elsewhere would never run.
    stray = [
        item.nodeid
        for item in items
        if item.get_closest_marker("browser") and not item.nodeid.startswith("tests/browser/")
    ]
    if stray:
        raise pytest.UsageError(f"browser tests belong in tests/browser/: {stray}")
    items.sort(
        key=lambda item: (
            item.get_closest_marker("browser") is not None,
            item.get_closest_marker("fuzz") is None,
        )
    )


ALLOW_TRUNCATE = "SET LOCAL conversa.allow_truncate = 'on'"
# Row triggers (the append-only guards, the foreign keys' checks) do not fire for a
# replica; a superuser's (CI's postgres) flush may say it is one for its transaction.
AS_REPLICA = "SET LOCAL session_replication_role = replica"


@pytest.fixture(autouse=True, scope="session")
def _flush_through_the_truncate_guards():
    """Django's flush (run between ``transactional_db`` tests) empties PostgreSQL with
    one TRUNCATE, which the append-only tables refuse (payments migration 0006) unless
    ``conversa.allow_truncate`` is on in the transaction: the flush's statements run
    in one transaction (``execute_sql_flush``), so a ``SET LOCAL`` first opens the
    guards for that flush only.

    A TRUNCATE of the ~80 tables costs half a second (new files for every table, at
    commit), which every transactional test paid. A superuser deletes the rows instead
    (a few milliseconds, the tables holding what one test wrote), as a replica, so
    that neither the guards nor the foreign keys' order stop it. Sequences go on as
    after a TRUNCATE without ``RESTART IDENTITY``; a flush that resets them still
    truncates."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def with_guards_open(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if tables and not reset_sequences and _is_superuser(self.connection):
            return [AS_REPLICA, *(f"DELETE FROM {self.quote_name(table)}" for table in tables)]  # noqa: S608 - table names from the schema
        statements = sql_flush(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        return [ALLOW_TRUNCATE, *statements] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", with_guards_open)
        yield


def _is_superuser(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return cursor.fetchone()[0]


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
def _no_event_relay_in_process(settings):
    """The embedded relay loop (chats.relay) is for a real web server next to real
    workers; tests that run ``config.asgi.application`` in this process send their
    events directly."""
    settings.CHAT_EVENT_RELAY = False


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a per-test folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _public_states():
    """Each test reads the businesses' versions afresh: tests reuse slugs (and, after
    a rollback, ids) within the second this process would otherwise keep them for
    (core.pagecache)."""
    PUBLIC_STATES.clear()


@pytest.fixture(autouse=True)
def _webhook_targets():
    """The same for the embedded default's memo of each business's webhook endpoints
    (webhooks.services.capture.LOCAL_SECONDS)."""
    from webhooks.services import capture

    capture._local.clear()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Passwords are hashed with one PBKDF2 iteration in this process
    (tests/hashers.py says why that is safe with the servers a test starts). The tests
    about timing set the production hasher again (accounts/tests/test_signup_timing.py).
    PINs have their own hasher, ~4 ms (payments.hashers), not affected by this."""
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Messages made outside a request (services called by a test) are in English, as
    the assertions read them, whatever a previous test left active in this thread;
    requests still choose their own language (LocaleMiddleware)."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """Counters in the default cache (chat rate limits, presence) start at zero in each
    test. Only the in-process cache is cleared: a Redis cache is shared (flushing it
    would flush the broker too), and PostgreSQL never reuses the ids its keys hold."""
    from django.core.cache import caches

    if "locmem" in type(caches["default"]).__module__:
        caches["default"].clear()


# --- People -------------------------------------------------------------------------


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.com", display_name="Olga Owner")


@pytest.fixture
def business(owner):
    return create_business(owner=owner, name="Padaria Central", slug="padaria-central")


@pytest.fixture
def admin(business):
    user = UserFactory(email="admin@example.com")
    return join(business=business, role=ROLE.ADMIN, user=user).user


@pytest.fixture
def agent(business):
    user = UserFactory(email="agent@example.com")
    return join(business=business, role=ROLE.AGENT, user=user).user


@pytest.fixture
def outsider(db):
    """Signed in somewhere, member of nothing."""
    return UserFactory(email="outsider@example.com")


@pytest.fixture
def other(db):
    """The business next door ("Loja Vizinha"), with an owner, an admin and an agent."""
    other_owner = UserFactory(email="other-owner@example.com")
    business = create_business(owner=other_owner, name="Loja Vizinha", slug="loja-vizinha")
    return SimpleNamespace(
        owner=other_owner,
        business=business,
        admin=join(business=business, role=ROLE.ADMIN).user,
        agent=join(business=business, role=ROLE.AGENT).user,
    )
