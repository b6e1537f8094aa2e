import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve

from core.http import sent_whole
from core.outage import outage_log

# /healthz answers within a second even when the database or Redis hangs: a load
# balancer's probe must not wait behind the pool's timeout (docs/architecture.md,
# "Outages").
HEALTHZ_DATABASE_TIMEOUT = 0.8
HEALTHZ_REDIS_TIMEOUT = 0.5


@never_cache
@require_GET
def healthz(request):
    """200 when the database (and Redis, when configured) answer; 503 otherwise."""
    checks: dict[str, str] = {}
    healthy = True
    database_error: Exception | None = None
    try:
        _check_database()
        checks["database"] = "ok"
        outage_log.answered()
    except Exception as exc:  # any failure means unhealthy, whatever its type
        checks["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
        database_error = exc
    if settings.REDIS_URL:
        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=HEALTHZ_REDIS_TIMEOUT,
                socket_connect_timeout=HEALTHZ_REDIS_TIMEOUT,
            )
            client.ping()
            client.close()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
            healthy = False
    else:
        checks["redis"] = "not configured"
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    if database_error is not None:
        # A probe every few seconds during an outage: one line a minute, not one each.
        outage_log.failed(database_error)
        response._has_been_logged = True
    return response


def _check_database() -> None:
    """``SELECT 1`` on a connection of this process. With psycopg's pool (PostgreSQL),
    one taken from the pool with a budget of its own: what the pages would get, said
    within a second (PoolTimeout while the database is down). Without a pool,
    connecting is bounded by libpq's connect_timeout."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    pool.open()  # a no-op once open; Django opens it on the first request otherwise
    with pool.connection(timeout=HEALTHZ_DATABASE_TIMEOUT) as pooled:
        pooled.execute("SELECT 1")


def bare(request):
    """A view that does nothing: the floor the benchmarks measure pages against."""
    return HttpResponse(b"ok", content_type="text/plain")


@login_required
def bare_user(request):
    """The signed-in floor: the session and its user loaded (as every signed-in page
    does, in the middleware), nothing else. Signed-in pages are measured against it
    (bench/pages.py)."""
    return HttpResponse(str(request.user.pk).encode(), content_type="text/plain")


def media(request, path):
    """Uploaded files. Names are random and never rewritten, so they cache forever.

    Sent whole, not streamed (core.http.sent_whole)."""
    response = sent_whole(serve(request, path, document_root=settings.MEDIA_ROOT))
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response
