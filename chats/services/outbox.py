"""The outbox: every automated message is a database row before it is a chat message.

A shipping notice, a payment reminder, a follow-up (check-in) or an offer is first a
:class:`~chats.models.ScheduledMessage` written by :func:`schedule_message` in the
same transaction as the event that caused it: if that transaction rolls back there
is nothing to send, and once it commits nothing can lose the row (not a killed
worker, not a broker restart). Celery only delivers it (docs/outbox.md):

- the beat job ``chats.tasks.dispatch_scheduled_messages`` (every few seconds) sends
  the due rows, each claimed with ``select_for_update(no_key=True, skip_locked=True)`` so that
  several workers share the work without waiting on each other;
- a row due now is also enqueued after the commit (``send_scheduled_message``), so
  it arrives within a second or two instead of at the next beat.

Sending is idempotent: the row is locked, checked to be still ``scheduled``, the
chat message created through :func:`chats.services.messages.append_messages` and the row
marked ``sent`` in that one transaction (a batch of rows at once: :func:`send_batch`).
A redelivered task, a second worker or a worker killed half-way (its transaction
rolls back) never yields a second message.
A failure is recorded on the row (attempts, last error) and retried later with
exponential backoff, until ``OUTBOX_MAX_ATTEMPTS``: then the row is ``failed``,
listed in Django admin, where an operator can retry it (:func:`retry_messages`).
"""

import datetime
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from chats import hooks, kinds
from chats.models import MAX_TEXT, Conversation, ScheduledMessage
from chats.services.messages import Draft, append_messages, lock_conversations
from core.errors import AppError
from core.events import collect_events, enqueue_on_commit, send_events

logger = logging.getLogger(__name__)

STATUS = ScheduledMessage.Status
SENDER = ScheduledMessage.Sender
MAX_KEY = ScheduledMessage._meta.get_field("dedupe_key").max_length
MAX_PAYLOAD_BYTES = 16 * 1024
# A dedupe key names what the message is about: ``order:12:shipment:1``.
KEY_RE = re.compile(r"^[A-Za-z0-9_.:\-]+$")
# How late a row may be scheduled in the past (then it is sent at once): a caller
# computing "3 hours before expiry" a moment too late, not a date from another era.
MAX_PAST = datetime.timedelta(days=1)
LAST_ERROR_MAX = 2000


class PermanentFailure(Exception):
    """Sending can never succeed (an unknown kind, a conversation with no business
    side): the row fails at once instead of retrying."""


def _clean_key(value: Any, field: str = "dedupe_key") -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY or not KEY_RE.match(value):
        raise AppError(
            _("A dedupe key is 1 to %(max)d letters, digits and “:_.-”.") % {"max": MAX_KEY},
            code="invalid_dedupe_key",
            field=field,
        )
    return value


def _clean_due(due_at: Any, moment: datetime.datetime) -> datetime.datetime:
    return clean_send_time(
        due_at,
        moment=moment,
        field="due_at",
        earliest=moment - MAX_PAST,
        latest=moment + datetime.timedelta(days=settings.OUTBOX_MAX_DELAY_DAYS),
        out_of_range=_("A message can be scheduled from now up to %(days)d days ahead.")
        % {"days": settings.OUTBOX_MAX_DELAY_DAYS},
    )


def clean_send_time(
    value: Any,
    *,
    moment: datetime.datetime,
    field: str,
    earliest: datetime.datetime,
    latest: datetime.datetime,
    out_of_range: str,
) -> datetime.datetime:
    """When to send something asked for at ``moment``: None is then; else an aware
    datetime from ``earliest`` (a little in the past, for a client's clock: it sends
    at ``moment``) to ``latest``. AppError ``invalid_<field>`` on ``field`` otherwise,
    ``out_of_range`` saying so for a time outside those bounds."""
    if value is None:
        return moment
    code = f"invalid_{field}"
    if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
        raise AppError(_("Give the time with its time zone."), code=code, field=field)
    if value < earliest or value > latest:
        raise AppError(out_of_range, code=code, field=field)
    return max(value, moment)


def _clean_payload(payload: Any) -> dict:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise AppError(_("Invalid message data."), code="invalid_payload", field="payload")
    try:
        size = len(json.dumps(payload, allow_nan=False).encode())
    except (TypeError, ValueError):
        raise AppError(
            _("Invalid message data."), code="invalid_payload", field="payload"
        ) from None
    if size > MAX_PAYLOAD_BYTES:
        raise AppError(
            _("The message data is too large."), code="payload_too_large", field="payload"
        )
    return payload


def schedule_message(
    *,
    conversation: Conversation,
    kind: str,
    dedupe_key: str,
    due_at: datetime.datetime | None = None,
    payload: dict | None = None,
    body: str = "",
    sender: str = SENDER.BUSINESS,
) -> tuple[ScheduledMessage, bool]:
    """Schedule one automated message in ``conversation``; returns ``(row, created)``.

    Call it inside the transaction of the event that causes the message, so both
    commit or neither. ``kind`` is a registered message kind (rendered with
    ``payload`` and ``body``); ``sender`` is the business side (the default) or the
    platform (``"system"``). ``due_at`` (aware, from one day ago to
    ``OUTBOX_MAX_DELAY_DAYS`` ahead; default now) is when to send it. Idempotent by
    ``dedupe_key``: a key already used returns that row, unchanged, with
    ``created=False``. The caller checks permissions; this checks the input.
    """
    moment = timezone.now()
    if not isinstance(conversation, Conversation) or conversation.pk is None:
        raise AppError(_("Conversation not found."), code="not_found", status_code=404)
    if not kinds.is_registered(kind):
        raise AppError(_("Unknown message kind."), code="unknown_kind", field="kind")
    if sender not in SENDER.values:
        raise AppError(_("Unknown sender."), code="invalid_sender", field="sender")
    if sender == SENDER.BUSINESS and conversation.business_id is None:
        raise AppError(
            _("Only a business conversation has a business side."),
            code="not_business",
            field="sender",
        )
    dedupe_key = _clean_key(dedupe_key)
    due_at = _clean_due(due_at, moment)
    payload = _clean_payload(payload)
    if not isinstance(body, str):
        raise AppError(_("Invalid message text."), code="invalid_body", field="body")
    body = body.replace("\x00", "").strip()
    if len(body) > MAX_TEXT:
        raise AppError(_("The message text is too long."), code="too_long", field="body")
    row = ScheduledMessage(
        conversation=conversation,
        sender=sender,
        kind=kind,
        body=body,
        payload=payload,
        dedupe_key=dedupe_key,
        due_at=due_at,
        created_at=moment,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        existing = ScheduledMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing, False
    if due_at <= moment:
        enqueue_on_commit("chats.tasks.send_scheduled_message", row.pk, robust=True)
    return row, True


def cancel_scheduled(*, prefix: str) -> int:
    """Cancel the messages not sent yet whose dedupe key starts with ``prefix``
    (``order:12:`` — end it with ``:`` so that order 12 does not take 120's); returns
    how many. A row being sent right now is waited for (its lock) and stays sent.
    Idempotent; call it in the transaction of the event that makes them moot."""
    prefix = _clean_key(prefix, "prefix")
    return ScheduledMessage.objects.filter(
        dedupe_key__startswith=prefix, status__in=[STATUS.SCHEDULED, STATUS.FAILED]
    ).update(status=STATUS.CANCELED)


def retry_messages(*, actor: User, ids: Iterable[int]) -> int:
    """An operator sends failed messages again: each goes back to ``scheduled``, due
    now, with a fresh allowance of attempts (the last error stays until it is sent).
    Platform staff only. Returns how many were rescheduled."""
    if not getattr(actor, "is_staff", False):
        raise AppError(
            _("Only the platform's operators can do this."), code="forbidden", status_code=403
        )
    wanted = [pk for pk in ids if type(pk) is int]
    with transaction.atomic():
        rows = list(
            ScheduledMessage.objects.select_for_update(no_key=True)
            .filter(pk__in=wanted, status=STATUS.FAILED)
            .values_list("pk", flat=True)
        )
        ScheduledMessage.objects.filter(pk__in=rows).update(
            status=STATUS.SCHEDULED, due_at=timezone.now(), attempts=0
        )
        for pk in rows:
            enqueue_on_commit("chats.tasks.send_scheduled_message", pk, robust=True)
    return len(rows)


# --- Sending -------------------------------------------------------------------------


def backoff(attempts: int) -> datetime.timedelta:
    """How long to wait after the ``attempts``-th failure: doubling from
    ``OUTBOX_RETRY_BASE`` seconds up to ``OUTBOX_RETRY_MAX``."""
    seconds = settings.OUTBOX_RETRY_BASE * 2 ** max(0, attempts - 1)
    return datetime.timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX))


def _deliver(rows: list[ScheduledMessage], moment: datetime.datetime) -> None:
    """Create the chat messages of ``rows`` (locked by the caller) and mark them sent,
    in a constant number of statements (``chats.services.messages.append_messages``); any
    row that cannot be sent raises, and the caller retries them one by one."""
    for row in rows:
        if not kinds.is_registered(row.kind):
            raise PermanentFailure(f"unknown message kind {row.kind!r}")
    locked = lock_conversations(sorted({row.conversation_id for row in rows}))
    drafts, sending, unwanted = [], [], []
    for row in rows:
        conversation, participants = locked[row.conversation_id]
        still_wanted = kinds.get(row.kind).still_wanted
        if still_wanted is not None and not still_wanted(conversation):
            unwanted.append(row)
            continue
        sending.append(row)
        sender = None
        if row.sender == SENDER.BUSINESS:
            sender = next(
                (
                    p
                    for p in participants
                    if p.business_id is not None and p.business_id == conversation.business_id
                ),
                None,
            )
            if sender is None:
                raise PermanentFailure("the conversation has no business side")
        fields = {"kind": row.kind, "body": row.body, "payload": row.payload}
        drafts.append(Draft(conversation, participants, sender, **fields))
    messages = append_messages(drafts) if drafts else []
    # Copies, so that the rows stay as they were if this fails (then retried one by one).
    sent = [
        ScheduledMessage(
            pk=row.pk, status=STATUS.SENT, message=m, sent_at=moment, attempts=row.attempts + 1
        )
        for row, m in zip(sending, messages, strict=True)
    ]
    if sent:
        ScheduledMessage.objects.bulk_update(sent, ["status", "message", "sent_at", "attempts"])
        hooks.scheduled_sent(
            rows=sending,
            conversations={pk: conversation for pk, (conversation, _p) in locked.items()},
            sent_at=moment,
        )
    if unwanted:
        ScheduledMessage.objects.filter(pk__in=[row.pk for row in unwanted]).update(
            status=STATUS.CANCELED
        )
    for row, done in zip(sending, sent, strict=True):
        row.status, row.message, row.sent_at = STATUS.SENT, done.message, moment
        row.attempts = done.attempts
    for row in unwanted:
        row.status = STATUS.CANCELED


def _record_failure(row: ScheduledMessage, exc: BaseException, moment: datetime.datetime) -> None:
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX]
    if isinstance(exc, PermanentFailure) or row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        row.status = STATUS.FAILED
    else:
        row.due_at = moment + backoff(row.attempts)
    row.save(update_fields=["attempts", "last_error", "status", "due_at"])
    logger.warning(
        "outbox: %s failed (attempt %d, now %s): %s",
        row.dedupe_key, row.attempts, row.status, row.last_error,
    )  # fmt: skip


def send_batch(queryset, *, limit: int) -> list[ScheduledMessage]:
    """Claim up to ``limit`` due rows of ``queryset`` that no one else holds, oldest
    first, and send them, in one transaction; returns them (sent or failed).

    The rows are claimed with ``skip_locked`` (several workers share the work) and
    sent together (:func:`_deliver`); if that fails, each is sent on its own, in a
    savepoint, and a failure is recorded on its row (retried with backoff) without
    holding back the others. Their socket events go out after the commit, in one
    event loop. The batch's conversations stay locked until the commit."""
    moment = timezone.now()
    with collect_events() as collected, transaction.atomic():
        rows = list(
            queryset.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(status=STATUS.SCHEDULED, due_at__lte=moment)
            .order_by("due_at", "id")[:limit]
        )
        try:
            with transaction.atomic():
                if rows:
                    _deliver(rows, moment)
        except Exception as exc:  # send them one by one: only the bad ones fail
            if len(rows) == 1:
                _record_failure(rows[0], exc, moment)
            else:
                for row in rows:
                    try:
                        with transaction.atomic():
                            _deliver([row], moment)
                    except Exception as one:  # recorded on the row and retried
                        _record_failure(row, one, moment)
    send_events(collected)
    return rows


def send_scheduled(*, scheduled_id: int) -> bool:
    """Send one row if it is due and still scheduled; True if this call sent it.

    Idempotent: a row already sent, canceled, failed, not yet due, or being sent by
    another worker right now is left alone (the dispatcher takes it if that worker
    dies)."""
    if type(scheduled_id) is not int:
        return False
    rows = send_batch(ScheduledMessage.objects.filter(pk=scheduled_id), limit=1)
    return bool(rows) and rows[0].status == STATUS.SENT


def send_due(*, limit: int | None = None) -> int:
    """Send up to ``limit`` due rows (``OUTBOX_BATCH`` by default), oldest first,
    ``OUTBOX_CHUNK`` per transaction; returns how many were claimed (sent or failed).
    Workers running this at once share the rows (``skip_locked``)."""
    limit = limit or settings.OUTBOX_BATCH
    claimed = 0
    while claimed < limit:
        rows = send_batch(
            ScheduledMessage.objects.all(), limit=min(settings.OUTBOX_CHUNK, limit - claimed)
        )
        if not rows:
            break
        claimed += len(rows)
    return claimed
