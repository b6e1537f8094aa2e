"""core.channel_layer: batched group sends on Redis, with channels_redis's semantics."""

import asyncio
import uuid

import pytest
import pytest_asyncio
from channels_redis.core import RedisChannelLayer as StockLayer
from django.conf import settings

from core.channel_layer import RedisChannelLayer

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.needs_redis,
    pytest.mark.usefixtures("_service_markers"),
]


@pytest_asyncio.fixture
async def layers():
    """Ours and the stock layer on the same prefix (as two processes would be)."""
    prefix = f"{settings.REDIS_KEY_PREFIX}-layer-{uuid.uuid4().hex[:12]}"
    host = {"address": settings.REDIS_URL, "socket_timeout": 15}
    ours = RedisChannelLayer(hosts=[host], prefix=prefix, capacity=3)
    stock = StockLayer(hosts=[host], prefix=prefix)
    yield ours, stock
    await ours.flush()
    await stock.close_pools()


async def receive(layer, channel) -> dict:
    return await asyncio.wait_for(layer.receive(channel), timeout=5)


async def nothing(layer, channel) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), timeout=0.3)
    except TimeoutError:
        return True
    return False


async def test_one_call_sends_several_groups_in_order(layers):
    ours, _stock = layers
    a, b = await ours.new_channel(), await ours.new_channel()
    await ours.group_add("conv.1", a)
    await ours.group_add("conv.1", b)
    await ours.group_add("user.7", a)

    await ours.group_send_many(
        [
            ("conv.1", {"type": "chat.message", "n": 1}),
            ("inbox.9", {"type": "inbox.update", "n": 2}),  # nobody listens
            ("user.7", {"type": "user.update", "n": 3}),
            ("conv.1", {"type": "chat.message", "n": 4}),
        ]
    )

    assert [(await receive(ours, a))["n"] for _ in range(3)] == [1, 3, 4]
    assert [(await receive(ours, b))["n"] for _ in range(2)] == [1, 4]
    assert await nothing(ours, a) and await nothing(ours, b)


async def test_a_discarded_channel_gets_nothing_and_a_full_one_drops_the_excess(layers):
    ours, _stock = layers
    full, gone = await ours.new_channel(), await ours.new_channel()
    await ours.group_add("g", full)
    await ours.group_add("g", gone)
    await ours.group_discard("g", gone)

    for n in range(5):  # capacity 3
        await ours.group_send("g", {"type": "x", "n": n})

    assert [(await receive(ours, full))["n"] for _ in range(3)] == [0, 1, 2]
    assert await nothing(ours, full) and await nothing(ours, gone)


async def test_the_stock_layer_reads_what_it_sends_and_the_other_way_round(layers):
    ours, stock = layers
    theirs, mine = await stock.new_channel(), await ours.new_channel()
    await stock.group_add("g", theirs)
    await ours.group_add("g", mine)

    await ours.group_send("g", {"type": "x", "from": "ours"})
    await stock.group_send("g", {"type": "x", "from": "stock"})

    assert [(await receive(stock, theirs))["from"] for _ in range(2)] == ["ours", "stock"]
    assert [(await receive(ours, mine))["from"] for _ in range(2)] == ["ours", "stock"]
