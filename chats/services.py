"""Every write to conversations and messages.

All message writes go through :func:`post_message`, which numbers the message
under a lock on its conversation, updates both sides' counters, and pushes the
message to the sockets only after the commit (through
:func:`core.events.send_event_on_commit`). User-facing services (``send_text``,
``send_image``, ``share_product`` …) check who may write what, then call it.
Other apps (payments, marketing) call :func:`post_message` with their own kind; the
outbox appends a batch of messages at once (:func:`append_messages`, which
:func:`post_message` uses for one).
"""

import datetime
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, PositiveIntegerField, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Business, Membership, OpeningHours, User
from accounts.services import require_role, validation_to_app_error
from chats import events, hooks, kinds
from chats.models import (
    MAX_TEXT,
    ChatPreferences,
    Contact,
    ContactNote,
    Conversation,
    InboxSettings,
    Label,
    Message,
    Participant,
    QuickReply,
    Report,
)
from core import counters
from core.cards import mask_card_numbers
from core.errors import AppError
from core.events import enqueue_on_commit
from core.images import clean_image

logger = logging.getLogger(__name__)

ROLE = Membership.Role
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_SIDE = 6000
IMAGE_STORED_SIDE = 1600
IMAGE_THUMB_SIDE = 480
PRODUCT_SET_MAX = 30
AWAY_INTERVAL = datetime.timedelta(hours=12)
FIRST_TOUCH_FIELDS = (
    "ref", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer",
)  # fmt: skip


def _not_found() -> AppError:
    return AppError(gettext_lazy("Conversation not found."), code="not_found", status_code=404)


# --- Access -----------------------------------------------------------------------


def staff_membership(user: User, conversation: Conversation) -> Membership | None:
    """The user's membership on the business side, if it lets them see ``conversation``.

    Agents see conversations assigned to them and unassigned ones; admins and
    owners see all of their business's.
    """
    if conversation.business_id is None or not user.is_authenticated:
        return None
    membership = Membership.objects.filter(
        user=user, business_id=conversation.business_id, business__is_active=True
    ).first()
    return _if_it_sees(membership, user, conversation)


def _if_it_sees(membership: Membership | None, user: User, conversation: Conversation):
    """``membership`` if it lets ``user`` see ``conversation`` (agents: theirs and
    unassigned ones), else None."""
    if membership is None:
        return None
    if membership.role == ROLE.AGENT and conversation.assignee_id not in (None, user.pk):
        return None
    return membership


def participant_for(user: User, conversation: Conversation) -> Participant:
    """The side ``user`` speaks for in ``conversation``, or a "not found" error.

    A customer speaks for themselves; a staff member for the business.
    """
    if not user.is_authenticated:
        raise _not_found()
    if conversation.business_id is not None and staff_membership(user, conversation):
        return Participant.objects.get(
            conversation=conversation, business_id=conversation.business_id
        )
    side = Participant.objects.filter(conversation=conversation, user=user).first()
    if side is None:
        raise _not_found()
    return side


# --- Starting conversations ----------------------------------------------------------


def _clean_touch(first_touch: dict[str, Any] | None) -> dict[str, str]:
    touch = {}
    for key in FIRST_TOUCH_FIELDS:
        value = str((first_touch or {}).get(key) or "").replace("\x00", "").strip()
        limit = Conversation._meta.get_field(key).max_length
        if value:
            touch[key] = value[:limit]
    return touch


def check_can_start_conversation(*, customer: User, business: Business) -> None:
    """An ``AppError`` if ``customer`` may not chat with ``business`` as a customer (it
    is inactive, or they are on its team). Reads only."""
    if not business.is_active:
        raise AppError(_("This business is not available."), code="not_found", status_code=404)
    if Membership.objects.filter(user=customer, business=business).exists():
        raise AppError(
            _("You are on this business's team: answer its customers from the inbox."),
            code="own_business",
        )


@transaction.atomic
def start_conversation(
    *, customer: User, business: Business, first_touch: dict[str, Any] | None = None
) -> tuple[Conversation, bool]:
    """The customer's conversation with ``business``, created on first contact.

    There is one conversation per customer and business; starting it again
    resumes it (and reopens it if it was resolved). The first touch (ref, UTM
    fields, referrer) is kept from the first contact only. Idempotent.
    """
    check_can_start_conversation(customer=customer, business=business)
    contact, _created = Contact.objects.get_or_create(business=business, user=customer)
    try:
        conversation = contact.conversation
        return conversation, False
    except Conversation.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=Conversation.Kind.BUSINESS,
                business=business,
                contact=contact,
                **_clean_touch(first_touch),
            )
    except IntegrityError:  # a concurrent first contact won
        return Conversation.objects.get(contact=contact), False
    Participant.objects.bulk_create(
        [
            Participant(conversation=conversation, user=customer),
            Participant(conversation=conversation, business=business),
        ]
    )
    return conversation, True


@transaction.atomic
def start_conversation_with_message(
    *,
    customer: User,
    business: Business,
    body: str,
    first_touch: dict[str, Any] | None = None,
    product_id: int | None = None,
    client_id: str | None = None,
) -> tuple[Conversation, Message]:
    """The customer's first message to ``business`` (click-to-chat's Send): the
    conversation is started with ``first_touch`` (kept only if it is new, as in
    :func:`start_conversation`) and the text, or the product card with it, is sent.
    Atomic: a message refused (empty, too long, a product not the shop's) leaves no
    conversation behind. Idempotent per ``client_id``."""
    conversation, _created = start_conversation(
        customer=customer, business=business, first_touch=first_touch
    )
    if product_id:
        message, _sent = share_product(
            actor=customer,
            conversation=conversation,
            product_id=product_id,
            body=body,
            client_id=client_id,
        )
    else:
        message, _sent = send_text(
            actor=customer, conversation=conversation, body=body, client_id=client_id
        )
    return conversation, message


@transaction.atomic
def start_direct_conversation(*, user: User, peer: User) -> tuple[Conversation, bool]:
    """The direct conversation between two users, created once per pair. Idempotent."""
    if peer.pk == user.pk:
        raise AppError(_("You cannot start a chat with yourself."), code="self_chat")
    if not peer.is_active:
        raise AppError(_("No one with that e-mail or phone uses Conversa."), code="not_found")
    low, high = sorted((user.pk, peer.pk))
    key = f"{low}:{high}"
    existing = Conversation.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=Conversation.Kind.DIRECT, direct_key=key
            )
    except IntegrityError:
        return Conversation.objects.get(direct_key=key), False
    Participant.objects.bulk_create(
        [
            Participant(conversation=conversation, user=user),
            Participant(conversation=conversation, user=peer),
        ]
    )
    return conversation, True


# --- Posting messages ----------------------------------------------------------------


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
    _schedule_unread_email([p for pk in business_wrote for p in touched[pk].participants])
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
        if business is not None and _if_it_sees(membership, actor, locked):
            return next(p for p in participants if p.business_id == business)
    raise _not_found()


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
    ones are written here together (``chats.consumers.SendQueue``)."""
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
                    raise _not_found()
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
    from catalog.models import Product

    try:
        pid = int(product_id)
    except (TypeError, ValueError):
        pid = 0
    product = Product.objects.filter(
        pk=pid, business_id=conversation.business_id, is_active=True
    ).first()
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


# --- Receipts -------------------------------------------------------------------------


def mark_read(*, actor: User, conversation: Conversation, seq: int | None = None) -> Participant:
    """The actor's side has read up to ``seq`` (default: everything). Never goes back."""
    side = participant_for(actor, conversation)
    return _advance(side, conversation, seq, read=True)


def mark_delivered(*, actor: User, conversation: Conversation, seq: int) -> Participant:
    side = participant_for(actor, conversation)
    return _advance(side, conversation, seq, read=False)


def _advance(side: Participant, conversation: Conversation, seq, *, read: bool) -> Participant:
    with transaction.atomic():
        last = Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation.pk)
        try:
            seq = last if seq is None else max(0, min(int(seq), last))
        except (TypeError, ValueError):
            raise AppError(_("Invalid message number."), code="invalid", field="seq") from None
        # One UPDATE: a row updated twice in a transaction has its foreign keys checked
        # again at commit (a lock on the conversation), which a single update skips.
        number = PositiveIntegerField()

        def at_least_seq(field: str) -> Greatest:
            return Greatest(field, Value(seq), output_field=number)

        moved = Q(last_delivered_seq__lt=seq)
        fields = {"last_delivered_seq": at_least_seq("last_delivered_seq")}
        if read:
            moved |= Q(last_read_seq__lt=seq)
            fields["last_read_seq"] = at_least_seq("last_read_seq")
            fields["unread"] = Case(
                When(last_read_seq__lt=seq, then=Value(_unread_after(conversation, side, seq))),
                default=F("unread"),
                output_field=number,
            )
        changed = Participant.objects.filter(moved, pk=side.pk).update(**fields)
        side.refresh_from_db()
        if changed:
            events.push_receipt(conversation, side)
    return side


def _unread_after(conversation: Conversation, side: Participant, seq: int) -> int:
    return (
        Message.objects.filter(conversation=conversation, seq__gt=seq).exclude(sender=side).count()
    )


# --- Unread e-mail -------------------------------------------------------------------


def _schedule_unread_email(participants: list[Participant]) -> None:
    """Make the unread-replies e-mail due in ``CHAT_UNREAD_EMAIL_DELAY`` for each
    customer among ``participants`` that has none due (a conditional update, so the
    first reply of a batch sets it and later ones join that e-mail). The row is what
    counts: the beat's sweep (:func:`send_due_unread_emails`) sends it even when the
    task enqueued here after the commit, only a shortcut, is lost."""
    from chats import tasks

    wanted = [s for s in participants if s.user_id is not None and s.email_due_at is None]
    if not wanted:
        return
    ids = [side.pk for side in wanted]
    delay = settings.CHAT_UNREAD_EMAIL_DELAY
    due = timezone.now() + datetime.timedelta(seconds=delay)
    if not Participant.objects.filter(pk__in=ids, email_due_at__isnull=True).update(
        email_due_at=due
    ):
        return
    for side in wanted:
        side.email_due_at = due
    if len(ids) == 1:
        enqueue_on_commit(tasks.send_unread_email, ids[0], countdown=delay, robust=True)
    else:
        enqueue_on_commit(tasks.send_unread_emails, ids, countdown=delay, robust=True)


@dataclass(frozen=True)
class _UnreadEmail:
    """An unread-replies e-mail claimed by one sender until ``lease``."""

    participant_id: int
    seq: int  # the last message it covers
    lease: datetime.datetime
    attempts: int
    message: Any  # EmailMessage


def _unread_replies(side: Participant, since: int):
    return (
        Message.objects.filter(conversation_id=side.conversation_id, seq__gt=since)
        .exclude(sender=side)
        .exclude(sender__isnull=True)
    )


def _claim_unread_email(participant_id: int) -> _UnreadEmail | None:
    """Claim the participant's due e-mail and render it, in one short transaction;
    ``None`` if it is not due, held by another sender, or moot (read meanwhile,
    online, turned off: then it is no longer due)."""
    from django.core.mail import EmailMessage
    from django.core.mail.utils import DNS_NAME
    from django.template.loader import render_to_string
    from django.urls import reverse

    moment = timezone.now()
    with transaction.atomic():
        side = (
            Participant.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("user", "conversation__business")
            .filter(pk=participant_id, email_due_at__lte=moment)
            .first()
        )
        if side is None or side.user is None:
            return None
        unread = list(
            _unread_replies(side, max(side.last_read_seq, side.emailed_seq)).order_by("seq")
        )
        prefs = ChatPreferences.objects.filter(user=side.user).first()
        if not unread or (prefs and not prefs.email_unread) or events.is_online(side.user_id):
            Participant.objects.filter(pk=side.pk).update(email_due_at=None, email_attempts=0)
            return None
        lease = moment + datetime.timedelta(seconds=settings.CHAT_UNREAD_EMAIL_LEASE)
        # Conditional as well as locked: SQLite has no row locks (its write lock
        # serializes the claims instead), and this keeps a claim single either way.
        if not Participant.objects.filter(pk=side.pk, email_due_at=side.email_due_at).update(
            email_due_at=lease
        ):
            return None
        business = side.conversation.business
        with translation.override(side.user.language or settings.LANGUAGE_CODE):
            context = {
                "user": side.user,
                "business": business,
                "previews": [kinds.get(m.kind).preview(m) for m in unread[-5:]],
                "count": len(unread),
                "url": settings.SITE_URL
                + reverse("chat_thread", kwargs={"conversation_id": side.conversation_id}),
                "settings_url": settings.SITE_URL + reverse("chat_settings"),
            }
            subject = _("%(business)s replied to you on Conversa") % {"business": business.name}
            text = render_to_string("chats/email/unread.txt", context)
    seq = unread[-1].seq
    message = EmailMessage(
        subject,
        text,
        None,
        [side.user.email],
        # The same for every attempt at this batch: should a sender die after the
        # server took the e-mail and before recording it, the second copy is the
        # same message to the customer's mail client.
        headers={"Message-ID": f"<unread.{side.pk}.{seq}@{DNS_NAME}>"},
    )
    return _UnreadEmail(side.pk, seq, lease, side.email_attempts, message)


def _finish_unread_email(claim: _UnreadEmail, *, error: BaseException | None) -> None:
    """Record the outcome of a claimed e-mail. Sent: ``emailed_seq`` covers it, and
    it is due again only if a reply came while it was being sent. Failed: retried
    after a backoff, given up after ``CHAT_UNREAD_EMAIL_MAX_ATTEMPTS``. A claim whose
    lease another sender has since taken leaves ``email_due_at`` to that sender."""
    moment = timezone.now()
    with transaction.atomic():
        side = (
            Participant.objects.select_for_update(no_key=True)
            .filter(pk=claim.participant_id)
            .first()
        )
        if side is None:
            return
        ours = side.email_due_at == claim.lease
        if error is None:
            fields: dict[str, Any] = {
                "emailed_seq": max(side.emailed_seq, claim.seq),
                "email_attempts": 0,
            }
            if ours:
                since = max(claim.seq, side.last_read_seq)
                newer = _unread_replies(side, since).exists()
                delay = datetime.timedelta(seconds=settings.CHAT_UNREAD_EMAIL_DELAY)
                fields["email_due_at"] = moment + delay if newer else None
        elif not ours:
            return
        else:
            attempts = claim.attempts + 1
            if attempts >= settings.CHAT_UNREAD_EMAIL_MAX_ATTEMPTS:
                fields = {"email_due_at": None, "email_attempts": 0}
            else:
                wait = settings.CHAT_UNREAD_EMAIL_RETRY_BASE * 2 ** (attempts - 1)
                fields = {
                    "email_due_at": moment + datetime.timedelta(seconds=wait),
                    "email_attempts": attempts,
                }
            logger.warning(
                "unread e-mail to participant %s failed (attempt %d%s): %s: %s",
                claim.participant_id, attempts,
                ", given up" if fields["email_due_at"] is None else "",
                type(error).__name__, error,
            )  # fmt: skip
        Participant.objects.filter(pk=side.pk).update(**fields)


def send_unread_email(*, participant_id: int) -> bool:
    """E-mail the customer the business replies they have not read, if that e-mail is
    due (``email_due_at``). Returns whether an e-mail went out. Idempotent, and safe
    for any number of concurrent callers (the accelerating task, the sweep, a
    redelivered task).

    Three steps, none holding a lock over the network: claim it (the row's due time
    moves to the end of a ``CHAT_UNREAD_EMAIL_LEASE``, the e-mail is rendered), send
    it, record it (``emailed_seq`` = the last message it covers, so the next e-mail
    starts after it). A sender killed after claiming leaves the row due at the end of
    its lease, and the sweep sends it then: nothing is lost, and the flag never stays
    set. Only a sender killed between the mail server's acceptance and the record
    can cause a second copy (the same ``Message-ID``); docs/outbox.md.
    """
    if type(participant_id) is not int:
        return False
    claim = _claim_unread_email(participant_id)
    if claim is None:
        return False
    try:
        claim.message.send()
    except Exception as exc:  # the mail server: retried later, not a task failure
        _finish_unread_email(claim, error=exc)
        return False
    _finish_unread_email(claim, error=None)
    return True


def send_due_unread_emails(*, limit: int | None = None) -> int:
    """The beat's sweep: send the due unread-replies e-mails, up to ``limit``
    (``CHAT_UNREAD_EMAIL_BATCH``), earliest first; returns how many went out. Rows
    another sender holds are skipped (each is claimed with ``skip_locked``)."""
    limit = limit or settings.CHAT_UNREAD_EMAIL_BATCH
    due = (
        Participant.objects.filter(email_due_at__lte=timezone.now())
        .order_by("email_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send_unread_email(participant_id=pk) for pk in list(due))


def set_chat_preferences(*, user: User, email_unread: bool) -> ChatPreferences:
    prefs, _created = ChatPreferences.objects.update_or_create(
        user=user, defaults={"email_unread": email_unread}
    )
    return prefs


# --- Inbox management ----------------------------------------------------------------


def _staff(actor: User, conversation: Conversation) -> Membership:
    membership = staff_membership(actor, conversation)
    if membership is None:
        raise _not_found()
    return membership


def set_status(*, actor: User, conversation: Conversation, status: str) -> Conversation:
    _staff(actor, conversation)
    if status not in Conversation.Status.values:
        raise AppError(_("Unknown status."), code="invalid", field="status")
    Conversation.objects.filter(pk=conversation.pk).update(status=status)
    conversation.status = status
    events.push_inbox_update(conversation)
    return conversation


def assign(*, actor: User, conversation: Conversation, assignee_id: int | None) -> Conversation:
    """Assign to a staff member (admins), or an agent takes/leaves an unassigned one."""
    membership = _staff(actor, conversation)
    if assignee_id is not None:
        try:
            assignee_id = int(assignee_id)
        except (TypeError, ValueError):
            raise AppError(_("Choose a team member."), code="invalid", field="assignee") from None
        if not Membership.objects.filter(
            user_id=assignee_id, business_id=conversation.business_id
        ).exists():
            raise AppError(_("Choose a team member."), code="invalid", field="assignee")
    if membership.role == ROLE.AGENT and assignee_id not in (None, actor.pk):
        raise AppError(
            _("Only admins can assign conversations to others."), code="forbidden", status_code=403
        )
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(assignee_id=assignee_id)
        conversation.assignee_id = assignee_id
        events.push_inbox_update(conversation)
    return conversation


def _contact(actor: User, conversation: Conversation) -> Contact:
    _staff(actor, conversation)
    return Contact.objects.get(pk=conversation.contact_id)


def set_labels(*, actor: User, conversation: Conversation, label_ids: Sequence) -> Contact:
    contact = _contact(actor, conversation)
    try:
        wanted = {int(i) for i in label_ids}
    except (TypeError, ValueError):
        raise AppError(_("Unknown label."), code="invalid", field="labels") from None
    labels = list(Label.objects.filter(business_id=conversation.business_id, pk__in=wanted))
    if len(labels) != len(wanted):
        raise AppError(_("Unknown label."), code="invalid", field="labels")
    with transaction.atomic():
        contact.labels.set(labels)
        events.push_inbox_update(conversation)
    return contact


def add_note(*, actor: User, conversation: Conversation, body: str) -> ContactNote:
    contact = _contact(actor, conversation)
    body = (body or "").replace("\x00", "").strip()
    if not body:
        raise AppError(_("Write the note first."), code="empty", field="body")
    if len(body) > 2000:
        raise AppError(_("A note can have at most 2000 characters."), code="too_long", field="body")
    return ContactNote.objects.create(contact=contact, author=actor, body=body)


def delete_note(*, actor: User, note: ContactNote) -> None:
    require_role(actor, note.contact.business, ROLE.AGENT)
    note.delete()


def block_contact(*, actor: User, conversation: Conversation, blocked: bool) -> Contact:
    """Block (no further messages from the customer) or unblock. Idempotent."""
    contact = _contact(actor, conversation)
    with transaction.atomic():
        if blocked:
            changed = Contact.objects.filter(pk=contact.pk, blocked_at__isnull=True).update(
                blocked_at=timezone.now(), blocked_by=actor
            )
        else:
            changed = Contact.objects.filter(pk=contact.pk, blocked_at__isnull=False).update(
                blocked_at=None, blocked_by=None
            )
        contact.refresh_from_db()
        if changed:
            events.push_inbox_update(conversation)
    return contact


def block_peer(*, actor: User, conversation: Conversation, blocked: bool) -> Participant:
    """In a direct conversation, block (no messages or money from the other person) or
    unblock them. Idempotent; the other person is not told."""
    side = participant_for(actor, conversation)
    if not conversation.is_direct:
        raise _not_found()
    with transaction.atomic():
        side = Participant.objects.select_for_update(no_key=True).get(pk=side.pk)
        if blocked and side.blocked_at is None:
            side.blocked_at = timezone.now()
        elif not blocked:
            side.blocked_at = None
        side.save(update_fields=["blocked_at"])
    return side


def is_blocked_by(*, user: User, peer: User, conversation: Conversation) -> bool:
    """True if ``peer`` blocked ``user`` in the direct ``conversation``."""
    return Participant.objects.filter(
        conversation=conversation, user=peer, blocked_at__isnull=False
    ).exists()


def report_conversation(*, actor: User, conversation: Conversation, reason: str) -> Report:
    """Report a conversation to the platform's operators (listed in Django admin)."""
    participant_for(actor, conversation)
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise AppError(_("Say what is wrong."), code="empty", field="reason")
    if len(reason) > 2000:
        raise AppError(_("At most 2000 characters."), code="too_long", field="reason")
    return Report.objects.create(conversation=conversation, reporter=actor, reason=reason)


# --- Business settings: labels, quick replies, greeting and away --------------------------


def _full_clean(obj) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean()
    except ValidationError as exc:
        raise validation_to_app_error(exc) from None


def create_label(*, actor: User, business: Business, name: str, color: str = "gray") -> Label:
    require_role(actor, business, ROLE.ADMIN)
    label = Label(business=business, name=(name or "").strip(), color=color)
    _full_clean(label)
    label.save()
    return label


def delete_label(*, actor: User, label: Label) -> None:
    require_role(actor, label.business, ROLE.ADMIN)
    label.delete()


def save_quick_reply(
    *, actor: User, business: Business, shortcut: str, text: str, reply: QuickReply | None = None
) -> QuickReply:
    require_role(actor, business, ROLE.ADMIN)
    reply = reply or QuickReply(business=business)
    reply.shortcut = (shortcut or "").strip().lstrip("/").lower()
    reply.text = (text or "").strip()
    _full_clean(reply)
    reply.save()
    return reply


def delete_quick_reply(*, actor: User, reply: QuickReply) -> None:
    require_role(actor, reply.business, ROLE.ADMIN)
    reply.delete()


@transaction.atomic
def update_inbox_settings(*, actor: User, business: Business, **fields: Any) -> InboxSettings:
    require_role(actor, business, ROLE.ADMIN)
    inbox, _created = InboxSettings.objects.get_or_create(business=business)
    for name in ("greeting_enabled", "greeting_text", "away_enabled", "away_text"):
        if name in fields:
            setattr(inbox, name, fields[name])
    for flag, text in (("greeting_enabled", "greeting_text"), ("away_enabled", "away_text")):
        if getattr(inbox, flag) and not getattr(inbox, text).strip():
            raise AppError(_("Write the message to send."), code="empty", field=text)
    _full_clean(inbox)
    inbox.save()
    return inbox
