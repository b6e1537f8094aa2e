"""The Celery application. Tasks live in each app's ``tasks.py``."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("conversa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.worker_process_init.connect
def _relay_socket_events(**_kwargs) -> None:
    """On the embedded default a worker's socket events go through the web process
    (chats.relay); with Redis this does nothing."""
    from chats.relay import spool_in_this_process

    spool_in_this_process()


def _tolerate_a_closed_redis_transport() -> None:
    """After a lost Redis connection, Celery 5.7's consumer closes the connection twice
    (``collect()``, then ``close()``); the second close of its channel tries to put
    the unacknowledged messages back through a transport already taken apart and
    raises ``AttributeError``, which kills the consumer instead of letting it
    reconnect (found by tests/test_outbox_faults.py: Redis stopped and restarted).
    Skipping that second attempt loses nothing: the messages are still in Redis's
    unacked set, restored after the visibility timeout, and the outbox's rows are
    the truth anyway (docs/outbox.md)."""
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.QoS.restore_unacked
    if getattr(original, "tolerates_closed_transport", False):
        return

    def restore_unacked(self, client=None):
        if client is None and getattr(self.channel.connection, "client", None) is None:
            return None
        return original(self, client)

    restore_unacked.tolerates_closed_transport = True
    kombu_redis.QoS.restore_unacked = restore_unacked


_tolerate_a_closed_redis_transport()
