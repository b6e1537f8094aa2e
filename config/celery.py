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
