"""The real Celery worker for tests: ``celery_worker`` starts ``celery -A config worker``
as the Procfile does, on the test database, and yields its log file.

With ``REDIS_URL`` set (CI) the broker is Redis; without it, the embedded filesystem
broker. Either way the broker keys or folders are the test's own, so that another
worker (a developer's ``make run``, a parallel test run) neither takes the task nor
feeds this worker stale ones.

Registered for the whole suite through ``pytest_plugins`` in the root conftest.
``wait_for`` and ``TASK_TIMEOUT`` are for the tests that wait on the worker.
"""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from config.celery import app as celery_app

BASE_DIR = Path(settings.BASE_DIR)
CELERY = BASE_DIR / ".venv" / "bin" / "celery"
READY_TIMEOUT = 60  # seconds for the worker to boot
TASK_TIMEOUT = 20  # seconds for the task to take effect
WORKER_OPTIONS = (
    "--pool=solo",
    "--concurrency=1",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "--loglevel=INFO",
)


def _test_database_url() -> str:
    """A DATABASE_URL for the database this test session runs on."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(db["NAME"]).resolve())
    if connection.vendor == "postgresql":
        user = quote(db.get("USER") or "", safe="")
        password = quote(db.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{credentials}{db.get('HOST') or ''}{port}/{quote(db['NAME'])}"
    raise NotImplementedError(connection.vendor)


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def shared_process_env(tmp_path, settings) -> dict[str, str]:
    """What the processes one test starts (the worker, the ASGI server) share, as
    ``make run``'s do: their ``VAR_DIR`` (the filesystem broker's folders) and, with
    Redis, their key prefix (broker, cache, channel layer). So a task the server
    enqueues reaches the worker, and the worker's socket events reach the server's
    sockets (through Redis, or the embedded relay, chats/relay.py)."""
    env = {"VAR_DIR": str(tmp_path / "var")}
    if settings.REDIS_URL:
        env.update(
            REDIS_URL=settings.REDIS_URL,
            REDIS_KEY_PREFIX=f"conversa-test-{uuid.uuid4().hex[:12]}",
        )
    return env


@pytest.fixture
def celery_worker(transactional_db, tmp_path, shared_process_env):
    """Start a worker on the test database; yield its log file; stop it."""
    var_dir = Path(shared_process_env["VAR_DIR"])
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "VAR_DIR"}
        and not key.startswith("PYTEST_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=_test_database_url(),
        VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
    )
    previous_options = celery_app.conf.broker_transport_options
    if settings.REDIS_URL:
        # Same Redis, keys of this test's own (settings: REDIS_KEY_PREFIX), so that
        # another worker on that Redis database cannot take the task, nor this one
        # someone else's.
        prefix = shared_process_env["REDIS_KEY_PREFIX"]
        env.update(REDIS_URL=settings.REDIS_URL, REDIS_KEY_PREFIX=prefix)
        own_broker = {**previous_options, "global_keyprefix": f"{prefix}:"}
    else:
        # The worker's settings put the filesystem broker under its VAR_DIR; this
        # process publishes there too, instead of to the shared var/broker.
        broker = var_dir / "broker"
        own_broker = {
            **previous_options,
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
        }
        for folder in ("queue", "processed", "control"):
            (broker / folder).mkdir(parents=True, exist_ok=True)
    celery_app.conf.broker_transport_options = own_broker
    _drop_broker_connections()
    try:
        yield from _run_worker(env, tmp_path / "worker.log")
    finally:
        celery_app.conf.broker_transport_options = previous_options
        _drop_broker_connections()


def _drop_broker_connections() -> None:
    """Forget pooled broker connections, so the next publish uses the current options.

    Not ``app.close()``: that also unregisters the app, and tasks imported afterwards
    would then no longer register on it (``NotRegistered``)."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # Celery takes its pool from kombu's process-wide registry, keyed by the broker
    # URL: without a reset the next publish gets the closed pool back ("Acquire on
    # closed pool").
    kombu_pools.reset()


def _run_worker(env: dict[str, str], log_path: Path):
    """``celery -A config worker`` with ``env``; yields its log file once it is ready."""
    with log_path.open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own virtualenv's celery
            [
                str(CELERY),
                "-A",
                "config",
                "worker",
                *WORKER_OPTIONS,
                f"--hostname=test-{os.getpid()}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = wait_for(
            lambda: worker.poll() is not None or " ready." in log_path.read_text(errors="replace"),
            READY_TIMEOUT,
        )
        if worker.poll() is not None or not ready:
            pytest.fail(
                f"the Celery worker did not start (exit code {worker.poll()}):\n"
                + log_path.read_text(errors="replace")[-4000:],
                pytrace=False,
            )
        yield log_path
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)  # warm shutdown
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
