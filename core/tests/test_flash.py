import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from core.errors import AppError
from core.flash import flash_outcome


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _flashed(request) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in messages.get_messages(request)]


def test_success_flashes_the_success_message():
    request = _request()
    calls = []

    ok = flash_outcome(request, lambda: calls.append(1), success="Done.")

    assert ok is True
    assert calls == [1]
    assert _flashed(request) == [(messages.SUCCESS, "Done.")]


def test_app_error_flashes_its_message_and_answers_false():
    request = _request()

    def fail():
        raise AppError("Not allowed.", code="nope")

    ok = flash_outcome(request, fail, success="Done.")

    assert ok is False
    assert _flashed(request) == [(messages.ERROR, "Not allowed.")]


def test_other_exceptions_propagate_and_flash_nothing():
    request = _request()

    def bug():
        raise ValueError("bug")

    with pytest.raises(ValueError):
        flash_outcome(request, bug, success="Done.")
    assert _flashed(request) == []
