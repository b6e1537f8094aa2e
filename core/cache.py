"""Django's Redis cache with one client per process.

``django.core.cache.caches`` keeps one backend object per thread *and per asyncio
context*; under ASGI every request runs in a context of its own, so the stock
``RedisCache`` built a new client for each request — a new connection pool, and a new
TCP connection to Redis for the first cache call of every request (about 1 ms of the
server's CPU each; the sandbox gateway's charge makes three cache calls).

This backend shares the client, and so redis-py's connection pool (thread-safe, and
reset by redis-py itself in a forked child), between every backend object of the
process with the same servers and options. Keys, values and behaviour are Django's.
"""

import threading
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property


class RedisCache(DjangoRedisCache):
    _clients: ClassVar[dict[tuple, Any]] = {}
    _clients_lock = threading.Lock()

    @cached_property
    def _cache(self):
        key = (self._class, tuple(self._servers), repr(sorted(self._options.items())))
        client = self._clients.get(key)
        if client is None:
            with self._clients_lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = self._class(self._servers, **self._options)
        return client
