"""Flash a service's outcome: the HTML views' "call, say how it went, redirect" step."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.functional import Promise

from core.errors import AppError


def flash_outcome(
    request: HttpRequest, action: Callable[[], Any], *, success: str | Promise
) -> bool:
    """Run ``action`` (a service call, usually a ``lambda``); flash the
    :class:`AppError` it raises as an error, or ``success`` when it returns, and
    answer whether it succeeded. Anything but an AppError is a bug and propagates.

    For views whose error and success both end in the same redirect (or in one of two,
    chosen by the answer); a view that shows its form again with the error, or answers
    another status, keeps its own ``try``. A function rather than a context manager:
    a ``with`` block that swallows the error hides that the code after it runs on both
    paths, and could not hand back the answer without an extra object. ``success`` is
    worded before the call, so build it from what the view already knows."""
    try:
        action()
    except AppError as exc:
        messages.error(request, str(exc.message))
        return False
    messages.success(request, success)
    return True
