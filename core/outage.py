"""Answering while the database cannot be reached (docs/architecture.md, "Outages").

``core.middleware.DatabaseUnavailableMiddleware`` and ``/healthz`` use these: which
errors mean "the database is unreachable", the 503 that answers them, and the log
that records an outage in a few lines instead of one error per request.
"""

import logging
import threading
import time

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from psycopg_pool import PoolTimeout, TooManyRequests

logger = logging.getLogger(__name__)

# What a 503 tells clients (and load balancers) to wait before trying again, seconds.
RETRY_AFTER = 5


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (rather than a failing
    statement, e.g. a deadlock or a lock timeout, which stays a bug's 500)."""
    if connection.vendor != "postgresql" or not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if isinstance(exc.__cause__, PoolTimeout | TooManyRequests):
        return True
    # No connection (connecting failed), or psycopg found it broken.
    return connection.connection is None or connection.connection.closed


def database_unavailable(request, exc: BaseException) -> HttpResponse:
    """The 503 for a request that cannot reach the database. Renders without the
    request's context processors (they read the session and the user, i.e. the
    database), in the language of the browser (the user's own is in the database)."""
    outage_log.failed(exc)
    if request.path_info.startswith("/api/"):
        message = _("The service is temporarily unavailable. Please try again in a moment.")
        response = JsonResponse({"code": "unavailable", "detail": message}, status=503)
    else:
        with translation.override(translation.get_language_from_request(request)):
            # A token for the footer's forms (kept in no session: nothing to query).
            context = {"request": request, "csrf_token": get_token(request)}
            body = render_to_string("503.html", context)
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    add_never_cache_headers(response)
    # Django logs every 5xx as an error ("Service Unavailable: /path"); the outage is
    # logged by outage_log instead of once per request.
    response._has_been_logged = True
    return response


class OutageLog:
    """One warning when this process finds the database unreachable, another each
    minute while it stays so, and one when it answers again: an outage is a few log
    lines, not one error per request."""

    REPEAT_AFTER = 60.0

    def __init__(self):
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_warning = 0.0
        self._unanswered = 0

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._unanswered += 1
            if self._since is None:
                self._since = now
            elif now - self._last_warning < self.REPEAT_AFTER:
                return
            self._last_warning = now
            since, unanswered = self._since, self._unanswered
        logger.warning(
            "Database unavailable for %.0f s, %d request(s) answered 503 so far: %s: %s",
            now - since,
            unanswered,
            exc.__class__.__name__,
            exc,
        )

    def answered(self) -> None:
        if self._since is None:  # the usual case, without taking the lock
            return
        with self._lock:
            if self._since is None:
                return
            since, unanswered = self._since, self._unanswered
            self._since, self._last_warning, self._unanswered = None, 0.0, 0
        logger.warning(
            "Database available again after %.0f s; %d request(s) were answered 503.",
            time.monotonic() - since,
            unanswered,
        )


outage_log = OutageLog()


def database_answered(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: a connection was made (or taken from the
    pool), so an outage this process logged is over."""
    outage_log.answered()
