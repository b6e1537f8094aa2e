"""The chat lists' rows through core.fragments.render_rows: drawn once per distinct
content and language, and only from plain values."""

import pytest
from django.utils import translation

from core.fragments import _key, render_rows

TEMPLATE = "chats/_chat_row.html"


def _row(**changes):
    return {
        "url": "/chats/1/",
        "name": "Ana",
        "preview": "oi",
        "at": "2026-12-07T10:00:00+0000",
        "at_label": "10:00",
        "unread": 0,
    } | changes


def test_a_changed_row_is_drawn_again_never_served_stale():
    [first] = render_rows(TEMPLATE, [_row()])
    [same] = render_rows(TEMPLATE, [_row()])
    [changed] = render_rows(TEMPLATE, [_row(preview="tudo bem?", unread=2)])
    assert same == first
    assert "tudo bem?" in changed and "badge-unread" in changed and "badge-unread" not in first


def test_each_language_has_its_own_rows():
    assert _key(TEMPLATE, "en", _row()) != _key(TEMPLATE, "pt-br", _row())
    with translation.override("fr"):
        [french] = render_rows(TEMPLATE, [_row(unread=2)])
    assert "lang" not in french and "2" in french


def test_only_plain_values_make_a_row():
    with pytest.raises(TypeError):
        render_rows(TEMPLATE, [_row(name=object())])
