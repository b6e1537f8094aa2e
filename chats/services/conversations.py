"""Starting conversations (a customer with a business, two users directly), and what
either side does to one as a whole: block the other person, report it.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from chats import hooks
from chats.models import Contact, Conversation, Message, Participant, Report
from chats.selectors import not_found, participant_for
from chats.services.messages import send_text, share_product
from core import domain_events
from core.errors import AppError

FIRST_TOUCH_FIELDS = (
    "ref", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer",
)  # fmt: skip


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
    *,
    customer: User,
    business: Business,
    first_touch: dict[str, Any] | None = None,
    client: dict[str, str] | None = None,
) -> tuple[Conversation, bool]:
    """The customer's conversation with ``business``, created on first contact.

    There is one conversation per customer and business; starting it again
    resumes it (and reopens it if it was resolved). The first touch (ref, UTM
    fields, referrer) is kept from the first contact only. Idempotent.
    A new conversation is announced to ``hooks.conversation_started`` in this
    transaction, with ``first_touch`` and ``client`` (``{"ip", "user_agent"}`` of the
    web request it started from, if any: not stored here).
    """
    check_can_start_conversation(customer=customer, business=business)
    contact, contact_created = Contact.objects.get_or_create(business=business, user=customer)
    if contact_created:
        domain_events.emit("contact.created", business_id=business.pk, subject=contact)
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
    hooks.conversation_started(
        conversation=conversation, contact=contact, touch=dict(first_touch or {}), client=client
    )
    domain_events.emit("conversation.created", business_id=business.pk, subject=conversation)
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
    client: dict[str, str] | None = None,
) -> tuple[Conversation, Message]:
    """The customer's first message to ``business`` (click-to-chat's Send): the
    conversation is started with ``first_touch`` (kept only if it is new, as in
    :func:`start_conversation`) and the text, or the product card with it, is sent.
    Atomic: a message refused (empty, too long, a product not the shop's) leaves no
    conversation behind. Idempotent per ``client_id``."""
    conversation, _created = start_conversation(
        customer=customer, business=business, first_touch=first_touch, client=client
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


def block_peer(*, actor: User, conversation: Conversation, blocked: bool) -> Participant:
    """In a direct conversation, block (no messages or money from the other person) or
    unblock them. Idempotent; the other person is not told."""
    side = participant_for(actor, conversation)
    if not conversation.is_direct:
        raise not_found()
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
