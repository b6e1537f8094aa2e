"""API plumbing shared by every app: the exception handler."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AppError


def exception_handler(exc, context):
    if isinstance(exc, AppError):
        body = {"code": exc.code, "detail": str(exc.message)}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
