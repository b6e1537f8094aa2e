"""API plumbing shared by every app: the exception handler, and reading a request's
query string or body through an input serializer (a 400 with the field errors when
it does not validate)."""

from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AppError


def exception_handler(exc, context):
    if isinstance(exc, AppError):
        body = {"code": exc.code, "detail": str(exc.message)}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)


def query_data(request, serializer_class) -> dict:
    """The query string, validated by ``serializer_class``."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def input_data(request, serializer_class, **kwargs) -> dict:
    """The request body, validated by ``serializer_class(**kwargs)``."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def id_page(request, queryset, *, limit: int, before: int | None) -> dict:
    """One page of ``queryset`` (ordered by ``-pk``: newest first) for a list endpoint:
    ``{"results": [...], "next": <url of the next page or None>}``. The cursor is
    ``before=<id of the last row>``, so rows added meanwhile never shift a page."""
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    rows = list(queryset[: limit + 1])
    next_url = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_url = replace_query_param(request.build_absolute_uri(), "before", rows[-1].pk)
    return {"results": rows, "next": next_url}
