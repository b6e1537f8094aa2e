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


@pytest_asyncio.fixture
async def roomy():
    """Ours with room for every message the receive tests send."""
    prefix = f"{settings.REDIS_KEY_PREFIX}-layer-{uuid.uuid4().hex[:12]}"
    host = {"address": settings.REDIS_URL, "socket_timeout": 15}
    layer = RedisChannelLayer(hosts=[host], prefix=prefix, capacity=100)
    yield layer
    await layer.flush()


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


async def test_waiting_messages_are_taken_in_one_round_trip_in_order_and_once(roomy, monkeypatch):
    ours = roomy
    a, b = await ours.new_channel(), await ours.new_channel()
    await ours.group_add("g", a)
    await ours.group_add("g", b)
    await ours.group_add("h", b)
    for n in range(20):
        await ours.group_send_many([("g", {"type": "x", "n": n}), ("h", {"type": "y", "n": n})])
    takes = []
    take = ours._take

    async def counted(index, key):
        taken = await take(index, key)
        takes.append(len(taken))
        return taken

    monkeypatch.setattr(ours, "_take", counted)

    assert [(await receive(ours, a))["n"] for _ in range(20)] == list(range(20))
    received = [await receive(ours, b) for _ in range(40)]
    assert [(m["type"], m["n"]) for m in received] == [(t, n) for n in range(20) for t in "xy"]
    assert takes == [40]  # one message per group send names both channels of the process
    assert await nothing(ours, a) and await nothing(ours, b)


class _LostReply:
    """The layer's Redis connection, whose next script call is cancelled: after Redis
    ran it (``ran=True``: the reply is lost on the way) or before it was sent."""

    def __init__(self, connection, *, ran: bool):
        self.connection, self.ran, self.done = connection, ran, False

    def __getattr__(self, name):
        return getattr(self.connection, name)

    async def eval(self, *args):
        if not self.done:
            self.done = True
            if self.ran:
                await self.connection.eval(*args)
            raise asyncio.CancelledError
        return await self.connection.eval(*args)


@pytest.mark.parametrize("ran", [True, False], ids=["reply-lost", "never-sent"])
async def test_a_cancelled_receive_loses_nothing_and_repeats_nothing(roomy, monkeypatch, ran):
    ours = roomy
    a = await ours.new_channel()
    await ours.group_add("g", a)
    # given a first batch that reached the process
    await ours.group_send("g", {"type": "x", "n": 0})
    assert (await receive(ours, a))["n"] == 0
    for n in (1, 2):
        await ours.group_send("g", {"type": "x", "n": n})

    # when the next receive is cancelled around its script
    connection = ours.connection(0)
    lost = _LostReply(connection, ran=ran)
    monkeypatch.setattr(ours, "connection", lambda index: lost)
    with pytest.raises(asyncio.CancelledError):
        await ours.receive(a)

    # then the next receive gets what was waiting, in order, once; nothing comes back
    assert [(await receive(ours, a))["n"] for _ in range(2)] == [1, 2]
    assert await nothing(ours, a)
