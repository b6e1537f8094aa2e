"""The outbox under faults, with real worker processes and a real Redis (docs/outbox.md).

Each test starts a Redis of its own on a free port (``--save ""``: a restart loses
every queued task, as a crashed broker would), Celery worker and beat processes as
the Procfile does on that Redis and the test database, and writes outbox rows as
the services do. What must hold: every due message is delivered exactly once,

- when a worker is killed with SIGKILL in the middle of a batch and another starts;
- when Redis is stopped mid-run and started again (empty): dispatch resumes by
  itself, and rows scheduled during the outage are delivered;
- when the same task is delivered twice, and when two workers dispatch the same rows.
"""

import datetime
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.models import Message, ScheduledMessage
from chats.services import outbox
from chats.tests.factories import start_chat
from config.celery import app as celery_app
from tests.asgi_server import _free_port
from tests.celery_fixtures import (
    BASE_DIR,
    CELERY,
    READY_TIMEOUT,
    _drop_broker_connections,
    _test_database_url,
    wait_for,
)

pytestmark = [pytest.mark.needs_redis]
SENT = ScheduledMessage.Status.SENT
DELIVERY_TIMEOUT = 120  # seconds, on two shared cores


class Processes:
    """A private Redis and Celery processes on it; everything is stopped at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.prefix = f"fault-{uuid.uuid4().hex[:8]}"
        self.redis: subprocess.Popen | None = None
        self.started: list[subprocess.Popen] = []

    def _spawn(self, args: list[str], log_name: str, env=None) -> tuple[subprocess.Popen, Path]:
        log_path = self.tmp / log_name
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own tools
                args,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process, log_path

    def start_redis(self) -> None:
        self.redis, _log = self._spawn(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            "redis.log",
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return client.ping()
            except redis.RedisError:
                return False

        assert wait_for(up, 20), "the private Redis did not start"
        client.close()

    def stop_redis(self) -> None:
        self.redis.terminate()
        self.redis.wait(timeout=20)

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "VAR_DIR"}
            and not key.startswith("PYTEST_")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=_test_database_url(),
            REDIS_URL=self.url,
            REDIS_KEY_PREFIX=self.prefix,
            VAR_DIR=str(self.tmp / "var"),
            OUTBOX_DISPATCH_INTERVAL="0.5",
            OUTBOX_BATCH="50",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start_worker(self, name: str) -> subprocess.Popen:
        process, log = self._spawn(
            [str(CELERY), "-A", "config", "worker", "--pool=solo", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
             f"--hostname={name}-{os.getpid()}@%h"],
            f"{name}.log",
            self.env(),
        )  # fmt: skip
        ready = wait_for(
            lambda: process.poll() is not None or " ready." in log.read_text(errors="replace"),
            READY_TIMEOUT,
        )
        assert ready and process.poll() is None, log.read_text(errors="replace")[-4000:]
        return process

    def start_beat(self) -> subprocess.Popen:
        process, _log = self._spawn(
            [str(CELERY), "-A", "config", "beat", "--loglevel=INFO",
             f"--schedule={self.tmp / 'beat-schedule'}"],
            "beat.log",
            self.env(),
        )  # fmt: skip
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acknowledgement."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.tmp.glob("*.log"))
        )

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


@pytest.fixture
def procs(transactional_db, tmp_path):
    processes = Processes(tmp_path)
    processes.start_redis()
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def conversations(business):
    return [start_chat(business, UserFactory()) for _ in range(3)]


def schedule_wave(conversations, name: str, count: int, delay: float = 1.0) -> list[int]:
    """``count`` rows due in ``delay`` seconds (so the beat's dispatch sends them, not
    an immediate task from this process), spread over the conversations."""
    due = timezone.now() + datetime.timedelta(seconds=delay)
    ids = []
    for n in range(count):
        row, _created = outbox.schedule_message(
            conversation=conversations[n % len(conversations)],
            kind="text",
            body=f"{name}-{n}",
            dedupe_key=f"test:{name}:{n}",
            due_at=due,
        )
        ids.append(row.pk)
    return ids


def sent_count(ids) -> int:
    return ScheduledMessage.objects.filter(pk__in=ids, status=SENT).count()


def assert_exactly_once(conversations, ids, prefix: str) -> None:
    """Every row sent, with its own message; no message without its row, none twice."""
    rows = list(ScheduledMessage.objects.filter(pk__in=ids))
    assert {row.status for row in rows} == {SENT}
    assert len({row.message_id for row in rows}) == len(ids)
    bodies = Counter(
        Message.objects.filter(
            conversation__in=conversations, body__startswith=f"{prefix}-"
        ).values_list("body", flat=True)
    )
    assert len(bodies) == len(ids), "a message is missing"
    assert max(bodies.values()) == 1, f"sent twice: {[b for b, n in bodies.items() if n > 1]}"
    for conversation in conversations:  # seq has no hole and no repeat
        seqs = list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(procs, conversations):
    ids = schedule_wave(conversations, "kill", 400)
    procs.start_beat()
    first = procs.start_worker("first")
    # Mid-batch: some rows sent, most still to go.
    assert wait_for(lambda: sent_count(ids) >= 20, DELIVERY_TIMEOUT, interval=0.02), procs.logs()
    procs.kill(first)
    at_kill = sent_count(ids)
    assert at_kill < len(ids), "the worker finished before it could be killed"
    # Nothing half-done: each sent row has its message, and no message lacks its row.
    sent_messages = Message.objects.filter(
        conversation__in=conversations, body__startswith="kill-"
    ).count()
    assert sent_messages == at_kill

    procs.start_worker("second")

    assert wait_for(lambda: sent_count(ids) == len(ids), DELIVERY_TIMEOUT), procs.logs()
    assert_exactly_once(conversations, ids, "kill")


def test_redis_stopped_and_restarted_loses_no_message(procs, conversations):
    procs.start_beat()
    procs.start_worker("worker")
    before = schedule_wave(conversations, "before", 20)
    assert wait_for(lambda: sent_count(before) == 20, DELIVERY_TIMEOUT), procs.logs()

    procs.stop_redis()
    during = schedule_wave(conversations, "during", 20)
    time.sleep(4)  # the beat and the worker find no broker
    assert sent_count(during) == 0
    procs.start_redis()  # empty: whatever was queued is gone

    assert wait_for(lambda: sent_count(during) == 20, DELIVERY_TIMEOUT), procs.logs()
    after = schedule_wave(conversations, "after", 10)
    assert wait_for(lambda: sent_count(after) == 10, DELIVERY_TIMEOUT), procs.logs()
    for ids, name in ((before, "before"), (during, "during"), (after, "after")):
        assert_exactly_once(conversations, ids, name)


@pytest.fixture
def publish_to(procs):
    """This process publishes its tasks to the private Redis, as the web process would."""
    previous = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_url = procs.url
    celery_app.conf.broker_transport_options = {"global_keyprefix": f"{procs.prefix}:"}
    _drop_broker_connections()
    yield
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = previous
    _drop_broker_connections()


def test_the_same_task_twice_and_two_workers_on_the_same_rows_send_once(
    procs, publish_to, conversations
):
    from chats import tasks

    procs.start_worker("one")
    procs.start_worker("two")
    ids = schedule_wave(conversations, "twice", 60, delay=0)
    # Every row's task delivered twice, and four dispatchers racing for the same rows.
    for _round in range(2):
        for pk in ids:
            tasks.send_scheduled_message.delay(pk)
    for _n in range(4):
        tasks.dispatch_scheduled_messages.delay()

    assert wait_for(lambda: sent_count(ids) == len(ids), DELIVERY_TIMEOUT), procs.logs()
    time.sleep(2)  # let the duplicates run out
    assert_exactly_once(conversations, ids, "twice")
    for name in ("one", "two"):  # both workers took part
        assert "succeeded" in (procs.tmp / f"{name}.log").read_text(errors="replace")
