import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve


@never_cache
@require_GET
def healthz(request):
    """200 when the database (and Redis, when configured) answer; 503 otherwise."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means unhealthy, whatever its type
        checks["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
    if settings.REDIS_URL:
        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
            )
            client.ping()
            client.close()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
            healthy = False
    else:
        checks["redis"] = "not configured"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def bare(request):
    """A view that does nothing: the floor the benchmarks measure pages against."""
    return HttpResponse(b"ok", content_type="text/plain")


def media(request, path):
    """Uploaded files. Names are random and never rewritten, so they cache forever.

    Sent whole, not streamed: ``serve`` answers with a ``FileResponse``, whose file
    iterator is synchronous, so under ASGI Django warned "StreamingHttpResponse must
    consume synchronous iterators" on every photo and ran the read in a thread per chunk.
    Uploads are re-encoded images of bounded size (core.images), so a read is cheap."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.streaming:
        try:
            body = b"".join(response.streaming_content)
        finally:
            response.close()
        whole = HttpResponse(body, status=response.status_code)
        for header, value in response.items():
            whole[header] = value
        whole["Content-Length"] = str(len(body))
        response = whole
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response
