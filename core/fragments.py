"""Rows of a list drawn once per distinct content, per process.

A list page (the inbox, a customer's chats) draws the same rows again and again: the
template engine costs about 0.3–0.6 ms a row, far more than the page's queries. Here
a row's template gets only plain values (str, int, bool, None, tuples of them) that
the view computed, so its HTML is a function of them and of the active language: the
key is those values, and a row whose content changed simply has another key. Nothing
needs to be invalidated, and nothing can be shown stale.

The HTML is kept in the process's ``fragments`` cache (local memory, bounded), not
the shared one: a round trip to Redis per page would cost about as much as drawing.
"""

import hashlib

from django.core.cache import caches
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

PLAIN = (str, int, bool, type(None), tuple)


def _key(template_name: str, language: str, values) -> str:
    text = repr((template_name, language, values))
    return "rows:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _plain(template_name: str, values: dict) -> tuple:
    for name, value in values.items():
        if not isinstance(value, PLAIN):
            raise TypeError(f"{template_name}: {name} is a {type(value).__name__}, not plain")
    return tuple(sorted(values.items()))


def row_key(instance) -> tuple:
    """Every stored column of a model ``instance``, as a part of a :func:`render_keyed`
    key: a drawing that reads the row is drawn again when any of it changes."""
    return tuple(repr(getattr(instance, f.attname)) for f in instance._meta.concrete_fields)


def render_rows(template_name: str, rows: list[dict]) -> list[SafeString]:
    """The HTML of ``template_name`` for each of ``rows`` (plain values only), from
    the cache where this process drew the same row in the same language before."""
    return render_keyed(template_name, [(_plain(template_name, v), v) for v in rows])


def render_keyed(template_name: str, items: list[tuple[tuple | None, dict]]) -> list[SafeString]:
    """The HTML of ``template_name`` for each ``(key, context)`` of ``items``, from the
    cache where this process drew the same key in the same language before.

    ``key`` holds plain values that determine everything the drawing reads from
    ``context`` (the caller's contract: a changed input must give another key), or is
    None for an item that is drawn every time. :func:`render_rows` is the case where
    the context is its own key."""
    if not items:
        return []
    language = get_language() or ""
    keys = [None if key is None else _key(template_name, language, key) for key, _c in items]
    fragments = caches["fragments"]
    found = fragments.get_many([key for key in keys if key is not None])
    missing = {}
    html = []
    template = None
    for key, (_k, context) in zip(keys, items, strict=True):
        if key is None or key not in found:
            template = template or get_template(template_name)
            drawn = template.render(context)
            if key is not None:
                found[key] = missing[key] = drawn
        else:
            drawn = found[key]
        html.append(mark_safe(drawn))  # noqa: S308 - our template's own output
    if missing:
        fragments.set_many(missing)
    return html
