"""Hooks higher apps register into, so that payments can tell them that an order
changed without importing them (the same pattern as :mod:`chats.kinds`).

``order_status_changed(order=, from_status=, to_status=, data=)`` is called by
:func:`payments.services.orders.transition_order` — the one place an order's status
changes — inside its transaction with the order row locked, so a handler's writes
(marketing: follow-ups scheduled through the outbox, or canceled) commit with the
status or not at all. A handler that raises aborts the transition.
"""

from collections.abc import Callable

_order_status: list[Callable[..., None]] = []


def on_order_status_changed(handler: Callable[..., None]) -> None:
    if handler not in _order_status:
        _order_status.append(handler)


def order_status_changed(*, order, from_status: str, to_status: str, data: dict) -> None:
    for handler in _order_status:
        handler(order=order, from_status=from_status, to_status=to_status, data=data)
