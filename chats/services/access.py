"""Who may see a conversation, and as which side: the checks every chats service
makes first. A conversation someone may not see is "not found" to them, the same
answer as for one that does not exist.
"""

from django.utils.translation import gettext_lazy

from accounts.models import Membership, User
from chats.models import Conversation, Participant
from core.errors import AppError

ROLE = Membership.Role


def not_found() -> AppError:
    return AppError(gettext_lazy("Conversation not found."), code="not_found", status_code=404)


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
    return if_it_sees(membership, user, conversation)


def if_it_sees(membership: Membership | None, user: User, conversation: Conversation):
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
        raise not_found()
    if conversation.business_id is not None and staff_membership(user, conversation):
        return Participant.objects.get(
            conversation=conversation, business_id=conversation.business_id
        )
    side = Participant.objects.filter(conversation=conversation, user=user).first()
    if side is None:
        raise not_found()
    return side


def staff_or_not_found(actor: User, conversation: Conversation) -> Membership:
    membership = staff_membership(actor, conversation)
    if membership is None:
        raise not_found()
    return membership
