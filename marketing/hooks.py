"""Hooks higher apps register into, so that marketing can tell them that something
happened without importing them (the same pattern as :mod:`chats.hooks`).

- ``broadcast_created(broadcast=)``: an offer broadcast was just created
  (``marketing.services.create_broadcast``), inside its transaction: a handler's
  writes commit with the broadcast or not at all, and a handler that raises aborts
  it. insights: the broadcast's own campaign.
"""

from collections.abc import Callable

_broadcast_created: list[Callable[..., None]] = []


def on_broadcast_created(handler: Callable[..., None]) -> None:
    if handler not in _broadcast_created:
        _broadcast_created.append(handler)


def broadcast_created(*, broadcast) -> None:
    for handler in _broadcast_created:
        handler(broadcast=broadcast)
