import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from insights import visitors
from insights.services import touches


def _forget_buffered_clicks() -> None:
    touches._process_buffer.lines.clear()
    visitors._salts.clear()  # the local cache is cleared between tests (root conftest)
    cache = caches["default"]
    if isinstance(cache, RedisCache):  # this test run's own keys only, never a clear()
        buffer = touches._buffer()
        claims = buffer.client.zrange(buffer.claims_key, 0, -1)
        buffer.client.delete(buffer.pending_key, buffer.claims_key, *claims)


@pytest.fixture(autouse=True)
def _no_buffered_clicks():
    """Each test starts and ends with no click waiting to be written."""
    _forget_buffered_clicks()
    yield
    _forget_buffered_clicks()
