"""Domain events: "a message was created", "a refund was started", told by the
service that causes them, inside its transaction, to whoever registered for them.

A lower app cannot import the apps that care (webhooks sits above them all), so the
services call :func:`emit` with the object the event is about, and the higher app
registers a receiver in its ``AppConfig.ready()``. A receiver runs in the service's
transaction: what it writes commits with the cause or not at all (webhooks: the
event row and its deliveries), and nothing is told of a change that rolls back.

The receiver turns ``subject`` into whatever it needs (webhooks: the REST API's
shape of it) only when someone wants the event, so a business nobody listens to
pays for nothing but the receiver's "does anyone listen?" check. Receivers must be
cheap when they do not care and must not fail on what they do not understand: one
that raises aborts the cause.

Order status changes are not emitted here: ``payments.hooks.order_status_changed``
already tells every one of them, from the one place they happen.
"""

from collections.abc import Callable, Sequence
from typing import Any

_receivers: list[Callable[..., None]] = []


def on_event(receiver: Callable[..., None]) -> None:
    """Register ``receiver(type=, events=[(business_id, subject), …])``; idempotent.
    It gets the events of one :func:`emit_many` together (those of a batch of chat
    messages), so what it reads per business it can read once for them all."""
    if receiver not in _receivers:
        _receivers.append(receiver)


def emit(type: str, *, business_id: int | None, subject: Any) -> None:
    """Tell the receivers that ``type`` happened to ``subject`` in ``business_id``'s
    business. Call it inside the transaction of the change. ``business_id`` None (a
    direct chat between two users): nobody is told."""
    emit_many(type, [(business_id, subject)])


def emit_many(type: str, events: Sequence[tuple[int | None, Any]]) -> None:
    """:func:`emit` for several ``(business_id, subject)`` of the same ``type``, in
    order, in one call of each receiver."""
    events = [(business_id, subject) for business_id, subject in events if business_id is not None]
    if not events:
        return
    for receiver in _receivers:
        receiver(type=type, events=events)
