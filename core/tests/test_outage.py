"""The answer while the database is unreachable (core/outage.py), without a database.

These tests have no ``django_db`` mark: pytest-django refuses any query, so they also
prove that the 503 is rendered without reading the session, the user or anything
else from the database. The outage itself, through a real server and a proxy that is
cut, is tests/test_database_outage.py.
"""

import json
import logging

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from core.outage import RETRY_AFTER, OutageLog, database_unavailable, is_database_unavailable


def test_a_page_gets_a_503_in_the_sites_layout_with_no_database():
    # given a browser's request for a page, in Portuguese
    request = RequestFactory().get("/s/?q=bolo", HTTP_ACCEPT_LANGUAGE="pt-BR")

    # when the database cannot be reached
    response = database_unavailable(request, OperationalError("connection refused"))

    # then it is told so, in the site's layout and its language, and when to come back
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER)
    assert "no-store" in response["Cache-Control"]
    assert 'class="site-header"' in body
    assert '<html lang="pt-br"' in body
    assert 'href="/s/?q=bolo"' in body  # try again
    assert "connection refused" not in body


def test_the_api_gets_a_503_in_its_own_error_format():
    request = RequestFactory().get("/api/v1/businesses/")

    response = database_unavailable(request, OperationalError("connection refused"))

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER)
    body = json.loads(response.content)
    assert body["code"] == "unavailable"
    assert body["detail"]


def test_an_outage_is_a_few_log_lines_not_one_error_per_request(caplog):
    # given a process whose requests meet an unreachable database 38 times
    outage = OutageLog()
    with caplog.at_level(logging.INFO, logger="core.outage"):
        for _ in range(38):
            outage.failed(OperationalError("couldn't get a connection after 1.50 sec"))

        # when the database answers again (several requests at once)
        outage.answered()
        outage.answered()

    # then one warning said it went away and one that it came back, without a traceback
    assert [record.levelname for record in caplog.records] == ["WARNING", "WARNING"]
    went, came = (record.getMessage() for record in caplog.records)
    assert "Database unavailable" in went
    assert "couldn't get a connection" in went
    assert "Database available again" in came
    assert "38 request(s)" in came
    assert all(record.exc_info is None for record in caplog.records)


def test_a_long_outage_is_logged_again_each_minute(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("core.outage.time.monotonic", lambda: clock[0])
    outage = OutageLog()
    with caplog.at_level(logging.WARNING, logger="core.outage"):
        for _ in range(130):  # one request a second for 130 s
            outage.failed(OperationalError("connection refused"))
            clock[0] += 1

    assert len(caplog.records) == 3  # at 0, 60 and 120 s
    assert "for 120 s, 121 request(s)" in caplog.records[-1].getMessage()


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_only_an_unreachable_database_is_an_outage():
    from django.db import connection

    connection.ensure_connection()
    pool_timeout = OperationalError("couldn't get a connection after 1.50 sec")
    pool_timeout.__cause__ = PoolTimeout("couldn't get a connection after 1.50 sec")
    deadlock = OperationalError("deadlock detected")  # the connection is fine

    assert is_database_unavailable(pool_timeout)
    assert not is_database_unavailable(deadlock)  # a bug or contention: stays a 500
    assert not is_database_unavailable(ValueError("no"))
