"""Touches: tracked clicks (buffered), conversation starts and delivered offers
(written in their event's transaction), and the campaign each belongs to.

Clicks are on the public pages' hot path (the shop page of an anonymous visitor is
served from the page cache with no database access), so :func:`record_click` writes
nothing to the database: it appends one compact JSON line to a buffer, and
:func:`flush` writes the buffered clicks as ``Touch`` rows in batches.

- With Redis (``caches["default"]`` is a ``RedisCache``: production) the buffer is
  one Redis list shared by every web process (``RPUSH``, one round trip a click).
  ``flush`` claims a batch atomically with a Lua script that moves it to a
  processing list of its own, registered with the time of the claim; the rows are
  inserted in one transaction and the processing list is deleted after the commit.
  Two flushers never claim the same line. A flusher that dies (or whose database
  write fails) leaves its processing list behind: the next flush after
  ``STALE_AFTER`` seconds adopts it, so nothing is lost; only a death in the instant
  between the commit and the delete would insert that batch twice.
  The Celery beat runs ``insights.tasks.flush_touches`` every
  ``TOUCH_FLUSH_INTERVAL`` seconds.
- On the embedded default (a local-memory cache: one web process, and Celery workers
  in processes of their own) the buffer is a list in the web process, guarded by a
  lock; a timer thread of that process flushes it ``TOUCH_FLUSH_INTERVAL`` seconds
  after the first click buffered, and at a normal exit (``flush_in_background``,
  called by ``config.asgi``: a web server's process). The trade-off: a process
  killed with ``SIGKILL`` (or a crash) loses the clicks of those last seconds, never
  more — for a single-host demo, against a database write on every page view.

Campaign pages call :func:`flush` before reading their figures, so a click made a
second ago shows. Conversation-start and offer touches are not buffered: they are
written in the transaction of the conversation or of the offer's delivery.
"""

import atexit
import datetime
import hashlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, connections, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Business
from accounts.throttle import client_ip
from catalog.models import Product
from chats.models import Contact
from insights.models import CLICK_ID_MAX, CODE_MAX, UTM_MAX, Campaign, Channel, Touch
from insights.visitors import (
    CLICK_ID_PARAMS,
    Tracking,
    clean_value,
    is_bot,
    parse_tracking,
    visitor_hash,
)
from marketing.models import Broadcast

logger = logging.getLogger(__name__)

BATCH = 2000  # clicks per flush transaction
STALE_AFTER = 120  # seconds: a processing list this old lost its flusher
MAX_PENDING = 200_000  # clicks kept waiting at most (the oldest go first): memory bound
PENDING_KEY = "insights:touches:pending"
CLAIMS_KEY = "insights:touches:claims"
CLAIM_PREFIX = "insights:touches:claim:"
AUTO_KEY_MAX = Campaign._meta.get_field("auto_key").max_length
NAME_MAX = Campaign._meta.get_field("name").max_length
MERGE_HOPS = 5


def _client(request: HttpRequest) -> tuple[str, str]:
    try:
        ip = client_ip(request)
    except Exception:
        ip = ""
    return ip, request.headers.get("User-Agent", "")


# --- Recording a click -------------------------------------------------------------------


def record_click(
    request: HttpRequest, *, business_id: int, page: str, product_id: int | None = None
) -> bool:
    """Buffer a CLICK touch for this request, if its URL carries tracking values
    (``ref``, ``utm_*`` or an ad click id) and it does not come from a bot. True if a
    touch was buffered. No database access; one Redis round trip in production."""
    tracking = parse_tracking(request.GET)
    if not tracking:
        return False
    ip, agent = _client(request)
    if is_bot(agent):
        return False
    user = getattr(request, "user", None)
    line = {
        "b": business_id,
        "at": round(time.time(), 3),
        "pg": page,
        "v": visitor_hash(business_id=business_id, ip=ip, user_agent=agent),
        **({"pr": product_id} if product_id else {}),
        **({"u": user.pk} if user is not None and user.is_authenticated else {}),
        **tracking.as_dict(),
    }
    _buffer().push(json.dumps(line, separators=(",", ":")))
    return True


def handle_tracked_visit(*, request, business_id: int, page: str, product_id=None) -> None:
    """``catalog.hooks.tracked_visit`` handler. Never fails the page it is called for."""
    try:
        record_click(request, business_id=business_id, page=page, product_id=product_id)
    except Exception:  # a lost click, logged; the page is served anyway
        logger.exception("insights: recording a click failed")


def handle_chat_link_opened(*, request, business_id: int) -> None:
    """``chats.hooks.chat_link_opened`` handler: the click of a click-to-chat link."""
    handle_tracked_visit(request=request, business_id=business_id, page=Touch.Page.CHAT)


# --- Buffers --------------------------------------------------------------------------------


class _ProcessBuffer:
    """The embedded default's buffer: this process's list (see the module docstring)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.in_background = False  # set in a web server's process (flush_in_background)

    def push(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)
            del self.lines[:-MAX_PENDING]
            if self.timer is None and self.in_background and settings.TOUCH_FLUSH_INTERVAL > 0:
                self.timer = threading.Timer(settings.TOUCH_FLUSH_INTERVAL, self._timed_flush)
                self.timer.daemon = True
                self.timer.start()

    def _timed_flush(self) -> None:
        with self.lock:
            self.timer = None
        try:
            flush()
        except Exception:  # logged; the clicks went back to the buffer
            logger.exception("insights: flushing the buffered touches failed")
        finally:
            connections.close_all()  # this thread's connections

    def claim(self, limit: int) -> tuple[list[str], Any]:
        with self.lock:
            lines, self.lines = self.lines[:limit], self.lines[limit:]
        return lines, lines

    def done(self, claim: Any) -> None:
        pass

    def give_back(self, claim: list[str]) -> None:
        with self.lock:
            self.lines[:0] = claim

    def pending(self) -> int:
        return len(self.lines)


# KEYS: pending list, claims (sorted set: claim key → time), this claim's list.
# ARGV: now, stale-before, limit. Adopts stale claims, then moves up to ``limit``
# pending lines; registers the claim and returns its lines. Atomic in Redis.
_CLAIM_SCRIPT = """
local moved = 0
for _, stale in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])) do
  while redis.call('LMOVE', stale, KEYS[3], 'LEFT', 'RIGHT') do moved = moved + 1 end
  redis.call('ZREM', KEYS[2], stale)
end
local limit = tonumber(ARGV[3])
while moved < limit and redis.call('LMOVE', KEYS[1], KEYS[3], 'LEFT', 'RIGHT') do
  moved = moved + 1
end
if moved == 0 then return {} end
redis.call('ZADD', KEYS[2], ARGV[1], KEYS[3])
return redis.call('LRANGE', KEYS[3], 0, -1)
"""


class _RedisBuffer:
    """Production's buffer: one Redis list for every process (module docstring)."""

    def __init__(self, cache: RedisCache) -> None:
        self.cache = cache
        self.client = cache._cache.get_client(write=True)  # as core.counters does
        self.pending_key = cache.make_and_validate_key(PENDING_KEY)
        self.claims_key = cache.make_and_validate_key(CLAIMS_KEY)

    def push(self, line: str) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(self.pending_key, line)
            pipe.ltrim(self.pending_key, -MAX_PENDING, -1)
            pipe.execute()

    def claim(self, limit: int) -> tuple[list[str], Any]:
        claim_key = self.cache.make_and_validate_key(CLAIM_PREFIX + uuid.uuid4().hex)
        now = time.time()
        lines = self.client.eval(
            _CLAIM_SCRIPT, 3, self.pending_key, self.claims_key, claim_key,
            now, now - STALE_AFTER, limit,
        )  # fmt: skip
        return [line.decode() if isinstance(line, bytes) else line for line in lines], claim_key

    def done(self, claim_key: str) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(claim_key)
            pipe.zrem(self.claims_key, claim_key)
            pipe.execute()

    def give_back(self, claim_key: str) -> None:
        pass  # the claim stays registered: a later flush adopts it once stale

    def pending(self) -> int:
        return int(self.client.llen(self.pending_key))


_process_buffer = _ProcessBuffer()


def _buffer() -> _ProcessBuffer | _RedisBuffer:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _RedisBuffer(cache)
    return _process_buffer


def flush_in_background() -> None:
    """Called once by a web server process (``config.asgi``, ``config.wsgi``): on the
    embedded default, flush this process's buffer from a timer thread
    ``TOUCH_FLUSH_INTERVAL`` seconds after a click is buffered, and at exit. Nothing
    with Redis (the beat flushes). Not in tests, whose clicks the tests flush."""
    if isinstance(caches["default"], RedisCache) or _process_buffer.in_background:
        return
    _process_buffer.in_background = True
    atexit.register(_flush_at_exit)


def _flush_at_exit() -> None:
    if _process_buffer.lines:
        try:
            flush()
        except Exception:  # the process is ending; nothing else to do
            logger.exception("insights: flushing the buffered touches at exit failed")


# --- Flushing -------------------------------------------------------------------------------


def flush(*, limit: int = BATCH) -> int:
    """Write the buffered clicks as ``Touch`` rows, ``limit`` per transaction, until
    the buffer is empty; returns how many rows were written. A cheap no-op when
    nothing is pending (one Redis call, or none). Safe to call from any number of
    processes at once. A failed write is logged and its clicks kept for a later
    flush (see the module docstring); the caller's page goes on."""
    buffer = _buffer()
    written = 0
    while True:
        lines, claim = buffer.claim(limit)
        if not lines:
            return written
        try:
            with transaction.atomic():
                written += len(write_clicks(_parse(lines)))
        except Exception:
            buffer.give_back(claim)
            logger.exception("insights: writing %d buffered touches failed", len(lines))
            return written
        buffer.done(claim)
        if len(lines) < limit:
            return written


def _parse(lines: Iterable[str]) -> list[dict]:
    items = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and type(item.get("b")) is int:
            items.append(item)
    return items


def _int(value: Any) -> int | None:
    return value if type(value) is int and value > 0 else None


def write_clicks(items: list[dict]) -> list[Touch]:
    """Insert the clicks ``items`` (parsed buffer lines) in the caller's transaction.
    A business or product deleted since, or a signed-in user who is not (yet) the
    business's contact, is dropped from the touch, never an error."""
    if not items:
        return []
    businesses = set(
        Business.objects.filter(pk__in={item["b"] for item in items}).values_list("pk", flat=True)
    )
    items = [item for item in items if item["b"] in businesses]
    product_ids = {_int(item.get("pr")) for item in items} - {None}
    products = set(
        Product.objects.filter(pk__in=product_ids).values_list("pk", "business_id")
        if product_ids
        else ()
    )
    user_ids = {_int(item.get("u")) for item in items} - {None}
    contacts = (
        {
            (b, u): pk
            for pk, b, u in Contact.objects.filter(
                business_id__in=businesses, user_id__in=user_ids
            ).values_list("pk", "business_id", "user_id")
        }
        if user_ids
        else {}
    )
    campaigns: dict[tuple, Campaign | None] = {}
    rows = []
    for item in items:
        tracking = _tracking_of(item)
        business_id = item["b"]
        key = (business_id, tracking.ref, tracking.source, tracking.medium, tracking.campaign)
        if key not in campaigns:
            campaigns[key] = resolve_campaign(
                business_id=business_id, ref=tracking.ref, source=tracking.source,
                medium=tracking.medium, utm_campaign=tracking.campaign,
            )  # fmt: skip
        campaign = campaigns[key]
        product_id = _int(item.get("pr"))
        at = item.get("at")
        rows.append(
            Touch(
                business_id=business_id,
                campaign=campaign,
                kind=Touch.Kind.CLICK,
                page=item.get("pg") if item.get("pg") in Touch.Page.values else "",
                occurred_at=_moment(at),
                visitor=clean_value(item.get("v"), 32),
                contact_id=contacts.get((business_id, _int(item.get("u")))),
                product_id=product_id if (product_id, business_id) in products else None,
                **_touch_fields(tracking),
            )
        )
    return Touch.objects.bulk_create(rows)


def _tracking_of(item: dict) -> Tracking:
    """The tracking values of a buffer line (``Tracking``'s own field names), cleaned
    and cut again: what is written is never longer than its column."""
    kind = item.get("click_id_kind")
    return Tracking(
        ref=clean_value(item.get("ref"), UTM_MAX),
        source=clean_value(item.get("source"), UTM_MAX),
        medium=clean_value(item.get("medium"), UTM_MAX),
        campaign=clean_value(item.get("campaign"), UTM_MAX),
        click_id_kind=kind if kind in CLICK_ID_PARAMS else "",
        click_id=clean_value(item.get("click_id"), CLICK_ID_MAX),
    )


def _moment(at: Any) -> datetime.datetime:
    if isinstance(at, int | float) and 0 < at < 4102444800:  # before 2100
        return datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
    return timezone.now()


def _touch_fields(tracking: Tracking) -> dict[str, str]:
    return {
        "ref": tracking.ref,
        "source": tracking.source,
        "medium": tracking.medium,
        "utm_campaign": tracking.campaign,
        "click_id_kind": tracking.click_id_kind if tracking.click_id else "",
        "click_id": tracking.click_id,
    }


# --- Campaigns ------------------------------------------------------------------------------

CHANNELS_BY_SOURCE = {
    "instagram": Channel.INSTAGRAM, "ig": Channel.INSTAGRAM,
    "facebook": Channel.FACEBOOK, "fb": Channel.FACEBOOK, "meta": Channel.FACEBOOK,
    "google": Channel.GOOGLE, "youtube": Channel.GOOGLE,
    "tiktok": Channel.TIKTOK,
    "email": Channel.EMAIL, "e-mail": Channel.EMAIL, "newsletter": Channel.EMAIL,
    "flyer": Channel.FLYER, "qr": Channel.FLYER, "poster": Channel.FLYER,
    "influencer": Channel.INFLUENCER,
}  # fmt: skip


def _follow_merges(campaign: Campaign | None) -> Campaign | None:
    """The campaign an automatic one was merged into (``merged_into``), followed a
    few hops at most."""
    for _hop in range(MERGE_HOPS):
        if campaign is None or campaign.merged_into_id is None:
            return campaign
        target = Campaign.objects.filter(pk=campaign.merged_into_id).first()
        if target is None:
            return campaign
        campaign = target
    return campaign


def auto_key(*, source: str, medium: str, utm_campaign: str, ref: str = "") -> str:
    """The automatic campaign's key of unmatched values: "source/medium/campaign",
    lower case (the campaign part is ``ref`` when the link had no ``utm_campaign``)."""
    return "/".join((source, medium, utm_campaign or ref)).lower()[:AUTO_KEY_MAX]


def resolve_campaign(
    *, business_id: int, ref: str, source: str, medium: str, utm_campaign: str
) -> Campaign | None:
    """The campaign of a touch with these values: the business's campaign whose code
    is ``ref``, else ``utm_campaign`` (case-insensitive; archived ones too, and a
    merged automatic campaign leads to the one it was merged into); else, when any
    value is given, the automatic campaign of "source/medium/campaign", created the
    first time; None for a touch that names nothing. Values are cleaned and cut here
    too. Runs in the caller's transaction (creating uses a savepoint)."""
    ref, source, medium, utm_campaign = (
        clean_value(value, UTM_MAX) for value in (ref, source, medium, utm_campaign)
    )
    codes = [value.lower() for value in (ref, utm_campaign) if value and len(value) <= CODE_MAX]
    if codes:
        found = {
            campaign.code.lower(): campaign
            for campaign in Campaign.objects.filter(business_id=business_id)
            .annotate(lower_code=Lower("code"))
            .filter(lower_code__in=codes)
        }
        for code in codes:
            if code in found:
                return _follow_merges(found[code])
    if not (ref or source or medium or utm_campaign):
        return None
    key = auto_key(source=source, medium=medium, utm_campaign=utm_campaign, ref=ref)
    existing = Campaign.objects.filter(business_id=business_id, is_automatic=True, auto_key=key)
    campaign = existing.first()
    if campaign is not None:
        return _follow_merges(campaign)
    currency = Business.objects.filter(pk=business_id).values_list("currency", flat=True).first()
    if currency is None:
        return None
    parts = [part for part in (source, medium, utm_campaign or ref) if part]
    name = " / ".join(parts)[:NAME_MAX] or _("Automatic campaign")
    digest = hashlib.sha256(key.encode()).hexdigest()
    for code in (f"auto-{digest[:10]}", f"auto-{digest[:16]}", f"auto-{secrets.token_hex(8)}"):
        try:
            with transaction.atomic():
                return Campaign.objects.create(
                    business_id=business_id, name=name, code=code,
                    channel=CHANNELS_BY_SOURCE.get(source.lower(), Channel.OTHER),
                    currency=currency, utm_source=source, utm_medium=medium,
                    is_automatic=True, auto_key=key,
                )  # fmt: skip
        except IntegrityError:  # the same key made concurrently, or a code already taken
            campaign = existing.first()
            if campaign is not None:
                return _follow_merges(campaign)
    return None


# --- Touches written in their event's transaction -----------------------------------------


def record_conversation_started(
    *, conversation, contact, touch: dict, client: dict | None
) -> Touch:
    """``chats.hooks.conversation_started`` handler: the CONVERSATION touch of a new
    conversation, in its transaction. It carries the contact and, when the request's
    address and browser are known (``client``: ``{"ip", "user_agent"}``), today's
    visitor hash: that links the visitor's earlier anonymous clicks to the contact
    (docs/insights.md, "Attribution"). Its campaign is the one its link named (the
    signed touch of click-to-chat: ``ref``, ``utm_*``, click ids); with none, the
    campaign of the visitor's latest click of the day, if any."""
    tracking = parse_tracking(touch if isinstance(touch, dict) else {})
    visitor = ""
    if isinstance(client, dict):
        agent = str(client.get("user_agent") or "")
        if not is_bot(agent):
            visitor = visitor_hash(
                business_id=conversation.business_id,
                ip=str(client.get("ip") or ""),
                user_agent=agent,
            )
    campaign = None
    if tracking.names_a_campaign:
        campaign = resolve_campaign(
            business_id=conversation.business_id, ref=tracking.ref, source=tracking.source,
            medium=tracking.medium, utm_campaign=tracking.campaign,
        )  # fmt: skip
    elif visitor:
        campaign_id = (
            Touch.objects.filter(
                business_id=conversation.business_id,
                visitor=visitor,
                kind=Touch.Kind.CLICK,
                campaign__isnull=False,
            )
            .order_by("-occurred_at", "-id")
            .values_list("campaign_id", flat=True)
            .first()
        )
        campaign = (
            Campaign(pk=campaign_id, business_id=conversation.business_id) if campaign_id else None
        )
    return Touch.objects.create(
        business_id=conversation.business_id,
        campaign=campaign,
        kind=Touch.Kind.CONVERSATION,
        page=Touch.Page.CHAT,
        occurred_at=conversation.created_at,
        visitor=visitor,
        contact=contact,
        conversation=conversation,
        **_touch_fields(tracking),
    )


def record_offers_delivered(*, rows, conversations, sent_at) -> list[Touch]:
    """``chats.hooks.scheduled_sent`` handler: an OFFER touch for each offer of a
    broadcast just delivered (outbox rows of kind ``offer``), credited to the
    broadcast's campaign, in the delivery's transaction. ``conversations``: the
    locked conversations by id (the contact is read from them, not the payload)."""
    offers = [row for row in rows if row.kind == "offer" and isinstance(row.payload, dict)]
    wanted = {_int(row.payload.get("broadcast_id")) for row in offers} - {None}
    if not wanted:
        return []
    broadcasts = dict(Broadcast.objects.filter(pk__in=wanted).values_list("pk", "campaign__id"))
    touches = []
    for row in offers:
        broadcast_id = _int(row.payload.get("broadcast_id"))
        conversation = conversations.get(row.conversation_id)
        if broadcast_id not in broadcasts or conversation is None:
            continue
        touches.append(
            Touch(
                business_id=conversation.business_id,
                campaign_id=broadcasts[broadcast_id],
                kind=Touch.Kind.OFFER,
                occurred_at=sent_at,
                contact_id=conversation.contact_id,
                conversation_id=conversation.pk,
                broadcast_id=broadcast_id,
            )
        )
    return Touch.objects.bulk_create(touches)


def create_broadcast_campaign(*, broadcast) -> Campaign:
    """``marketing.hooks.broadcast_created`` handler: an offer broadcast is a campaign
    of its own (channel "offer broadcast", code ``offer-<id>``), created in the
    broadcast's transaction."""
    business = broadcast.business
    day = timezone.localtime(broadcast.send_at, business.tz).date()
    text = " ".join(broadcast.text.split())
    name = _("Offer of %(date)s: %(text)s") % {"date": day.isoformat(), "text": text}
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1] + "…"
    for code in (f"offer-{broadcast.pk}", f"offer-{broadcast.pk}-{secrets.token_hex(3)}"):
        try:
            with transaction.atomic():
                return Campaign.objects.create(
                    business=business, name=name, code=code, channel=Channel.BROADCAST,
                    starts_on=day, currency=business.currency, broadcast=broadcast,
                    created_by=broadcast.created_by,
                )  # fmt: skip
        except IntegrityError:  # the merchant named a campaign "offer-<id>" already
            continue
    raise RuntimeError("no free code for the broadcast's campaign")  # pragma: no cover
