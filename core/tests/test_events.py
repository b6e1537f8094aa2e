import pytest
from django.db import transaction

from core import events


@pytest.mark.django_db(transaction=True)
def test_a_transactions_events_go_out_in_one_batch_in_order_without_a_rolled_back_savepoints(
    monkeypatch,
):
    # given: a transaction queueing events, one of them in a savepoint that rolls back
    batches = []
    monkeypatch.setattr(events, "send_events", lambda collected: batches.append(list(collected)))
    # when
    with transaction.atomic():
        events.send_event_on_commit("conv.1", {"n": 1})
        events.send_event_on_commit("conv.2", {"n": 2})
        with pytest.raises(RuntimeError), transaction.atomic():
            events.send_event_on_commit("conv.1", {"n": 3})
            raise RuntimeError
        events.send_event_on_commit("conv.1", {"n": 4})
        assert batches == []  # nothing before the commit
    # then
    assert batches == [[("conv.1", {"n": 1}), ("conv.2", {"n": 2}), ("conv.1", {"n": 4})]]


@pytest.mark.django_db(transaction=True)
def test_events_of_a_savepoint_that_commits_are_sent_and_a_rolled_back_transaction_sends_none(
    monkeypatch,
):
    batches = []
    monkeypatch.setattr(events, "send_events", lambda collected: batches.append(list(collected)))
    with transaction.atomic():
        events.send_event_on_commit("conv.1", {"n": 1})
        with transaction.atomic():
            events.send_event_on_commit("conv.1", {"n": 2})
    assert [event for batch in batches for event in batch] == [
        ("conv.1", {"n": 1}),
        ("conv.1", {"n": 2}),
    ]
    batches.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        events.send_event_on_commit("conv.1", {"n": 5})
        raise RuntimeError
    assert batches == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_event_is_sent_at_once(monkeypatch):
    batches = []
    monkeypatch.setattr(events, "send_events", lambda collected: batches.append(list(collected)))
    events.send_event_on_commit("conv.1", {"n": 1})
    assert batches == [[("conv.1", {"n": 1})]]


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_by_name_goes_out_after_the_commit_and_never_after_a_rollback(
    monkeypatch,
):
    # given: a task enqueued by its name (its module need not be imported by the caller)
    sent = []
    monkeypatch.setattr(
        "core.tasks.send_email.apply_async",
        lambda args, kwargs, countdown: sent.append((args, countdown)),
    )
    # when: once in a transaction that commits, once in one that rolls back
    with transaction.atomic():
        events.enqueue_on_commit("core.tasks.send_email", 7, countdown=5)
        assert sent == []  # nothing before the commit
    with pytest.raises(RuntimeError), transaction.atomic():
        events.enqueue_on_commit("core.tasks.send_email", 8, countdown=5)
        raise RuntimeError
    # then
    assert sent == [((7,), 5)]


def test_an_unknown_task_name_fails_in_the_caller_not_after_the_commit():
    with pytest.raises(KeyError):
        events.enqueue_on_commit("core.tasks.no_such_task", 1)
