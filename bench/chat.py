"""Chat sockets under load: send → other-party-receive latency and delivered messages/s.

    .venv/bin/python bench/chat.py                 # 500 sockets, 100 conversations, a sweep
    .venv/bin/python bench/chat.py --rate 20       # one rate (sends/s), --seconds 15
    .venv/bin/python bench/chat.py --layer pubsub --workers 2 --postgres URL --profile

One command, nothing to set up: it makes a throw-away SQLite database in a temporary
directory (or a throw-away PostgreSQL one with ``--postgres``), migrates, and
builds, through the services, businesses with staff, customers and one conversation
per customer (``chats.services.conversations.start_conversation``), plus a signed-in
session per user. It then starts the production-like server (uvicorn, DEBUG=0, the Redis channel
layer and Redis cache at ``--redis`` under a key prefix of its own, the chat rate
limit raised) and, from this process, opens ``--clients`` sockets on ``/ws/chat/``
spread over ``--conversations`` conversations: in each, the customer has about a
third of the sockets (browser tabs) and the business's staff the rest, each socket
subscribed to its conversation. Random sockets send text messages at a fixed total
rate (open loop), by default at the goal's rate (125 sends/s, i.e. 500 deliveries/s;
``--sweep`` runs rising rates until the server falls behind, a send unanswered for
5 s); every socket of the conversation, the sender's own included, must get each
message exactly once. Latency is the time from the send to each *other* socket's receipt of the
message (same clock: one process).

It prints p50/p95/p99 latency, sends/s, delivered messages/s (to sockets other than
the sender), errors, and the CPU time per send of the server, of Redis and of this
client, read from ``/proc`` and Redis ``INFO`` (steadier than the rates when other
programs share the machine), the highest rate with p99 ≤ 50 ms and the highest the
server kept up with. Then the floor: the same sockets on a bare Channels fan-out, at
the same rate. It exits 1 when a message was lost or duplicated, a send failed or
the goal (issue #23, goal 1) was missed: at 125 sends/s, p99 send → delivery ≤ 50 ms
and server CPU per delivery ≤ 1.5 × the floor's at that rate, printed as ratios.
``--profile`` records the server with py-spy (when on PATH) during the measured sends.
Redis keys of the run are deleted, the server stopped and the directory removed,
whatever happened.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import (
    clean_up,
    cpu_seconds,
    free_port,
    server_environment,
    throwaway_postgres,
    wait_until_up,
)

ROOT = Path(__file__).resolve().parent.parent
GOAL_P99_MS = 50.0
# Issue #23, goal 1: at this rate (500 deliveries/s), p99 ≤ GOAL_P99_MS and server CPU
# per delivery at most GOAL_CPU_RATIO × the floor's at the same rate, in the same run.
GOAL_RATE = 125.0
GOAL_CPU_RATIO = 1.5
SUSTAINED_P99_MS = 1000.0  # above this, a queue is building up: the rate is not sustained
CONVERSATIONS_PER_BUSINESS = 10
# 125 sends/s to 4 other sockets each (500 sockets in 100 conversations) is the goal's
# 500 deliveries/s.
SWEEP_EXAMPLE = "10,20,40,80,125,160,250"
DEFAULT_FLOOR_SWEEP = "125"
DRAIN_TIMEOUT = 20.0  # seconds to wait for the last messages after the sends stop
FINAL_DRAIN_TIMEOUT = 30.0  # before a message still missing counts as lost
CONNECT_CONCURRENCY = 25

SETTINGS_OVERRIDE = """\
from config.settings import *  # noqa: F403

CHANNEL_LAYERS = {layers!r}
"""

# The floor: the project's ASGI application plus ``/ws/bench-echo/``, a bare fan-out
# through the same server, channel layer and consumer base class, with no session,
# database, rendering or list updates. Written into the throw-away directory; nothing
# is added to the app's own routes.
FLOOR_ASGI = """\
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from config.asgi import application as project


class Echo(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()

    async def receive_json(self, content):
        group = "echo." + str(content["conversation"])
        if content["type"] == "subscribe":
            await self.channel_layer.group_add(group, self.channel_name)
            await self.send_json({"type": "subscribed"})
        elif content["type"] == "send":
            message = {"client_id": content["client_id"], "body": content["body"]}
            await self.channel_layer.group_send(
                group, {"type": "echo.message", "message": message}
            )
            await self.send_json({"type": "ack", "client_id": content["client_id"]})

    async def echo_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})


echo = Echo.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"] == "/ws/bench-echo/":
        return await echo(scope, receive, send)
    return await project(scope, receive, send)
"""


# --- Setup ------------------------------------------------------------------------


def environment(var_dir: Path, args, database_url: str, prefix: str) -> dict[str, str]:
    """The production-like settings (``pages.server_environment``) with the Redis
    layer under this run's prefix; shared by this process and the server."""
    env = server_environment(var_dir, database_url)
    env.update(
        REDIS_URL=args.redis,
        REDIS_KEY_PREFIX=prefix,
        CHAT_MESSAGES_PER_MINUTE=str(10**9),
        PYTHONPATH=str(ROOT),
    )
    if args.writers:
        env["CHAT_SEND_WRITERS"] = str(args.writers)
    if args.batch:
        env["CHAT_SEND_BATCH"] = str(args.batch)
    if args.layer == "pubsub":
        # The same settings with channels_redis's pub/sub layer, from a module in the
        # throw-away directory (settings.py itself picks the list-based layer).
        layers = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [args.redis], "prefix": prefix},
            }
        }
        (var_dir / "bench_chat_settings.py").write_text(SETTINGS_OVERRIDE.format(layers=layers))
        env["DJANGO_SETTINGS_MODULE"] = "bench_chat_settings"
        env["PYTHONPATH"] = f"{var_dir}{os.pathsep}{ROOT}"
    return env


@dataclass
class Plan:
    """Who opens which socket: (conversation id, session key, side) per socket."""

    sockets: list[tuple[int, str, str]]
    conversations: list[int]
    inboxes: dict[int, str] = field(default_factory=dict)  # conversation id -> business slug


def load_chats(clients: int, conversations: int) -> Plan:
    """Businesses with staff, customers and their conversations, through the services;
    a session per user as if each had signed in."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts import services as account_services
    from accounts.models import Membership, User
    from chats.services import conversations as chat_conversations

    per_conversation = clients // conversations
    customer_tabs = max(1, per_conversation // 3)
    staff_count = max(1, per_conversation - customer_tabs)
    sessions: dict[int, str] = {}

    def session_for(user) -> str:
        if user.pk not in sessions:
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            sessions[user.pk] = store.session_key
        return sessions[user.pk]

    sockets: list[tuple[int, str, str]] = []
    conversation_ids: list[int] = []
    inboxes: dict[int, str] = {}
    business = staff = None
    for n in range(conversations):
        if n % CONVERSATIONS_PER_BUSINESS == 0:
            b = n // CONVERSATIONS_PER_BUSINESS
            owner = User.objects.create_user(
                email=f"owner{b}@bench.invalid", display_name=f"Owner {b}"
            )
            business = account_services.create_business(
                user=owner, name=f"Loja {b}", slug=f"loja-bench-{b}"
            )
            staff = [owner]
            for s in range(1, staff_count):
                agent = User.objects.create_user(
                    email=f"agent{b}-{s}@bench.invalid",
                    display_name=f"Agent {b}-{s}",
                    language="en" if s % 2 else "pt-br",
                )
                Membership.objects.create(user=agent, business=business, role=Membership.Role.ADMIN)
                staff.append(agent)
        customer = User.objects.create_user(
            email=f"customer{n}@bench.invalid", display_name=f"Customer {n}"
        )
        conversation, _created = chat_conversations.start_conversation(
            customer=customer, business=business
        )
        conversation_ids.append(conversation.pk)
        inboxes[conversation.pk] = business.slug
        # The remainder of clients // conversations goes to the first conversations.
        count = per_conversation + (1 if n < clients % conversations else 0)
        for i in range(count):
            if i < customer_tabs:
                sockets.append((conversation.pk, session_for(customer), "customer"))
            else:
                member = staff[(i - customer_tabs) % len(staff)]
                sockets.append((conversation.pk, session_for(member), "staff"))
    return Plan(sockets=sockets, conversations=conversation_ids, inboxes=inboxes)


def prepare(env: dict[str, str], clients: int, conversations: int) -> Plan:
    os.environ.clear()
    os.environ.update(env)
    sys.path[:0] = [env["VAR_DIR"], str(ROOT)]  # the settings module of --layer pubsub
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    plan = load_chats(clients, conversations)
    connections.close_all()
    return plan


# --- Measurements outside the sockets ---------------------------------------------


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time of ``pid`` and its descendants (uvicorn --workers N: the supervisor and
    its workers)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children[ppid].append(int(entry.name))
    total, todo = None, [pid]
    while todo:
        current = todo.pop()
        seconds = cpu_seconds(current)
        if seconds is not None:
            total = (total or 0.0) + seconds
        todo.extend(children.get(current, []))
    return total


def redis_cpu_seconds(client) -> float | None:
    """Redis's own CPU time (the whole server: other users of it count too)."""
    try:
        info = client.info("cpu")
    except Exception:
        return None
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Meters:
    """CPU of the server, Redis and this process between two readings."""

    def __init__(self, server_pid: int, redis_client):
        self.server_pid = server_pid
        self.redis = redis_client

    def read(self) -> tuple[float | None, float | None, float]:
        return (
            tree_cpu_seconds(self.server_pid),
            redis_cpu_seconds(self.redis),
            time.process_time(),
        )


# --- The sockets ------------------------------------------------------------------


@dataclass
class Sent:
    conversation: int
    socket: int
    at: float
    step: int
    acked_at: float | None = None


@dataclass
class Socket:
    index: int
    conversation: int
    side: str
    ws: object = None
    received: Counter = field(default_factory=Counter)  # client_id -> times


class Load:
    def __init__(
        self,
        plan: Plan,
        port: int,
        body_size: int,
        seed: int,
        max_backlog: float,
        path: str,
        inbox: bool = False,
    ):
        self.plan = plan
        self.inbox = inbox
        self.max_backlog = max_backlog
        self.uri = f"ws://127.0.0.1:{port}{path}"
        self.origin = f"http://127.0.0.1:{port}"
        self.sockets = [
            Socket(i, conversation, side) for i, (conversation, _s, side) in enumerate(plan.sockets)
        ]
        self.by_conversation: dict[int, list[Socket]] = defaultdict(list)
        for s in self.sockets:
            self.by_conversation[s.conversation].append(s)
        self.sent: dict[str, Sent] = {}
        self.latencies: dict[int, list[float]] = defaultdict(list)  # step -> seconds
        self.deliveries: Counter = Counter()  # step -> receipts by other sockets
        self.last_receipt: dict[int, float] = {}
        self.errors: list[str] = []
        self.other_frames: Counter = Counter()
        self.list_frames: Counter = Counter()  # step -> list updates (inbox, user) received
        self.step = -1
        self.expected = 0
        self.got = 0
        self.drained = asyncio.Event()
        self.random = random.Random(seed)
        self.body = ("Olá! Vocês têm pão de queijo hoje? " * 20)[:body_size]
        self.readers: list[asyncio.Task] = []

    async def open_all(self) -> None:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def open_one(s: Socket, session_key: str) -> None:
            async with gate:
                s.ws = await connect(
                    self.uri,
                    additional_headers={
                        "Cookie": f"sessionid={session_key}",
                        "Origin": self.origin,
                    },
                    open_timeout=60,
                    ping_interval=None,
                    max_queue=None,
                )
                await s.ws.send(json.dumps({"type": "subscribe", "conversation": s.conversation}))
                while True:
                    frame = json.loads(await s.ws.recv())
                    if frame.get("type") == "subscribed":
                        break
                    if frame.get("type") == "error":
                        raise SystemExit(f"socket {s.index} could not subscribe: {frame}")
                if self.inbox and s.side == "staff":
                    # As the inbox page does (the list beside the open thread).
                    slug = self.plan.inboxes[s.conversation]
                    await s.ws.send(json.dumps({"type": "subscribe_inbox", "business": slug}))
                    while True:
                        frame = json.loads(await s.ws.recv())
                        if frame.get("type") == "subscribed_inbox":
                            break
                        if frame.get("type") == "error":
                            raise SystemExit(f"socket {s.index}: no inbox: {frame}")
            self.readers.append(asyncio.create_task(self.read(s)))

        await asyncio.gather(
            *(
                open_one(s, session_key)
                for s, (_c, session_key, _side) in zip(self.sockets, self.plan.sockets, strict=True)
            )
        )

    async def close_all(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(
            *(s.ws.close() for s in self.sockets if s.ws is not None), return_exceptions=True
        )

    async def read(self, s: Socket) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in s.ws:
                now = time.monotonic()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    client_id = frame["message"]["client_id"]
                    sent = self.sent.get(client_id)
                    s.received[client_id] += 1
                    if sent is None or sent.conversation != s.conversation:
                        self.errors.append(f"socket {s.index} got a message not for it")
                        continue
                    self.got += 1
                    if sent.socket != s.index:
                        self.latencies[sent.step].append(now - sent.at)
                        self.deliveries[sent.step] += 1
                        self.last_receipt[sent.step] = now
                elif kind == "ack":
                    sent = self.sent.get(frame.get("client_id"))
                    if sent is not None:
                        sent.acked_at = now
                elif kind == "error":
                    self.errors.append(f"{frame.get('code')}: {frame.get('message')}")
                else:
                    self.other_frames[kind] += 1
                    if kind in ("inbox", "user"):
                        self.list_frames[self.step] += 1
                if self.got >= self.expected and self.expected:
                    self.drained.set()
        except ConnectionClosed as exc:
            self.errors.append(f"socket {s.index} closed: {exc}")

    async def send_at_rate(self, rate: float, seconds: float, step: int) -> tuple[float, bool]:
        """Open loop: sends at ``rate`` per second for ``seconds`` whatever the answers,
        unless the oldest unanswered send is older than ``self.max_backlog`` seconds
        (the server is not keeping up: the step stops there). Returns how far behind
        its schedule this client fell at worst (seconds) and whether it stopped."""
        count = int(rate * seconds)
        start = time.monotonic()
        behind = 0.0
        waiting: deque[Sent] = deque()
        for i in range(count):
            due = start + i / rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                behind = max(behind, now - due)
            while waiting and waiting[0].acked_at is not None:
                waiting.popleft()
            if waiting and time.monotonic() - waiting[0].at > self.max_backlog:
                return behind, True
            s = self.random.choice(self.sockets)
            client_id = str(uuid.uuid4())
            self.expected += len(self.by_conversation[s.conversation])
            frame = json.dumps(
                {
                    "type": "send",
                    "conversation": s.conversation,
                    "client_id": client_id,
                    "body": f"{self.body} #{i}",
                }
            )
            sent = self.sent[client_id] = Sent(s.conversation, s.index, time.monotonic(), step)
            waiting.append(sent)
            await s.ws.send(frame)
        return behind, False

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> bool:
        if self.got >= self.expected:
            return True
        self.drained.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained.wait(), timeout)
        return self.got >= self.expected

    def check(self) -> tuple[int, int, int]:
        """(lost, duplicated, unacked) over the whole run: every socket of a
        conversation must have every message sent to it exactly once."""
        lost = duplicated = 0
        for client_id, sent in self.sent.items():
            for s in self.by_conversation[sent.conversation]:
                times = s.received.get(client_id, 0)
                lost += times == 0
                duplicated += times > 1
        unacked = sum(1 for sent in self.sent.values() if sent.acked_at is None)
        return lost, duplicated, unacked


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))] * 1000


async def drive(
    plan: Plan, port: int, args, meters: Meters, steps: list[float], profiler: "PySpy"
) -> dict:
    """The chat sweep on ``/ws/chat/``, then (``--floor``) the same sockets and sweep
    on the bare fan-out ``/ws/bench-echo/``, on the same server."""
    load = Load(plan, port, args.body, args.seed, args.max_backlog, "/ws/chat/", args.inbox)
    result = await measure(load, args, meters, steps, profiler)
    if args.floor_sweep:
        print("\nthe floor: the same sockets on /ws/bench-echo/ (a bare fan-out: no session,")
        print("database, rendering or list updates; the same server, layer and consumer class)")
        floor_steps = [float(r) for r in args.floor_sweep.split(",") if r.strip()]
        load = Load(plan, port, args.body, args.seed, args.max_backlog, "/ws/bench-echo/")
        quiet = PySpy(0, Path("."), enabled=False)
        result["floor"] = await measure(load, args, meters, floor_steps, quiet, sweep=True)
    return result


async def measure(
    load: "Load",
    args,
    meters: Meters,
    steps: list[float],
    profiler: "PySpy",
    sweep: bool | None = None,
) -> dict:
    sweep = bool(args.sweep) if sweep is None else sweep
    opened = time.monotonic()
    await load.open_all()
    print(f"opened and subscribed {len(load.sockets)} sockets in {time.monotonic() - opened:.1f} s")
    rows = []
    try:
        if args.warmup:
            await load.send_at_rate(min(steps), args.warmup, step=-1)
            await load.drain()
        profiler.start()
        for step, rate in enumerate(steps):
            before = meters.read()
            load.step = step
            started = time.monotonic()
            behind, overloaded = await load.send_at_rate(rate, args.seconds, step)
            sending = time.monotonic() - started
            drained = await load.drain()
            elapsed = time.monotonic() - started
            after = meters.read()
            sends = sum(1 for sent in load.sent.values() if sent.step == step)
            acks = [
                sent.acked_at - sent.at
                for sent in load.sent.values()
                if sent.step == step and sent.acked_at is not None
            ]
            latencies = sorted(load.latencies[step])
            deliveries = load.deliveries[step]
            # Wall time: the sending window, or up to the step's last receipt if later.
            window = max(sending, load.last_receipt.get(step, started) - started)
            cpu = {
                name: (b - a) * 1000 / sends if a is not None and b is not None and sends else None
                for name, a, b in zip(("server", "redis", "client"), before, after, strict=True)
            }
            row = {
                "rate": rate,
                "sends": sends,
                "send_rate": sends / sending if sending else 0.0,
                "deliveries": deliveries,
                "list_rate": load.list_frames[step] / elapsed if elapsed else 0.0,
                "delivered_rate": deliveries / window if window else 0.0,
                "p50": percentile(latencies, 0.50),
                "p95": percentile(latencies, 0.95),
                "p99": percentile(latencies, 0.99),
                "max": latencies[-1] * 1000 if latencies else float("nan"),
                "ack_p50": statistics.median(acks) * 1000 if acks else float("nan"),
                "drained": drained and not overloaded,
                "overloaded": overloaded,
                "behind": behind * 1000,
                "cpu": cpu,
                "elapsed": elapsed,
            }
            rows.append(row)
            print_row(row, header=step == 0)
            if overloaded:
                print(
                    f"    the server fell behind (a send unanswered for {args.max_backlog:g} s): "
                    f"this rate stopped after {sending:.1f} s; deliv/s is what it could do"
                )
            elif not drained:
                print(f"    messages still undelivered {DRAIN_TIMEOUT:g} s after the sends")
            if not row["drained"] and sweep:
                break
        profiler.stop()
    finally:
        await load.drain(FINAL_DRAIN_TIMEOUT)
        lost, duplicated, unacked = load.check()
        await load.close_all()
    return {
        "rows": rows,
        "lost": lost,
        "duplicated": duplicated,
        "unacked": unacked,
        "errors": load.errors,
        "other_frames": load.other_frames,
        "fan_out": len(load.sockets) / len(load.plan.conversations) - 1,
    }


def print_row(row: dict, header: bool) -> None:
    if header:
        head = (
            f"{'rate':>6}{'sends/s':>9}{'deliv/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
            f"{'max ms':>8}{'ack p50':>8}{'lag ms':>8}{'srv cpu ms/send':>17}"
            f"{'/deliv':>8}{'redis':>7}{'client':>8}{'lists/s':>8}"
        )
        print("\n" + head)
        print("-" * len(head))
    cpu = row["cpu"]

    def ms(value) -> str:
        return f"{value:.2f}" if value is not None else "n/a"

    per_delivery = (
        cpu["server"] * row["sends"] / row["deliveries"]
        if cpu["server"] is not None and row["deliveries"]
        else None
    )
    print(
        f"{row['rate']:>6.0f}{row['send_rate']:>9.0f}{row['delivered_rate']:>9.0f}"
        f"{row['p50']:>8.1f}{row['p95']:>8.1f}{row['p99']:>8.1f}{row['max']:>8.0f}"
        f"{row['ack_p50']:>8.1f}{row['behind']:>8.0f}{ms(cpu['server']):>17}"
        f"{ms(per_delivery):>8}{ms(cpu['redis']):>7}{ms(cpu['client']):>8}"
        f"{row['list_rate']:>8.0f}"
    )


# --- The server -------------------------------------------------------------------


@contextlib.contextmanager
def server_process(env: dict[str, str], var_dir: Path, workers: int, app: str):
    port = free_port()
    # The sockets' Origin must be the site's own, port included (core.origins).
    env = {**env, "SITE_URL": f"http://127.0.0.1:{port}"}
    log = open(var_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--lifespan=off",
            "--no-access-log",
            "--log-level=warning",
            "--ws-per-message-deflate=false",  # as the Procfile and README serve it
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_until_up(port, server)
        if workers > 1:
            time.sleep(2)  # the other workers
        yield server, port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        text = (var_dir / "server.log").read_text(errors="replace")
        if server.returncode not in (0, -15) or "Traceback" in text:
            print("--- server log (end) ---\n" + text[-3000:], file=sys.stderr)


class PySpy:
    """``py-spy record`` of the server (all its threads) during the measured sends
    only, then the functions with the most samples (self and total)."""

    def __init__(self, pid: int, var_dir: Path, enabled: bool, keep: str = ""):
        self.pid, self.out, self.enabled = pid, var_dir / "profile.txt", enabled
        self.keep = keep
        self.recorder = None
        self.exe = shutil.which("py-spy") if enabled else None
        if enabled and self.exe is None:
            print("py-spy is not on PATH; no profile (see bench/README.md)")

    def start(self) -> None:
        if self.exe is None:
            return
        self.recorder = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                self.exe,
                "record",
                "--format=raw",
                "--threads",
                "--subprocesses",
                "--gil",  # samples of the thread holding the GIL: where the CPU goes
                "--rate=250",
                f"--output={self.out}",
                f"--pid={self.pid}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.recorder is None:
            return
        self.recorder.send_signal(2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.recorder.wait(timeout=30)
        if self.recorder.poll() is None:
            self.recorder.kill()
            self.recorder.wait()
        self.recorder = None
        if self.out.exists():
            print_profile(self.out)
            if self.keep:
                shutil.copy(self.out, self.keep)
                print(f"  (collapsed stacks kept in {self.keep})")


def print_profile(path: Path, top: int = 30) -> None:
    own: Counter = Counter()
    total: Counter = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return
    print(f"\nserver profile: {samples} samples (py-spy --gil: the thread running Python)")
    for title, counter in (("self", own), ("total", total)):
        print(f"\n  by {title}:")
        for frame, n in counter.most_common(top):
            print(f"  {n / samples:6.1%}  {frame[:150]}")


# --- Main -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500, help="sockets (default 500)")
    parser.add_argument(
        "--conversations", type=int, default=100, help="conversations (default 100)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="one rate: sends per second, all sockets (default: the goal's, 125)",
    )
    parser.add_argument(
        "--seconds", type=float, default=15, help="sending time per rate (default 15)"
    )
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up (default 3)")
    parser.add_argument(
        "--sweep",
        default="",
        metavar="RATES",
        help="comma-separated send rates, run one after the other on the same sockets "
        "until the server falls behind (finds the sustainable rate), e.g. " + SWEEP_EXAMPLE,
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument(
        "--writers", type=int, default=0, help="send writers per process (CHAT_SEND_WRITERS)"
    )
    parser.add_argument(
        "--batch", type=int, default=0, help="sends per write transaction at most (CHAT_SEND_BATCH)"
    )
    parser.add_argument(
        "--layer",
        choices=["core", "pubsub"],
        default="core",
        help="channels_redis layer: core (settings.py's RedisChannelLayer) or pubsub "
        "(RedisPubSubChannelLayer)",
    )
    parser.add_argument(
        "--max-backlog",
        type=float,
        default=5,
        help="stop a rate when a send has had no ack for this many seconds (default 5)",
    )
    parser.add_argument("--body", type=int, default=60, help="characters per message")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/0", help="Redis for the layer and cache"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="",
        help="a throw-away database on this PostgreSQL server instead of SQLite",
    )
    parser.add_argument(
        "--floor-sweep",
        default=DEFAULT_FLOOR_SWEEP,
        metavar="RATES",
        help="after the chat, the same sockets on a bare fan-out at these send rates (the "
        "floor the chat is compared with; default " + DEFAULT_FLOOR_SWEEP + "; '' skips it)",
    )
    parser.add_argument(
        "--inbox",
        action="store_true",
        help="staff sockets also subscribe to their business's inbox, as the inbox page does "
        "(the list beside the thread): every message then updates the lists of all of the "
        "business's staff sockets",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server (on PATH)")
    parser.add_argument(
        "--profile-out", default="", help="keep the profile's collapsed stacks in this file"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not args.rate and not args.sweep:
        args.rate = GOAL_RATE
    if args.clients < 2 * args.conversations:
        parser.error("--clients must be at least twice --conversations (someone to receive)")
    with contextlib.ExitStack() as stack:
        database_url = (
            stack.enter_context(throwaway_postgres(args.postgres)) if args.postgres else ""
        )
        return run(args, database_url)


def run(args, database_url: str) -> int:
    import redis

    var_dir = Path(tempfile.mkdtemp(prefix="conversa-chat-bench-"))
    prefix = "conversa-bench-" + os.urandom(4).hex()
    env = environment(var_dir, args, database_url, prefix)
    redis_client = redis.Redis.from_url(args.redis)
    steps = [float(r) for r in args.sweep.split(",") if r.strip()] if args.sweep else [args.rate]
    if args.rate and args.sweep:
        raise SystemExit("give --rate or --sweep, not both")
    started = time.monotonic()
    try:
        plan = prepare(env, args.clients, args.conversations)
        print(
            f"{len(plan.sockets)} sockets in {len(plan.conversations)} conversations, "
            f"set up in {time.monotonic() - started:.1f} s ({var_dir})"
        )
        app = "config.asgi:application"
        if args.floor_sweep:
            (var_dir / "bench_chat_floor.py").write_text(FLOOR_ASGI)
            env["PYTHONPATH"] = f"{var_dir}{os.pathsep}{env['PYTHONPATH']}"
            app = "bench_chat_floor:application"
        with server_process(env, var_dir, args.workers, app) as (server, port):
            meters = Meters(server.pid, redis_client)
            try:
                import uvloop

                runner = uvloop.run
            except ImportError:
                runner = asyncio.run
            profiler = PySpy(server.pid, var_dir, args.profile, keep=args.profile_out)
            try:
                result = runner(drive(plan, port, args, meters, steps, profiler))
            finally:
                profiler.stop()
        return report(args, result, database_url)
    finally:
        clean_up(var_dir, args.keep, redis_client, prefix)
        print(f"total time {time.monotonic() - started:.1f} s")


def report(args, result: dict, database_url: str) -> int:
    rows = result["rows"]
    database = "PostgreSQL" if database_url else "SQLite"
    print(
        f"\n{args.clients} sockets, {args.conversations} conversations (each send fans out to "
        f"{result['fan_out']:.0f} other sockets); uvicorn {args.workers} worker(s), DEBUG=0, "
        f"{database}, channels_redis {args.layer} layer; {os.cpu_count()} CPUs"
    )
    print(
        "rate: sends/s asked for (open loop); deliv/s: messages received by sockets other "
        "than the sender;\nlatency: send → receipt at each other socket; ack p50: send → "
        "the sender's ack; lag: how far\nthis client fell behind its schedule; cpu: "
        "milliseconds per send (server, Redis, this client),\n/deliv: server ms per delivery; "
        "lists/s: list updates (inbox, user frames) received per second."
    )
    ok = True
    if result["lost"] or result["duplicated"]:
        ok = False
        print(f"\nLOST {result['lost']} and DUPLICATED {result['duplicated']} message receipts")
    if result["unacked"]:
        ok = False
        print(f"\n{result['unacked']} sends had no ack")
    if result["errors"]:
        ok = False
        print(f"\n{len(result['errors'])} errors, e.g. {sorted(set(result['errors']))[:5]}")
    if result["other_frames"]:
        print(f"other frames received: {dict(result['other_frames'])}")
    if ok:
        print("\nevery socket got every message of its conversation exactly once")
    fine = [r for r in rows if r["drained"] and r["p99"] <= GOAL_P99_MS]
    kept_up = [r for r in rows if r["drained"] and r["p99"] <= SUSTAINED_P99_MS]
    best = max(fine, key=lambda r: r["rate"], default=None)
    top = max(kept_up, key=lambda r: r["rate"], default=None)
    if len(rows) > 1 or not rows[0]["drained"]:
        if best:
            print(
                f"highest rate with p99 ≤ {GOAL_P99_MS:.0f} ms: {best['rate']:.0f} sends/s, "
                f"{best['delivered_rate']:.0f} delivered/s"
            )
        else:
            print(f"no rate had p99 ≤ {GOAL_P99_MS:.0f} ms")
        if top:
            print(
                f"highest rate the server kept up with (all delivered, p99 ≤ "
                f"{SUSTAINED_P99_MS:.0f} ms): {top['rate']:.0f} sends/s "
                f"({top['delivered_rate']:.0f} delivered/s, p99 {top['p99']:.0f} ms)"
            )
    floor = result.get("floor")
    if floor is not None:
        ok = report_floor(floor, rows, best) and ok
    met = report_goal(rows, floor["rows"] if floor is not None else [])
    return 0 if ok and met else 1


def _at_goal_rate(rows: list[dict]) -> dict | None:
    return next((r for r in rows if r["rate"] == GOAL_RATE), None)


def _per_delivery(row: dict) -> float | None:
    cpu = row["cpu"]["server"]
    return cpu * row["sends"] / row["deliveries"] if cpu is not None and row["deliveries"] else None


def report_goal(rows: list[dict], floor_rows: list[dict]) -> bool:
    """Issue #23, goal 1, as ratios: the chat's p99 to the goal's 50 ms (and to the
    floor's p99), its server CPU per delivery to the floor's, both at GOAL_RATE.
    True if met (everything delivered, p99 ≤ 50 ms, CPU ≤ 1.5 × the floor's)."""
    chat, floor = _at_goal_rate(rows), _at_goal_rate(floor_rows)
    print(
        f"\ngoal (#23, 1): at {GOAL_RATE:.0f} sends/s, p99 ≤ {GOAL_P99_MS:.0f} ms and server CPU "
        f"per delivery ≤ {GOAL_CPU_RATIO:.1f} × the floor's"
    )
    if chat is None or floor is None:
        missing = "the chat" if chat is None else "the floor"
        print(f"  {missing} was not measured at {GOAL_RATE:.0f} sends/s: NOT met")
        return False
    p99_ratio = chat["p99"] / GOAL_P99_MS
    print(
        f"  p99: chat {chat['p99']:.1f} ms = {p99_ratio:.2f} × the goal's {GOAL_P99_MS:.0f} ms "
        f"(≤ 1.00); floor {floor['p99']:.1f} ms, chat/floor {chat['p99'] / floor['p99']:.2f} ×"
    )
    chat_cpu, floor_cpu = _per_delivery(chat), _per_delivery(floor)
    cpu_ratio = chat_cpu / floor_cpu if chat_cpu and floor_cpu else float("inf")
    print(
        f"  server cpu per delivery: chat {chat_cpu or float('nan'):.2f} ms, floor "
        f"{floor_cpu or float('nan'):.2f} ms = {cpu_ratio:.2f} × (≤ {GOAL_CPU_RATIO:.2f})"
    )
    met = chat["drained"] and p99_ratio <= 1 and cpu_ratio <= GOAL_CPU_RATIO
    print(
        f"  {'met' if met else 'NOT met'}"
        + ("" if chat["drained"] else " (the chat did not keep up: messages undelivered)")
    )
    return met


def report_floor(floor: dict, rows: list[dict], best: dict | None) -> bool:
    """Print the bare fan-out's figures and the chat's share of them; False if the
    floor itself lost or duplicated a message."""
    fine = [r for r in floor["rows"] if r["drained"] and r["p99"] <= GOAL_P99_MS]
    top = max(fine, key=lambda r: r["rate"], default=None)
    print()
    if top:
        print(
            f"floor: highest rate with p99 ≤ {GOAL_P99_MS:.0f} ms: {top['rate']:.0f} sends/s, "
            f"{top['delivered_rate']:.0f} delivered/s (p99 {top['p99']:.0f} ms)"
        )
    else:
        print(f"floor: no rate had p99 ≤ {GOAL_P99_MS:.0f} ms")

    def cpu_per_delivery(table: list[dict]) -> float | None:
        values = [
            r["cpu"]["server"] * r["sends"] / r["deliveries"]
            for r in table
            if r["drained"] and r["cpu"]["server"] is not None and r["deliveries"]
        ]
        return statistics.median(values) if values else None

    chat_cpu, floor_cpu = cpu_per_delivery(rows), cpu_per_delivery(floor["rows"])
    if chat_cpu and floor_cpu:
        print(
            f"server cpu per delivery (median of the rates kept up with): chat {chat_cpu:.2f} ms, "
            f"floor {floor_cpu:.2f} ms — the chat does {floor_cpu / chat_cpu:.0%} of the "
            f"floor's deliveries per CPU second"
        )
    if top and best:
        print(
            f"the chat's highest rate with p99 ≤ {GOAL_P99_MS:.0f} ms is "
            f"{best['rate'] / top['rate']:.0%} of the floor's"
        )
    if floor["lost"] or floor["duplicated"] or floor["errors"]:
        lost, duplicated = floor["lost"], floor["duplicated"]
        print(f"floor: {lost} lost, {duplicated} duplicated, errors {floor['errors'][:3]}")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
