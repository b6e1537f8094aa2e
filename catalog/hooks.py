"""Hooks higher apps register into, so that catalog can tell them that something
happened without importing them (the same pattern as :mod:`chats.hooks`).

- ``tracked_visit(request=, business_id=, page=, product_id=)``: the public shop
  page (``page="shop"``) or a product page (``"product"``, with ``product_id``) was
  served (a 200) to a request whose URL carries tracking parameters
  (``core.pagecache.has_tracking``: ``ref``, ``utm_*``, ad click ids), whether from
  the page cache or rendered. Called after the page is made, outside any
  transaction: handlers must be quick (the page waits) and must not fail (they
  catch their own errors). insights: the click touch (buffered).
"""

from collections.abc import Callable

_tracked_visit: list[Callable[..., None]] = []


def on_tracked_visit(handler: Callable[..., None]) -> None:
    if handler not in _tracked_visit:
        _tracked_visit.append(handler)


def tracked_visit(*, request, business_id: int, page: str, product_id: int | None = None) -> None:
    for handler in _tracked_visit:
        handler(request=request, business_id=business_id, page=page, product_id=product_id)
