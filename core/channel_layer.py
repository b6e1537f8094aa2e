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
"""

import collections
import logging
import time

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

# A message score one step later than the one before it in the same call (time.time()
# is about 1.8e9: a double still tells 1e-6 apart).
SCORE_STEP = 1e-6


class RedisChannelLayer(BaseRedisChannelLayer):
    """channels_redis's layer with batched group sends (see the module docstring)."""

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
