"""Django's ASGI handler, with each response made in a task of its own (config.asgi).

Why: a client that goes away while its request is being answered (a fast click to
another page, a closed tab, an HTMX request replaced by the next one) made the server
log "RuntimeError: CurrentThreadExecutor already quit or is broken", and that request's
``request_finished`` never ran, so its database connection and caches were not closed.

The cause is in how Django runs a sync middleware stack under ASGI, with asgiref 3.13.
The request's task calls the whole stack through ``sync_to_async`` (one thread), and
the lowest sync-only middleware calls Django's async core through ``async_to_sync``,
which names a ``CurrentThreadExecutor`` in that thread's context while it waits. When
the client disconnects, Django cancels the request's task; asgiref's ``SyncToAsync``,
cancelled while its thread is still running, copies that thread's context back into
the task as it is at that moment. If the thread is then inside the ``async_to_sync``
(just before the view, or just after it, with the response ready) the task now names
that executor, which quits a moment later, and Django's next ``sync_to_async`` in the
task, its ``request_finished`` signal, is refused (the view runs to its end either way).

Here the stack runs in a task of its own that the disconnect does not cancel (a sync
view cannot be interrupted anyway: its thread runs to the end), so what its thread's
context holds never reaches the request's task. Django goes on as before: on a
disconnect it sends ``request_finished`` at once (the request's thread runs it after
the view), and the response made for no one is dropped; otherwise the task's context
gets the stack's changes back once it is done, as Django's own call would have given
them.
"""

import asyncio
import contextvars
import logging

import django
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler

logger = logging.getLogger("django.request")


def get_asgi_application() -> "ASGIHandler":
    """``django.core.asgi.get_asgi_application`` with this module's handler."""
    django.setup(set_prefix=False)
    return ASGIHandler()


class ASGIHandler(DjangoASGIHandler):
    """Django's handler; only where the middleware stack and view run differs (above)."""

    async def run_get_response(self, request):
        context = contextvars.copy_context()
        making = asyncio.get_running_loop().create_task(
            super().run_get_response(request), context=context
        )
        try:
            return await asyncio.shield(making)
        except asyncio.CancelledError:
            making.add_done_callback(_made_for_no_one)
            raise
        finally:
            if making.done():  # its thread is done: nothing in its context is stale
                _copy_back(context)


def _copy_back(context: contextvars.Context) -> None:
    """Set in the current context the variables ``context`` has changed (both are on
    this event loop's thread, so asgiref's thread-tagged ``Local`` values stay valid)."""
    for variable, value in context.items():
        try:
            if variable.get() is value:
                continue
        except LookupError:
            pass
        variable.set(value)


def _made_for_no_one(making: asyncio.Task) -> None:
    """The response of a request whose client left: dropped, as Django drops it; an
    exception that escaped Django's own handling is logged, never left unretrieved."""
    if making.cancelled():
        return
    error = making.exception()
    if error is not None:
        logger.error("Error after the client left", exc_info=error)
