"""The unread-replies e-mail under faults, with real worker and beat processes, a
private Redis and a mail server (docs/outbox.md): the customer gets exactly one
e-mail per batch of replies after the beat's sweep, and a later reply e-mails them
again (the participant is never left "scheduled" forever), when

- the worker is killed with SIGKILL in the middle of sending it;
- the worker is killed while it holds the task, waiting for its countdown;
- Redis is restarted (empty) after the task was enqueued, before a worker took it.
"""

import email
import time
from email import policy

import pytest

from accounts.tests.factories import UserFactory
from chats.models import Participant
from chats.tests.factories import say, start_chat
from config.celery import app as celery_app
from tests.celery_fixtures import _drop_broker_connections, wait_for
from tests.smtp_sink import SmtpSink
from tests.test_outbox_faults import Processes

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres]
TIMEOUT = 60  # seconds, on two shared cores
DELAY = 2  # CHAT_UNREAD_EMAIL_DELAY in these tests
QUIET = 3  # seconds (six sweeps) in which no second e-mail may come


class MailProcesses(Processes):
    """The outbox's fault-test processes, sending mail to ``sink``, sweeping often and
    with a short lease (how long a killed sender's e-mail waits)."""

    def __init__(self, tmp_path, sink: SmtpSink):
        super().__init__(tmp_path)
        self.sink = sink

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            SMTP_URL=f"smtp://127.0.0.1:{self.sink.port}/?timeout=30",
            CHAT_UNREAD_EMAIL_SWEEP_INTERVAL="0.5",
            CHAT_UNREAD_EMAIL_LEASE="3",
            CHAT_UNREAD_EMAIL_DELAY=str(DELAY),
        )
        return env


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def procs(transactional_db, tmp_path, sink, settings):
    settings.CHAT_UNREAD_EMAIL_DELAY = DELAY
    processes = MailProcesses(tmp_path, sink)
    processes.start_redis()
    # This process (the web side) publishes its tasks to the private Redis.
    previous = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_url = processes.url
    celery_app.conf.broker_transport_options = {"global_keyprefix": f"{processes.prefix}:"}
    _drop_broker_connections()
    try:
        yield processes
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = previous
        _drop_broker_connections()
        processes.stop_all()


@pytest.fixture
def chat(business):
    customer = UserFactory(email="carla@example.com")
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    return conversation


def _side(conversation) -> Participant:
    return Participant.objects.get(conversation=conversation, user__isnull=False)


def _body(raw: str) -> str:
    return email.message_from_string(raw, policy=policy.default).get_content()


def assert_one_email_then_one_more(procs, sink, owner, conversation, first: str) -> None:
    """Exactly one e-mail about ``first``; a later reply gets one of its own."""
    assert wait_for(lambda: sink.count() >= 1, TIMEOUT), procs.logs()
    time.sleep(QUIET)
    assert sink.count() == 1, sink.bodies()
    assert first in _body(sink.bodies()[0])
    assert wait_for(lambda: _side(conversation).email_due_at is None, TIMEOUT), procs.logs()

    say(owner, conversation, "Chegou o pão.")

    assert wait_for(lambda: sink.count() >= 2, TIMEOUT), procs.logs()
    time.sleep(QUIET)
    assert sink.count() == 2, sink.bodies()
    latest = _body(sink.bodies()[1])
    assert "Chegou o pão." in latest and first not in latest
    assert wait_for(lambda: _side(conversation).email_due_at is None, TIMEOUT), procs.logs()


def test_a_worker_killed_while_sending_the_email_loses_nothing(procs, sink, owner, chat):
    # Given a worker stuck talking to the mail server about a reply
    procs.start_beat()
    first = procs.start_worker("first")
    sink.stall.set()
    say(owner, chat, "Olá Carla!")
    assert wait_for(sink.stalled.is_set, TIMEOUT), procs.logs()
    # When it is killed there, and another worker starts
    procs.kill(first)
    procs.start_worker("second")
    # Then the customer gets that e-mail once, and a later reply's too
    assert_one_email_then_one_more(procs, sink, owner, chat, "Olá Carla!")


def test_a_worker_killed_holding_the_task_before_it_runs_loses_nothing(procs, sink, owner, chat):
    # Given a worker holding the e-mail's task, waiting for its countdown
    first = procs.start_worker("first")
    say(owner, chat, "Olá Carla!")
    log = procs.tmp / "first.log"
    assert wait_for(lambda: "send_unread_email" in log.read_text(errors="replace"), TIMEOUT)
    # When it is killed before running it, and a worker and the beat start
    procs.kill(first)
    procs.start_beat()
    procs.start_worker("second")
    # Then the customer gets that e-mail once, and a later reply's too
    assert_one_email_then_one_more(procs, sink, owner, chat, "Olá Carla!")


def test_redis_restarted_before_a_worker_takes_the_task_loses_nothing(procs, sink, owner, chat):
    # Given the e-mail's task waiting in Redis, no worker running
    say(owner, chat, "Olá Carla!")
    # When Redis restarts empty, then a worker and the beat start
    procs.stop_redis()
    procs.start_redis()
    procs.start_beat()
    procs.start_worker("worker")
    # Then the customer gets that e-mail once, and a later reply's too
    assert_one_email_then_one_more(procs, sink, owner, chat, "Olá Carla!")
