"""Sign-up must not tell, by how long it takes, whether an e-mail has an account
(issue #15, item 7). Measured in this process on the production password hasher."""

import re
import statistics
import time
from unittest.mock import patch

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import UserFactory
from core import tasks as core_tasks
from core.models import OutgoingEmail

PASSWORD = "a-long-Passphrase-42"
RUNS = 5


def _sign_up(client, email: str) -> float:
    started = time.perf_counter()
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.content[:500]
    client.logout()
    return elapsed


@pytest.mark.django_db
def test_signing_up_with_a_taken_email_takes_as_long_as_with_a_new_one(client, settings):
    # given the production hasher (not the tests' fast one) and an existing account
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    settings.ACCOUNT_RATE_LIMITS = False  # the same address signs up a dozen times
    taken = UserFactory(email="taken@example.com")
    _sign_up(client, "warm-up@example.com")  # imports, templates, the first hash

    # when both kinds of address sign up, interleaved, several times
    new_times, taken_times = [], []
    for n in range(RUNS):
        new_times.append(_sign_up(client, f"new{n}@example.com"))
        taken_times.append(_sign_up(client, taken.email))

    # then their medians are within a factor of two of each other
    ratio = statistics.median(new_times) / statistics.median(taken_times)
    assert 0.5 <= ratio <= 2, (
        f"new {statistics.median(new_times) * 1000:.0f} ms, "
        f"taken {statistics.median(taken_times) * 1000:.0f} ms"
    )


@pytest.mark.django_db
def test_the_sign_up_mail_is_queued_in_the_request_and_sent_by_the_worker(
    client, settings, django_capture_on_commit_callbacks
):
    # given a visitor signing up
    settings.ACCOUNT_RATE_LIMITS = False
    # when the request ends (its transaction commits)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _sign_up(client, "new@example.com")

    # then no mail went out in the request: one row waits, and one task is enqueued
    assert mail.outbox == []
    queued = OutgoingEmail.objects.get()
    assert queued.to == "new@example.com" and queued.sensitive
    assert len(callbacks) == 1

    # when the worker runs the task
    with patch.object(core_tasks.send_email, "delay") as delay:
        callbacks[0]()
    (email_id,), _kwargs = delay.call_args
    assert core_tasks.send_email(email_id) is True

    # then the code goes out once, and the row no longer holds it
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    assert re.search(r"^\s*[A-Z0-9]{4}-[A-Z0-9]{4}\s*$", mail.outbox[0].body, re.MULTILINE)
    queued.refresh_from_db()
    assert queued.status == "sent" and queued.body == "" and queued.html_body == ""
    assert core_tasks.send_email(email_id) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_queued_mail_whose_task_was_lost_is_sent_by_the_beat(client, settings):
    # given a sign-up whose task never reached a worker (broker lost it)
    settings.ACCOUNT_RATE_LIMITS = False
    _sign_up(client, "taken-or-not@example.com")
    assert mail.outbox == []

    # when the beat sweeps
    assert core_tasks.send_due_emails() == 1

    # then the mail went out once
    assert [m.to for m in mail.outbox] == [["taken-or-not@example.com"]]
    assert core_tasks.send_due_emails() == 0
