"""Read and delivery receipts: how far each side has read a conversation."""

from django.db import transaction
from django.db.models import Case, F, PositiveIntegerField, Q, Value, When
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from accounts.models import User
from chats import events
from chats.models import Conversation, Message, Participant
from chats.selectors import participant_for
from core.errors import AppError


def mark_read(*, actor: User, conversation: Conversation, seq: int | None = None) -> Participant:
    """The actor's side has read up to ``seq`` (default: everything). Never goes back.

    A conversation from ``selectors.get_conversation_for`` for ``actor`` (a thread
    page's) already carries the actor's side, checked there."""
    if getattr(conversation, "viewer_id", None) == actor.pk:
        side = conversation.me
    else:
        side = participant_for(actor, conversation)
    return _advance(side, conversation, seq, read=True)


def mark_delivered(*, actor: User, conversation: Conversation, seq: int) -> Participant:
    side = participant_for(actor, conversation)
    return _advance(side, conversation, seq, read=False)


def _advance(side: Participant, conversation: Conversation, seq, *, read: bool) -> Participant:
    if seq is None and _has_reached(side, conversation, read=read):
        return side  # nothing to move: no transaction, no write (every thread page)
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


def _has_reached(side: Participant, conversation: Conversation, *, read: bool) -> bool:
    """Whether ``side`` (as loaded; its marks only ever grow) has already reached the
    conversation's last message, read now: then ``_advance`` would change nothing."""
    last = Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation.pk)
    return side.last_delivered_seq >= last and (not read or side.last_read_seq >= last)


def _unread_after(conversation: Conversation, side: Participant, seq: int) -> int:
    return (
        Message.objects.filter(conversation=conversation, seq__gt=seq).exclude(sender=side).count()
    )
