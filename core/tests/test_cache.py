from core.cache import RedisCache


def test_redis_cache_backends_of_a_process_share_one_client_per_server_and_options():
    # given: two backend objects, as two ASGI requests' contexts each get one
    first = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": "a"})
    second = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": "b"})
    other_db = RedisCache("redis://127.0.0.1:6379/14", {})
    # then: one client (and so one connection pool) for the same server and options
    assert first._cache is second._cache
    assert other_db._cache is not first._cache
