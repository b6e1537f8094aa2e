"""core.counters: many counters in one round trip, read back by the cache API."""

import uuid

import pytest
from django.conf import settings
from django.core.cache import caches

from core import counters

pytestmark = pytest.mark.usefixtures("_service_markers")


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.needs_redis)])
def cache(request, settings):
    if request.param == "redis":
        location = settings.REDIS_URL
        backend = "django.core.cache.backends.redis.RedisCache"
    else:
        location, backend = "", "django.core.cache.backends.locmem.LocMemCache"
    prefix = f"{settings.REDIS_KEY_PREFIX}-counters-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": location, "KEY_PREFIX": prefix}}
    yield caches["default"]
    if request.param == "locmem":
        caches["default"].clear()


def test_counters_start_at_zero_add_up_and_are_read_by_the_cache_api(cache):
    assert counters.add({"a": 2, "b": 1}, timeout=60) == {"a": 2, "b": 1}
    assert counters.add({"a": 3}, timeout=60) == {"a": 5}
    assert (cache.get("a"), cache.get("b")) == (5, 1)
    cache.incr("b", 4)  # the cache API and the counters are one
    assert counters.add({"b": 1, "c": 7}, timeout=60) == {"b": 6, "c": 7}
    assert counters.add({}, timeout=60) == {}


def test_a_counter_expires_from_its_creation(cache):
    counters.add({"gone": 1}, timeout=60)
    if "redis" in settings.CACHES["default"]["BACKEND"]:
        client = cache._cache.get_client(write=True)
        key = cache.make_and_validate_key("gone")
        assert 0 < client.ttl(key) <= 60
        counters.add({"gone": 1}, timeout=600)  # a later count does not extend it
        assert client.ttl(key) <= 60
    else:
        assert cache.get("gone") == 1
