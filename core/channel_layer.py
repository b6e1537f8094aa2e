"""The Redis channel layer, with group sends in two round trips (docs/realtime.md).

channels_redis's ``RedisChannelLayer.group_send`` makes four round trips to Redis
for every group: drop expired members, read the members, drop expired messages of
their channels, then a script that adds the message. Saving a chat message sends
three groups (the conversation, the business's inbox, the customer's chat list),
so that was twelve round trips, each a few hundred microseconds of the server's
CPU, more than the socket's whole delivery of the message.

This subclass keeps the storage format, the expiry and the capacity rules
unchanged (any process running the stock layer reads what it writes, and the other
way round) and sends any number of groups in two round trips per Redis host: one
script that drops each group's expired members and reads the rest, then one
script that, for each receiving channel, drops its expired messages and adds the
message if the channel is under its capacity. ``group_send_many`` keeps the order
of its events for a channel that is in several of the groups (each message gets
a later score than the one before it).

It also **receives** in batches. All the sockets of a server process read one Redis
key (the process's channel); the stock layer takes its messages one at a time, each
in four round trips (put back a cancelled receive's backup, a blocking pop, copy the
message into the backup, and a cleaner that removes it from there). Here one script
takes every message waiting, up to ``RECEIVE_BATCH``, copies them into the backup and
returns them; the process hands them out from memory, and the next script drops that
backup — or, if the receive that took them was cancelled before the reply came, puts
it back first, as the stock layer does. Only when nothing is waiting does it block, on
the stock layer's pop. Under load that is one round trip for many messages instead of
four for each.
"""

import collections
import itertools
import logging
import time
from collections import deque

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer

logger = logging.getLogger(__name__)

# KEYS: group keys. ARGV: the oldest member score kept. Drops the expired members
# and returns each group's channels (one command: a pipeline costs more Python).
GROUP_MEMBERS_LUA = """
local members = {}
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
    members[i] = redis.call('ZRANGE', KEYS[i], 0, -1)
end
return members
"""

# KEYS: channel keys. ARGV: a message, a capacity and a score per key, then the
# oldest score kept and the expiry in seconds. Returns how many were over capacity.
GROUP_SEND_LUA = """
local over_capacity = 0
local n = #KEYS
local oldest = ARGV[3 * n + 1]
local expiry = ARGV[3 * n + 2]
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, oldest)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], ARGV[2 * n + i], ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""

# KEYS: a process channel's key, its backup and the backup's tag. ARGV: how many at
# most, the tag of the last batch whose reply reached the process, a new tag, the
# expiry. A backup tagged otherwise holds a batch whose receive was cancelled on the
# way: it goes back first, in order. Then the oldest waiting messages are moved into
# the backup, tagged, and returned with their scores.
RECEIVE_MANY_LUA = """
if redis.call('GET', KEYS[3]) ~= ARGV[2] then
    local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
    end
end
redis.call('DEL', KEYS[2])
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
end
if #popped > 0 then
    redis.call('EXPIRE', KEYS[2], ARGV[4])
end
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return popped
"""
RECEIVE_BATCH = 50

# A message score one step later than the one before it in the same call (time.time()
# is about 1.8e9: a double still tells 1e-6 apart).
SCORE_STEP = 1e-6


class RedisChannelLayer(BaseRedisChannelLayer):
    """channels_redis's layer with batched group sends and receives (see the module
    docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Per process channel key: the messages taken and not yet handed out, and the
        # tag of the last batch that reached this process.
        self._taken: dict[str, deque[bytes]] = collections.defaultdict(deque)
        self._arrived: dict[str, int] = {}
        self._tags = itertools.count(1)

    async def receive_single(self, channel):
        """The next message of ``channel``: from the last batch taken if any is left,
        else from a new batch (see the module docstring). Channels other than this
        process's own are received as the stock layer does."""
        if "!" not in channel:
            return await super().receive_single(channel)
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        key = self.prefix + channel
        taken = self._taken[key]
        while not taken:
            taken.extend(await self._take(self.consistent_hash(channel), key))
        message = self.deserialize(taken.popleft())
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message

    async def _take(self, index: int, key: str) -> list[bytes]:
        """Up to ``RECEIVE_BATCH`` messages of the channel ``key``; when none is
        waiting, blocks for one (up to ``brpop_timeout`` seconds: maybe none)."""
        connection = self.connection(index)
        backup = self._backup_channel_name(key)
        tag = next(self._tags)
        popped = await connection.eval(
            RECEIVE_MANY_LUA,
            3,
            key,
            backup,
            backup + "$tag",
            RECEIVE_BATCH,
            self._arrived.get(key, 0),
            tag,
            max(int(self.expiry), 1),
        )
        # Here (and not if the call was cancelled on the way) the batch has reached
        # this process: the next call drops its backup instead of putting it back.
        self._arrived[key] = tag
        if popped:
            return popped[0::2]
        result = await connection.bzpopmin(key, timeout=self.brpop_timeout)
        return [result[1]] if result is not None else []

    async def group_send(self, group, message):
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends) -> None:
        """Send each ``(group, message)`` of ``sends`` to its group, in order: two
        round trips per Redis host however many groups."""
        if not sends:
            return
        for group, _message in sends:
            assert self.require_valid_group_name(group), "Group name not valid"
        now = time.time()
        # 1. The members of every group, grouped by the host that holds the group.
        by_host: dict[int, list[int]] = collections.defaultdict(list)
        for n, (group, _message) in enumerate(sends):
            by_host[self.consistent_hash(group)].append(n)
        members: list[list[str]] = [[] for _send in sends]
        for index, numbers in by_host.items():
            replies = await self.connection(index).eval(
                GROUP_MEMBERS_LUA,
                len(numbers),
                *(self._group_key(sends[n][0]) for n in numbers),
                int(now) - self.group_expiry,
            )
            for n, names in zip(numbers, replies, strict=True):
                members[n] = [name.decode("utf8") for name in names]
        # 2. One message per channel key and group (the channels of one process share
        # a key and get one message naming them all), grouped by the key's host.
        keys: dict[int, list[tuple[bytes | str, bytes, int, float]]] = collections.defaultdict(list)
        step = 0
        for (_group, message), channel_names in zip(sends, members, strict=True):
            if not channel_names:
                continue
            by_connection, messages, capacities = self._map_channel_keys_to_connection(
                channel_names, message
            )
            for index, channel_keys in by_connection.items():
                for channel_key in channel_keys:
                    step += 1
                    keys[index].append(
                        (
                            channel_key,
                            messages[channel_key],
                            capacities[channel_key],
                            now + step * SCORE_STEP,
                        )
                    )
        for index, entries in keys.items():
            over = await self.connection(index).eval(
                GROUP_SEND_LUA,
                len(entries),
                *(entry[0] for entry in entries),
                *(entry[1] for entry in entries),
                *(entry[2] for entry in entries),
                *(entry[3] for entry in entries),
                int(now) - int(self.expiry),
                int(self.expiry),
            )
            if over:
                logger.info("%s channel messages over capacity in %s group sends", over, len(sends))
