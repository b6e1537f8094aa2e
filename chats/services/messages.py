"""Every message write: the batch writer and the sends built on it.

All message writes go through :func:`append_messages`, which numbers the messages
under a lock on their conversations, updates both sides' counters, and pushes the
messages to the sockets only after the commit (through
:func:`core.events.send_event_on_commit`). User-facing services (``send_text``,
``send_image``, ``share_product`` …) check who may write what, then call it through
:func:`send_many`. Other apps (payments, marketing) call :func:`post_message` with
their own kind; the outbox appends a batch of messages at once.
"""

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, OpeningHours, User
from catalog.selectors import active_products
from chats import events, hooks
from chats.models import MAX_TEXT, Conversation, Message, Participant
from chats.selectors import if_it_sees, not_found, participant_for, staff_membership
from chats.services.unread_email import schedule_unread_email
from core import counters, domain_events
from core.cards import mask_card_numbers
from core.errors import AppError
from core.ids import parse_int
from core.images import clean_image

IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_SIDE = 6000
IMAGE_STORED_SIDE = 1600
IMAGE_THUMB_SIDE = 480
PRODUCT_SET_MAX = 30
AWAY_INTERVAL = datetime.timedelta(hours=12)


def _lock(
    conversation: Conversation, *, related: bool = True
) -> tuple[Conversation, list[Participant]]:
    """The conversation row, locked until commit, with its contact, business and
    inbox settings (not with ``related=False``), and its participants: what posting a
    message reads, in 2 queries."""
    locked = lock_conversations([conversation.pk], related=related).get(conversation.pk)
    if locked is None:
        raise Conversation.DoesNotExist("Conversation matching query does not exist.")
    return locked


def lock_conversations(
    ids: Sequence[int], *, related: bool = True
) -> dict[int, tuple[Conversation, list[Participant]]]:
    """Lock the conversations ``ids`` (in id order, so two callers never deadlock) until
    commit, with what posting reads: ``{id: (conversation, participants)}``, in 2
    queries however many. A missing id is missing from the result. ``related=False``:
    without the contact, business and inbox settings (appending reads none of them)."""
    # FOR NO KEY UPDATE: excludes other writers of these rows as FOR UPDATE does, but
    # not the key-share locks that foreign-key checks take at commit (a transaction
    # that inserted or twice updated a row pointing here would otherwise wait for us
    # at its COMMIT while holding rows we are about to update: a deadlock).
    rows = Conversation.objects.select_for_update(of=("self",), no_key=True)
    if related:
        rows = rows.select_related("contact", "business__inbox_settings")
    locked = {c.pk: (c, []) for c in rows.filter(pk__in=ids).order_by("pk")}
    for participant in Participant.objects.filter(conversation_id__in=list(locked)).order_by("pk"):
        locked[participant.conversation_id][1].append(participant)
    return locked


@dataclass
class Draft:
    """One message for :func:`append_messages`: its conversation and participants as
    :func:`lock_conversations` returned them (locked), its sender (one of them, or
    None for the platform) and its content."""

    locked: Conversation
    participants: list[Participant]
    sender: Participant | None
    kind: str = "text"
    body: str = ""
    payload: dict | None = None
    author: User | None = None
    image: Any = None
    image_thumb: Any = None
    client_id: str | None = None
    # Rows the message's kind would otherwise read to render it, set on the message
    # (e.g. ``{"payment": payment}`` for a receipt: its prefetch keeps a given row).
    attached: dict[str, Any] | None = None


def _append(locked: Conversation, participants: list[Participant], sender, **fields) -> Message:
    """Number, insert and count one message; the conversation must be locked."""
    return append_messages([Draft(locked, participants, sender, **fields)])[0]


def append_messages(drafts: Sequence[Draft]) -> list[Message]:
    """Number, insert and count ``drafts`` (their conversations locked), in order, and
    push them after the commit; the one place messages are created.

    A constant number of statements however many: one insert for the messages, one
    update for the conversations, one for the participants (each sender has read
    everything up to its own message; everyone else has one more unread per message),
    one for the unread e-mail flags. Several drafts may share a conversation: they
    are numbered one after another."""
    messages, touched, added, business_wrote = [], {}, {}, set()
    last_sent: dict[int, int] = {}  # participant pk → seq of its last message here
    for draft in drafts:
        locked = draft.locked
        locked.last_seq += 1
        seq = locked.last_seq
        sender_pk = draft.sender.pk if draft.sender is not None else 0
        messages.append(
            Message(
                conversation=locked,
                seq=seq,
                sender=draft.sender,
                author=draft.author,
                kind=draft.kind,
                body=draft.body,
                payload=draft.payload or {},
                image=draft.image or "",
                image_thumb=draft.image_thumb or "",
                client_id=draft.client_id or None,
            )
        )
        for name, row in (draft.attached or {}).items():
            setattr(messages[-1], name, row)
        for participant in draft.participants:
            if participant.pk == sender_pk:
                participant.last_read_seq = participant.last_delivered_seq = seq
                participant.unread = 0
                last_sent[participant.pk] = seq
            else:
                participant.unread += 1
        touched[locked.pk] = draft
        added[locked.pk] = added.get(locked.pk, 0) + 1
        if draft.sender is not None and draft.sender.business_id is not None:
            business_wrote.add(locked.pk)
    Message.objects.bulk_create(messages)
    for message in messages:
        locked = message.conversation
        locked.last_message, locked.last_message_at = message, message.created_at
    # Plain UPDATEs by primary key, sent together (psycopg pipelines executemany):
    # the ORM's bulk_update / Case(When…) compiles a clause per row, which cost more
    # than the database's work here.
    conversations, participants = Conversation._meta.db_table, Participant._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {conversations} SET last_seq = %s, last_message_id = %s,"  # noqa: S608
            " last_message_at = %s WHERE id = %s",
            [
                (d.locked.last_seq, d.locked.last_message.pk, d.locked.last_message_at, pk)
                for pk, d in touched.items()
            ],
        )
        # A sender has read everything up to its own last message (and has the unread
        # others' later messages make); everyone else has one more unread per message.
        cursor.executemany(
            f"UPDATE {participants} SET unread = COALESCE(%s, unread + %s),"  # noqa: S608
            " last_read_seq = COALESCE(%s, last_read_seq),"
            " last_delivered_seq = COALESCE(%s, last_delivered_seq) WHERE id = %s",
            [
                (p.unread, None, seq, seq, p.pk)
                if (seq := last_sent.get(p.pk)) is not None
                else (None, added[pk], None, None, p.pk)
                for pk, d in touched.items()
                for p in d.participants
            ],
        )
    events.push_messages(
        [(m.conversation, m, touched[m.conversation.pk].participants) for m in messages]
    )
    schedule_unread_email([p for pk in business_wrote for p in touched[pk].participants])
    # The customer's and the business's messages (system notes are not theirs).
    domain_events.emit_many(
        "message.created",
        [(m.conversation.business_id, m) for m in messages if m.sender is not None],
    )
    return messages


def post_message(
    *,
    conversation: Conversation,
    sender: Participant | None,
    author: User | None = None,
    kind: str = "text",
    body: str = "",
    payload: dict | None = None,
    image=None,
    image_thumb=None,
    client_id: str | None = None,
    attached: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Append a message to ``conversation``; the one place a message is created.

    Locks the conversation row, so messages are numbered in commit order. With a
    ``client_id`` already used by the same author in this conversation it returns
    that message and ``created=False`` (a resend never makes a second message).
    Pushes the message to the conversation's sockets after the commit. Callers
    check permissions; this checks nothing but numbering and idempotency. For other
    apps' kinds (payment requests, shipping notices…). ``attached``: rows the kind
    renders, which the caller has just read (see :class:`Draft`).
    """
    with transaction.atomic():
        locked, participants = _lock(conversation, related=False)
        existing = _sent_before([(locked.pk, author, client_id)])
        if existing:
            return next(iter(existing.values())), False
        if sender is not None:
            sender = next(p for p in participants if p.pk == sender.pk)
        message = _append(
            locked,
            participants,
            sender,
            author=author,
            kind=kind,
            body=body,
            payload=payload,
            image=image,
            image_thumb=image_thumb,
            client_id=client_id,
            attached=attached,
        )
    conversation.last_seq, conversation.last_message_at = locked.last_seq, locked.last_message_at
    return message, True


def _over_rate(actors: Sequence[User]) -> list[bool]:
    """Whether each of these sends goes over ``CHAT_MESSAGES_PER_MINUTE`` messages per
    user per minute (counted in the cache: one count per user however many sends)."""
    limit = settings.CHAT_MESSAGES_PER_MINUTE
    window = int(timezone.now().timestamp() // 60)
    wanted = Counter(actor.pk for actor in actors)
    keys = {pk: f"chat-rate:{pk}:{window}" for pk in wanted}
    counts = counters.add({keys[pk]: n for pk, n in wanted.items()}, timeout=120)
    totals = {pk: counts[keys[pk]] for pk in wanted}
    counted: Counter = Counter()
    over = []
    for actor in actors:
        counted[actor.pk] += 1
        over.append(totals[actor.pk] - wanted[actor.pk] + counted[actor.pk] > limit)
    return over


def _rate_limited() -> AppError:
    return AppError(
        gettext_lazy("You are sending messages too fast. Wait a minute and try again."),
        code="rate_limited",
        status_code=429,
    )


def _staff_memberships(sends: Sequence["Send"], locked: dict) -> dict[tuple[int, int], Membership]:
    """``{(user id, business id): membership}`` of the senders writing for a business
    (not as a participant of their own), in one query."""
    wanted = set()
    for send in sends:
        conversation, participants = locked.get(send.conversation.pk, (None, ()))
        if conversation is None or conversation.business_id is None:
            continue
        if send.actor.is_authenticated and all(p.user_id != send.actor.pk for p in participants):
            wanted.add((send.actor.pk, conversation.business_id))
    if not wanted:
        return {}
    memberships = Membership.objects.filter(
        user_id__in={user for user, _b in wanted},
        business_id__in={business for _u, business in wanted},
        business__is_active=True,
    )
    return {(m.user_id, m.business_id): m for m in memberships}


def _side_of(
    actor: User, locked: Conversation, participants: list[Participant], memberships: dict
) -> Participant:
    """The participant ``actor`` writes as: their own side, or the business's for its
    staff (checked against the locked row, so a fresh assignment counts)."""
    if actor.is_authenticated:
        for participant in participants:
            if participant.user_id == actor.pk:
                return participant
        business = locked.business_id
        membership = memberships.get((actor.pk, business))
        if business is not None and if_it_sees(membership, actor, locked):
            return next(p for p in participants if p.business_id == business)
    raise not_found()


def _sent_before(keys) -> dict[tuple[int, int | None, str], Message]:
    """The messages already sent with these ``(conversation id, author, client id)``
    (keys without a client id are skipped), by key, in one query."""
    keys = [(c, getattr(a, "pk", None), k) for c, a, k in keys if k]
    if not keys:
        return {}
    messages = Message.objects.filter(
        conversation_id__in={c for c, _a, _k in keys}, client_id__in={k for _c, _a, k in keys}
    )
    found = {(m.conversation_id, m.author_id, m.client_id): m for m in messages}
    return {key: found[key] for key in keys if key in found}


def _check_not_blocked(side: Participant, locked: Conversation, participants) -> None:
    if side.user_id is not None and locked.contact is not None and locked.contact.is_blocked:
        raise AppError(
            gettext_lazy("This business is not accepting your messages."),
            code="blocked",
            status_code=403,
        )
    if locked.is_direct and any(p.pk != side.pk and p.blocked_at for p in participants):
        raise AppError(
            gettext_lazy("This person is not accepting your messages."),
            code="blocked",
            status_code=403,
        )


def _clean_text(body: str, *, required: bool = True) -> str:
    body = (body or "").replace("\x00", "").strip()
    if required and not body:
        raise AppError(_("Write a message first."), code="empty", field="body")
    if len(body) > MAX_TEXT:
        raise AppError(
            _("A message can have at most %(max)d characters (this one has %(n)d).")
            % {"max": MAX_TEXT, "n": len(body)},
            code="too_long",
            field="body",
        )
    # A card number typed into a chat is never stored: only its last four digits.
    return mask_card_numbers(body)


def _clean_client_id(client_id: str | None) -> str | None:
    client_id = (client_id or "").strip()
    if not client_id:
        return None
    if len(client_id) > 64 or not client_id.replace("-", "").isalnum():
        raise AppError(_("Invalid message id."), code="invalid_client_id", field="client_id")
    return client_id


@dataclass
class Send:
    """A message a user sends as their side, cleaned (:func:`text_message` makes a
    text one): what :func:`send_many` takes. ``conversation`` may be a bare
    ``Conversation(pk=…)``: everything is read under the lock."""

    actor: User
    conversation: Conversation
    kind: str = "text"
    body: str = ""
    client_id: str | None = None
    payload: dict | None = None
    image: Any = None
    image_thumb: Any = None


def send_many(sends: Sequence[Send]) -> list[tuple[Message, bool] | AppError]:
    """Send each of ``sends`` as its actor's side, in one transaction and in order:
    lock their conversations, check under the lock who may write there, answer a
    resend with the saved message (before the block and rate checks: retrying must
    neither fail nor use up the allowance), then append the others at once.

    Each result is ``(message, created)`` or the :class:`AppError` that refused that
    send; the others go on. A constant number of statements however many (plus the
    auto replies): the chat socket hands the sends that arrive while the previous
    ones are written here together (``chats.send_queue.SendQueue``)."""
    results: list = [None] * len(sends)
    admitted: list[tuple[int, Participant]] = []
    again: list[tuple[int, int]] = []  # (i, j): send i repeats send j's client id
    with transaction.atomic():
        locked = lock_conversations(sorted({send.conversation.pk for send in sends}))
        memberships = _staff_memberships(sends, locked)
        sent = _sent_before((s.conversation.pk, s.actor, s.client_id) for s in sends)
        first: dict[tuple, int] = {}
        for i, send in enumerate(sends):
            key = (send.conversation.pk, send.actor.pk, send.client_id)
            try:
                if send.conversation.pk not in locked:
                    raise not_found()
                conversation, participants = locked[send.conversation.pk]
                side = _side_of(send.actor, conversation, participants, memberships)
                if key in sent:
                    results[i] = (sent[key], False)
                elif key in first:
                    again.append((i, first[key]))
                else:
                    _check_not_blocked(side, conversation, participants)
                    admitted.append((i, side))
                    if send.client_id:
                        first[key] = i
            except AppError as exc:
                results[i] = exc
        over = _over_rate([sends[i].actor for i, _side in admitted])
        for (i, _side), refused in zip(admitted, over, strict=True):
            if refused:
                results[i] = _rate_limited()
        admitted = [a for a, refused in zip(admitted, over, strict=True) if not refused]
        drafts = [_draft(sends[i], locked[sends[i].conversation.pk], side) for i, side in admitted]
        messages = append_messages(drafts) if drafts else []
        for (i, _side), message in zip(admitted, messages, strict=True):
            results[i] = (message, True)
        for i, j in again:
            results[i] = (results[j][0], False) if isinstance(results[j], tuple) else results[j]
        # Auto replies of all first, then the hooks: a hook may post through
        # post_message, which reads the conversation afresh.
        sent_now = zip(admitted, messages, strict=True)
        customers = [(i, message) for (i, side), message in sent_now if side.user_id]
        for i, message in customers:
            conversation, participants = locked[sends[i].conversation.pk]
            if conversation.business_id is not None:
                _auto_replies(conversation, participants, message)
        for i, message in customers:
            conversation, _participants = locked[sends[i].conversation.pk]
            if conversation.business_id is not None and message.kind == "text":
                hooks.customer_text(conversation=conversation, message=message)
    for send, result in zip(sends, results, strict=True):
        if type(result) is tuple and send.conversation.pk in locked:
            conversation = locked[send.conversation.pk][0]
            send.conversation.last_seq = conversation.last_seq
            send.conversation.last_message_at = conversation.last_message_at
    return results


def _draft(send: Send, locked: tuple[Conversation, list[Participant]], side) -> Draft:
    conversation, participants = locked
    return Draft(
        conversation, participants, side,
        kind=send.kind, body=send.body, payload=send.payload, author=send.actor,
        image=send.image, image_thumb=send.image_thumb, client_id=send.client_id,
    )  # fmt: skip


def _send(send: Send) -> tuple[Message, bool]:
    """:func:`send_many` for one send; its error raised."""
    [result] = send_many([send])
    if isinstance(result, AppError):
        raise result
    return result


def text_message(
    *, actor: User, conversation: Conversation, body: str, client_id: str | None = None
) -> Send:
    """A text message to send (cleaned: an ``AppError`` if it is empty, too long, or
    its client id is malformed)."""
    return Send(
        actor, conversation, kind="text", body=_clean_text(body),
        client_id=_clean_client_id(client_id),
    )  # fmt: skip


def send_text(
    *, actor: User, conversation: Conversation, body: str, client_id: str | None = None
) -> tuple[Message, bool]:
    """Send a text message as the actor's side. Idempotent per ``client_id``."""
    return _send(
        text_message(actor=actor, conversation=conversation, body=body, client_id=client_id)
    )


def send_image(
    *,
    actor: User,
    conversation: Conversation,
    upload,
    caption: str = "",
    client_id: str | None = None,
) -> tuple[Message, bool]:
    """Send a photo (validated and re-encoded like catalog photos) with a caption."""
    caption = _clean_text(caption, required=False)
    participant_for(actor, conversation)  # before the costly decode
    image = clean_image(upload, max_bytes=IMAGE_MAX_BYTES, max_side=IMAGE_MAX_SIDE)
    main = image.encode(max_side=IMAGE_STORED_SIDE)
    thumb = image.encode(max_side=IMAGE_THUMB_SIDE)
    width, height = image.image.size
    return _send(
        Send(
            actor,
            conversation,
            kind="image",
            body=caption,
            client_id=_clean_client_id(client_id),
            image=main,
            image_thumb=thumb,
            payload={"width": width, "height": height},
        )
    )


def _business_product(conversation: Conversation, product_id) -> "Any":
    pid = parse_int(product_id, minimum=1) or 0
    product = active_products(business=conversation.business_id).filter(pk=pid).first()
    if product is None:
        raise AppError(_("Product not found."), code="product_not_found", field="product")
    return product


def share_product(
    *,
    actor: User,
    conversation: Conversation,
    product_id,
    body: str = "",
    client_id: str | None = None,
) -> tuple[Message, bool]:
    """A product card (live price and stock) with an optional text, from either side."""
    if conversation.business_id is None:
        raise AppError(_("Products are shared in chats with a business."), code="not_business")
    body = _clean_text(body, required=False)
    product = _business_product(conversation, product_id)
    payload = {"product_id": product.pk, "business_id": product.business_id, "name": product.name}
    return _send(
        Send(
            actor, conversation, kind="product", body=body,
            client_id=_clean_client_id(client_id), payload=payload,
        )
    )  # fmt: skip


def share_products(
    *,
    actor: User,
    conversation: Conversation,
    sections: Sequence[dict],
    body: str = "",
    client_id: str | None = None,
) -> tuple[Message, bool]:
    """A product set: up to 30 products in titled sections; staff only."""
    if conversation.business_id is None or staff_membership(actor, conversation) is None:
        raise AppError(_("Only the business can send a product list."), code="forbidden")
    body = _clean_text(body, required=False)
    clean, seen = [], set()
    for section in sections:
        title = str(section.get("title") or "").strip()[:60]
        ids = []
        for raw in section.get("product_ids") or []:
            product = _business_product(conversation, raw)
            if product.pk not in seen:
                seen.add(product.pk)
                ids.append(product.pk)
        if ids:
            clean.append({"title": title, "product_ids": ids})
    if not seen:
        raise AppError(_("Choose at least one product."), code="empty", field="products")
    if len(seen) > PRODUCT_SET_MAX:
        raise AppError(
            _("A product list can have at most %(max)d products.") % {"max": PRODUCT_SET_MAX},
            code="too_many",
            field="products",
        )
    payload = {"business_id": conversation.business_id, "sections": clean}
    return _send(
        Send(
            actor, conversation, kind="product_set", body=body,
            client_id=_clean_client_id(client_id), payload=payload,
        )
    )  # fmt: skip


def post_system_note(*, conversation: Conversation, body: str) -> Message:
    """A note from the platform, shown to both sides (e.g. "You blocked this contact")."""
    message, _created = post_message(
        conversation=conversation, sender=None, kind="system", body=body
    )
    return message


# --- Automatic replies --------------------------------------------------------------


def _auto_replies(locked: Conversation, participants: list[Participant], message: Message) -> None:
    """Greeting after a customer's first message; away message outside business
    hours, at most once per conversation every 12 hours. Runs under the lock."""
    try:
        inbox = locked.business.inbox_settings
    except ObjectDoesNotExist:
        return
    business_side = next(p for p in participants if p.business_id == locked.business_id)

    def reply(text: str, why: str) -> None:
        _append(
            locked, participants, business_side,
            author=None, kind="text", body=text, payload={"auto": why},
        )  # fmt: skip

    if message.seq == 1 and inbox.greeting_enabled and inbox.greeting_text:
        reply(inbox.greeting_text, "greeting")
    if inbox.away_enabled and inbox.away_text:
        moment = timezone.now()
        if locked.away_sent_at and locked.away_sent_at > moment - AWAY_INTERVAL:
            return
        hours = list(OpeningHours.objects.filter(business_id=locked.business_id))
        if hours and not locked.business.is_open_at(moment, hours):
            Conversation.objects.filter(pk=locked.pk).update(away_sent_at=moment)
            locked.away_sent_at = moment
            reply(inbox.away_text, "away")
