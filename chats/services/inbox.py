"""The merchant inbox's administration of a conversation: status, assignee, the
contact's labels and notes, blocking the contact. Staff of the business only (an
agent: in the conversations they see).
"""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.services import require_role
from chats import events, hooks
from chats.models import Contact, ContactNote, Conversation, Label
from chats.selectors import staff_or_not_found
from core import domain_events
from core.errors import AppError
from core.ids import parse_int

ROLE = Membership.Role


def set_status(*, actor: User, conversation: Conversation, status: str) -> Conversation:
    staff_or_not_found(actor, conversation)
    if status not in Conversation.Status.values:
        raise AppError(_("Unknown status."), code="invalid", field="status")
    resolved_at = timezone.now() if status == Conversation.Status.RESOLVED else None
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(
            status=status, resolved_at=resolved_at
        )
        conversation.status, conversation.resolved_at = status, resolved_at
        hooks.conversation_changed(conversation=conversation)
        domain_events.emit(
            "conversation.status_changed",
            business_id=conversation.business_id,
            subject=conversation,
        )
        events.push_inbox_update(conversation)
    return conversation


def assign(*, actor: User, conversation: Conversation, assignee_id: int | None) -> Conversation:
    """Assign to a staff member (admins), or an agent takes/leaves an unassigned one."""
    membership = staff_or_not_found(actor, conversation)
    if assignee_id is not None:
        # An id past what the database holds is nobody (SQLite raised on one).
        assignee_id = parse_int(assignee_id, minimum=1)
        if (
            assignee_id is None
            or not Membership.objects.filter(
                user_id=assignee_id, business_id=conversation.business_id
            ).exists()
        ):
            raise AppError(_("Choose a team member."), code="invalid", field="assignee")
    if membership.role == ROLE.AGENT and assignee_id not in (None, actor.pk):
        raise AppError(
            _("Only admins can assign conversations to others."), code="forbidden", status_code=403
        )
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(assignee_id=assignee_id)
        conversation.assignee_id = assignee_id
        hooks.conversation_changed(conversation=conversation)
        events.push_inbox_update(conversation)
    return conversation


def _contact(actor: User, conversation: Conversation) -> Contact:
    staff_or_not_found(actor, conversation)
    return Contact.objects.get(pk=conversation.contact_id)


def set_labels(*, actor: User, conversation: Conversation, label_ids: Sequence) -> Contact:
    contact = _contact(actor, conversation)
    wanted = {parse_int(i, minimum=1) for i in label_ids}
    if None in wanted:
        raise AppError(_("Unknown label."), code="invalid", field="labels")
    labels = list(Label.objects.filter(business_id=conversation.business_id, pk__in=wanted))
    if len(labels) != len(wanted):
        raise AppError(_("Unknown label."), code="invalid", field="labels")
    with transaction.atomic():
        contact.labels.set(labels)
        hooks.conversation_changed(conversation=conversation)
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
