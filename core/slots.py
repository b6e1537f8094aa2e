"""Slots: named places in a lower app's page that higher apps fill, so that a lower
app's template never names a higher app's URL, form or template (docs/architecture.md,
"Layers"; the UI's counterpart of ``chats.kinds`` and ``chats.hooks``).

A higher app registers a *provider* for a slot from its ``AppConfig.ready()``::

    slots.register("product.actions", add_to_cart, order=20)

A provider is a function ``(context, **kwargs) -> dict | None``: ``context`` is the
page's template context (read what the page has: ``context["business"]``,
``context.get("membership")``; the request is ``context.get("request")``), the
keyword arguments are those of the ``{% slot %}`` tag. It returns ``None`` to show
nothing here, or a dict naming the ``template`` to render and the variables to add
for it. The lower app's template places the slot with::

    {% load slots %}{% slot "product.actions" %}

which renders each provider's template, in ``order`` (then registration order), with
the page's context plus the provider's dict, as ``{% include %}`` would. A provider
runs on every render of its page: it reads what the page already loaded and makes no
query unless its panel needs one (hot pages count their queries).

The slots and who fills them are listed in docs/architecture.md.
"""

from collections.abc import Callable
from dataclasses import dataclass

Provider = Callable[..., dict | None]


@dataclass(frozen=True)
class _Entry:
    order: int
    seq: int
    provider: Provider


_SLOTS: dict[str, list[_Entry]] = {}


def register(slot: str, provider: Provider, *, order: int = 0) -> Provider:
    """Add ``provider`` to ``slot`` (once: registering it again changes nothing)."""
    entries = _SLOTS.setdefault(slot, [])
    if all(entry.provider is not provider for entry in entries):
        entries.append(_Entry(order, len(entries), provider))
        entries.sort(key=lambda entry: (entry.order, entry.seq))
    return provider


def fill(slot: str, context, **kwargs) -> list[dict]:
    """What the providers of ``slot`` show on this page, each a dict with its
    ``template``, in order."""
    shown = []
    for entry in _SLOTS.get(slot, ()):
        part = entry.provider(context, **kwargs)
        if part is not None:
            shown.append(part)
    return shown
