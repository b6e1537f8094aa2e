"""ASGI entry point: HTTP goes to Django, websockets to the Channels router.

Websocket routes are collected from each app's ``routing.websocket_urlpatterns``
(the chats app adds its own). A socket's Origin must be one of the site's own, scheme,
host and port (core.origins). HTTP goes through core.asgi's handler: Django's, with
each response made in a task of its own, so a client that leaves mid-request no longer
breaks the end of that request.
"""

import os

from core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from core.sqlite import hold_wal_open  # noqa: E402

# On SQLite, keeps the WAL from being deleted and re-created on every request (see
# hold_wal_open); nothing on PostgreSQL, which has a connection pool instead.
_held_sqlite_connection = hold_wal_open(settings.DATABASES["default"])

from insights.services.touches import flush_in_background  # noqa: E402

# On the embedded default, the clicks buffered in this process are written by a timer
# of this process (insights.services.touches); with Redis, by the beat.
flush_in_background()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chats.relay import relaying  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from core.origins import SiteOriginValidator  # noqa: E402

# relaying: on the embedded default, also push the socket events that Celery
# workers wrote to the database (chats.relay); nothing with Redis.
application = relaying(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SiteOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)

# What loading the project made lives as long as the process: out of the collector's
# way, so a full collection walks only what requests and sockets made since.
import gc  # noqa: E402

gc.freeze()
