"""The raw statement of webhooks.sql writes the same rows as the ORM's way
(capture.record_subject_event on other databases)."""

import types

import pytest
from django.forms.models import model_to_dict

from chats.tests.factories import start_chat
from webhooks.models import Delivery, Event
from webhooks.services import capture, endpoints

pytestmark = [pytest.mark.django_db, pytest.mark.needs_postgres]

SKIP = {"id", "msg_id", "event", "created_at", "next_attempt_at"}


def _rows(sent_to: list[int]) -> tuple[dict, list[dict]]:
    event = Event.objects.latest("pk")
    deliveries = Delivery.objects.filter(event=event).order_by("endpoint_id")
    assert [d.endpoint_id for d in deliveries] == sent_to
    assert all(d.next_attempt_at == d.created_at == event.created_at for d in deliveries)
    return (
        {k: v for k, v in model_to_dict(event).items() if k not in SKIP},
        [{k: v for k, v in model_to_dict(d).items() if k not in SKIP} for d in deliveries],
    )


def test_the_statement_writes_what_the_orm_writes(owner, business, loopback, monkeypatch):
    conversation = start_chat(business)
    on, off = (
        endpoints.create_endpoint(actor=owner, business=business, url=f"http://127.0.0.1:9/{n}")
        for n in "ab"
    )
    endpoints.set_enabled(actor=owner, endpoint=off, enabled=False)
    asked = [on.pk, off.pk, 10**9]  # enabled, disabled, gone: only the first gets one
    arguments = dict(
        business_id=business.pk, type="conversation.created", subject_id=conversation.pk
    )

    raw = capture.record_subject_event(**arguments, endpoint_ids=asked)
    raw_rows = _rows(raw)
    monkeypatch.setattr(capture, "connection", types.SimpleNamespace(vendor="sqlite"))
    orm = capture.record_subject_event(**arguments, endpoint_ids=asked)
    assert raw == orm == [on.pk]
    assert raw_rows == _rows(orm)
    assert raw_rows[0]["payload"] is None and raw_rows[0]["subject_id"] == conversation.pk

    before = Event.objects.count()
    monkeypatch.undo()
    assert capture.record_subject_event(**arguments, endpoint_ids=[off.pk]) == []
    assert Event.objects.count() == before  # nobody to send it to: no event either
