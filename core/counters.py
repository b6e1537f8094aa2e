"""Counters in the shared cache (rate limits), many in one round trip.

Django's cache API counts one key per call, and its Redis backend spends two round
trips on each ``incr`` (EXISTS, then INCRBY). A batch of chat messages from many
users counts each user's sends: :func:`add` does them all in one pipeline on Redis
(INCRBY and a first-time EXPIRE per key) and key by key on the other backends
(local memory: no network to save).
"""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def add(deltas: dict[str, int], *, timeout: int) -> dict[str, int]:
    """Add each ``{key: n}`` to its counter (created at 0, expiring ``timeout``
    seconds after its creation) and return the new totals."""
    if not deltas:
        return {}
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # The backend's own client and key format: cache.get() reads these counters
        # (the serializer stores an int as a plain Redis integer, as INCRBY does).
        client = cache._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipe:
            for key, n in deltas.items():
                redis_key = cache.make_and_validate_key(key)
                pipe.incrby(redis_key, n)
                pipe.expire(redis_key, timeout, nx=True)
            replies = pipe.execute()
        return {key: int(replies[2 * i]) for i, key in enumerate(deltas)}
    totals = {}
    for key, n in deltas.items():
        try:
            totals[key] = cache.incr(key, n)
        except ValueError:  # a new counter
            totals[key] = n if cache.add(key, n, timeout=timeout) else cache.incr(key, n)
    return totals
