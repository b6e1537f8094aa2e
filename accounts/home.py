"""The signed-in home page's panels: higher apps add theirs (the user's chats, ...)
from ``AppConfig.ready()``, as payments adds message kinds to chats, so accounts
names no higher app's templates or URLs (docs/architecture.md, layers).

A panel is a function ``(request) -> dict | None``: the context of its template
(``template`` names it), or ``None`` to show nothing for this user. Panels show in
the order they were registered."""

from collections.abc import Callable

from django.http import HttpRequest

Panel = Callable[[HttpRequest], dict | None]
_PANELS: list[Panel] = []


def register_panel(panel: Panel) -> Panel:
    if panel not in _PANELS:
        _PANELS.append(panel)
    return panel


def panels_for(request: HttpRequest) -> list[dict]:
    """The panels this signed-in user sees, each a dict with its ``template``."""
    return [shown for panel in _PANELS if (shown := panel(request)) is not None]
