"""Settings: a business's labels, quick replies and automatic replies (admins), and
a user's own chat preferences.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from accounts.services import require_role
from chats.models import ChatPreferences, InboxSettings, Label, QuickReply
from core.errors import AppError, validation_to_app_error

ROLE = Membership.Role


def _full_clean(obj) -> None:
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


def set_chat_preferences(*, user: User, email_unread: bool) -> ChatPreferences:
    prefs, _created = ChatPreferences.objects.update_or_create(
        user=user, defaults={"email_unread": email_unread}
    )
    return prefs
