"""Deleting an account (LGPD art. 18: anonymisation or deletion) and erasing a
business's contact (docs/privacy.md, "Erasure").

An erased account's row stays, renamed to a pseudonym ("Deleted user 7f3a9c"), so
the orders, payments and ledger rows that must be kept for the tax retention period
keep pointing at something, with their amounts, dates and ids; everything that
names or reaches the person goes, in one transaction.

**Lock order** (the paying service's, docs/payments.md "Paying"): the user's row
first (two deletions of one account queue there), then the user's payable orders in
id order (what ``paying._claim`` locks), then the user's wallet ledger accounts,
last. So a payment racing a deletion either claimed its order first — the deletion
then sees the pending or paid payment and is refused — or waits for the order lock
and, once the deletion has committed, finds the order canceled and stops before
charging anything. There is never a paid order without its ledger posting: the
deletion changes no payment and no ledger row.
"""

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import ApiToken, Invitation, Membership, User
from chats.models import Contact, ContactNote, Conversation, Message, Report, ScheduledMessage
from core.errors import AppError
from core.events import run_on_commit
from core.mail import queue_email
from core.models import OutgoingEmail
from payments.gateway import get_gateway
from payments.models import (
    Card,
    Challenge,
    IdempotencyRecord,
    LedgerAccount,
    MoneyRequest,
    Order,
    Payment,
    PaymentPin,
    Payout,
    PayoutDestination,
    WebAuthnCredential,
)
from payments.services import orders as order_services
from payments.services import pins
from privacy.models import PrivacyRequest
from webhooks.models import Event as WebhookEvent

logger = logging.getLogger(__name__)

REMOVED = "message removed"  # in reports' reasons
REMOVED_KIND = "removed"  # chats.kinds: what an erased message becomes
ORDERS_IN_PROGRESS = (
    Order.Status.PROCESSING,
    Order.Status.PARTIALLY_SHIPPED,
    Order.Status.SHIPPED,
)


def _remove_messages(messages) -> None:
    """Replace ``messages`` (their author's, being erased) by the ``removed`` kind: no
    text, payload or images left; readers see "Message removed" in their language.
    Inside the caller's transaction."""
    for message in messages.exclude(kind=REMOVED_KIND):
        for field in (message.image, message.image_thumb):
            if field:
                field.delete(save=False)
        message.body, message.payload, message.kind = "", {}, REMOVED_KIND
        message.image = message.image_thumb = ""
        message.save(update_fields=["body", "payload", "kind", "image", "image_thumb"])


def pseudonym_key(user_id: int) -> str:
    """Six hex digits of a keyed hash of the user's id: stable, not guessable from
    the id, and not personal data."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"privacy:user:{user_id}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:6]


def pseudonym(user_id: int) -> str:
    return f"Deleted user {pseudonym_key(user_id)}"


def is_erased(user: User) -> bool:
    return user.email.endswith("@deleted.invalid")


def deletion_refusals(user: User) -> list[AppError]:
    """Why ``user``'s account cannot be deleted now (empty: it can). Read without
    locks for the page; :func:`delete_account` checks again under them."""
    refusals = []
    wallets = LedgerAccount.objects.filter(
        user=user, kind=LedgerAccount.Kind.USER_WALLET, balance__gt=0
    )
    if wallets.exists():
        refusals.append(
            AppError(
                _("There is money in your wallet. Withdraw it to your bank first."),
                code="wallet_not_empty",
            )
        )
    busy = Order.objects.filter(customer=user, status__in=ORDERS_IN_PROGRESS)
    paying = Payment.objects.filter(payer=user, status=Payment.Status.PENDING)
    if busy.exists() or paying.exists():
        refusals.append(
            AppError(
                _("An order of yours is being paid or delivered. Wait until it is complete."),
                code="order_in_progress",
            )
        )
    if Payout.objects.filter(user=user, status=Payout.Status.IN_TRANSIT).exists():
        refusals.append(
            AppError(
                _("A withdrawal to your bank is on its way. Wait until it arrives."),
                code="payout_pending",
            )
        )
    for membership in Membership.objects.filter(user=user, role=Membership.Role.OWNER):
        others = Membership.objects.filter(
            business_id=membership.business_id, role=Membership.Role.OWNER
        ).exclude(user=user)
        if not others.exists():
            refusals.append(
                AppError(
                    _("You are the last owner of %(name)s. Make someone else owner first.")
                    % {"name": membership.business.name},
                    code="last_owner",
                )
            )
    return refusals


def delete_account(*, user: User, password: str, pin: str = "") -> PrivacyRequest:
    """The user deletes their own account: confirmed with the password (and the
    payment PIN when one is set), refused while :func:`deletion_refusals` has a
    reason; otherwise everything personal goes in one transaction (see the module
    docstring for what, and for the lock order). AppError ``password_wrong``,
    ``pin_wrong``…, ``already_deleted`` or the refusal's code; nothing changed then.
    The notice to the old address is queued in the same transaction."""
    if not user.is_authenticated or is_erased(user) or not user.is_active:
        raise AppError(_("This account was already deleted."), code="already_deleted")
    pins.verify_account_password(user=user, password=password)
    if pins.has_pin(user):
        if not pin:
            raise AppError(_("Enter your payment PIN."), code="pin_missing", field="pin")
        pins.verify_pin(user=user, pin=pin)  # outside the transaction: the attempt counts
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if is_erased(locked) or not locked.is_active:
            raise AppError(_("This account was already deleted."), code="already_deleted")
        payable = list(
            Order.objects.select_for_update(no_key=True, of=("self",))
            .filter(customer=locked, status=Order.Status.PENDING)
            .order_by("pk")
        )
        list(
            LedgerAccount.objects.select_for_update(no_key=True).filter(user=locked).order_by("pk")
        )
        refusals = deletion_refusals(locked)
        if refusals:
            raise refusals[0]
        old_email, language = locked.email, locked.language or settings.LANGUAGE_CODE
        for order in payable:
            order_services.transition_order(
                order=order, to=Order.Status.CANCELED, actor=locked, order_locked=True,
                data={"reason": "account_deleted"},
            )  # fmt: skip
        request = PrivacyRequest.objects.create(
            kind=PrivacyRequest.Kind.DELETION,
            status=PrivacyRequest.Status.DONE,
            subject=locked,
            subject_label=pseudonym_key(locked.pk),
            actor=locked,
            progress=100,
            completed_at=timezone.now(),
        )
        _erase_user(locked)
        with translation.override(language):
            body = render_to_string("privacy/email/account_deleted.txt", {})
            queue_email(
                to=old_email,
                subject=_("Your Conversa account was deleted"),
                body=body,
                dedupe_key=f"privacy:deleted:{locked.pk}",
                forget_recipient=True,
            )
    user.refresh_from_db()
    return request


def _erase_user(user: User) -> None:
    """Everything that names or reaches ``user``, inside the caller's transaction
    (the user's row locked)."""
    name, email, phone = user.display_name, user.email, user.phone
    key = pseudonym_key(user.pk)
    now = timezone.now()

    # Cards: unusable here, deleted at the gateway after the commit.
    cards = list(Card.objects.filter(user=user))
    detach = [(c.gateway, c.token) for c in cards if not c.token.startswith("erased-")]
    for card in cards:
        card.token = f"erased-{card.pk}"
        card.holder_name = ""
        card.is_default = False
        card.removed_at = card.removed_at or now
    Card.objects.bulk_update(cards, ["token", "holder_name", "is_default", "removed_at"])
    run_on_commit(lambda: _detach_cards(detach))
    PaymentPin.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()
    Challenge.objects.filter(user=user).delete()
    ApiToken.objects.filter(user=user).delete()
    IdempotencyRecord.objects.filter(user=user).delete()
    destinations = PayoutDestination.objects.filter(user=user)
    destinations.update(
        account_number="", account_digit="", branch="", branch_digit="", holder_name="",
        holder_document="", pix_key="", is_default=False, removed_at=now,
    )  # fmt: skip
    Payout.objects.filter(user=user).update(destination_label="—")
    Membership.objects.filter(user=user).delete()
    Invitation.objects.filter(Q(email__iexact=email) | Q(accepted_by=user)).delete()

    # What they wrote: their messages, notes on orders and transfers, reports.
    _remove_messages(Message.objects.filter(author=user))
    Order.objects.filter(customer=user).exclude(note="").update(note="")
    Payment.objects.filter(payer=user).exclude(note="").update(note="")
    MoneyRequest.objects.filter(Q(requester=user) | Q(payer=user)).update(note="")
    Report.objects.filter(reporter=user).update(reason=REMOVED)

    # Their contacts in every business, and others' words that name them.
    _anonymise_contacts(Contact.objects.filter(user=user), name=name)
    conversations = Conversation.objects.filter(participants__user=user)
    ScheduledMessage.objects.filter(conversation__in=conversations).filter(
        status=ScheduledMessage.Status.SCHEDULED
    ).delete()
    _replace_name(Message.objects.filter(conversation__in=conversations), name, key)
    _forget_webhook_events(user, conversations=conversations, names=(name, *name.split()))

    # Sign-in, e-mail, sessions, admin history, queued mail, exports.
    user.email = f"deleted-{key}-{user.pk}@deleted.invalid"
    user.display_name = pseudonym(user.pk)
    user.phone = ""
    user.is_active = False
    user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save()
    _delete_allauth_rows(user)
    _delete_sessions(user)
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).update(object_repr=user.display_name, change_message="")
    mails = OutgoingEmail.objects.filter(to__iexact=email)
    mails.filter(status=OutgoingEmail.Status.PENDING).delete()
    mails.update(to="", subject="", body="", html_body="", last_error="")
    if phone:
        _replace_name(Message.objects.filter(conversation__in=conversations), phone, key)
    _delete_export_files(user)


def _forget_webhook_events(
    user: User, *, conversations, business=None, names: tuple[str, ...] = ()
) -> None:
    """Delete the webhook events still in the delivery log (``WEBHOOKS_RETENTION_DAYS``)
    that carry the person: about their ``conversations`` (the chat, its messages, its
    orders), naming them as customer or author, or holding their e-mail, phone or
    ``names``; with ``business``, only that business's. Their deliveries and attempts
    go with them, so the person's data is neither sent again nor shown in the log.
    Inside the caller's transaction."""
    pk = str(user.pk)
    ids = [str(c) for c in conversations.values_list("pk", flat=True)]
    about = (
        Q(payload__data__conversation_id__in=ids)
        | Q(type__startswith="conversation.", payload__data__id__in=ids)
        | Q(payload__data__customer__id=pk)
        | Q(payload__data__author__id=pk)
    )
    for text in (user.email, user.phone, *names):
        if text and len(text) >= 3:
            # As stored: jsonb keeps the characters; SQLite's JSON text escapes them.
            escaped = json.dumps(text)[1:-1]
            about |= Q(as_text__icontains=text) | Q(as_text__icontains=escaped)
    events = WebhookEvent.objects.all() if business is None else business.webhook_events.all()
    events.annotate(as_text=Cast("payload", TextField())).filter(about).delete()


def _anonymise_contacts(contacts, *, name: str) -> None:
    for contact in contacts:
        ContactNote.objects.filter(contact=contact).delete()
        contact.labels.clear()


def _replace_name(messages, name: str, key: str) -> None:
    """Others' messages stay, but not the person's name in them (an offer's "Hi Ana")."""
    if not name or len(name) < 2:
        return
    parts = {name, *(p for p in name.split() if len(p) >= 3)}
    for message in messages.filter(body__icontains=name.split()[0]).only("pk", "body"):
        body = message.body
        for part in sorted(parts, key=len, reverse=True):
            body = _replace_ci(body, part, pseudonym_from_key(key))
        if body != message.body:
            Message.objects.filter(pk=message.pk).update(body=body)


def pseudonym_from_key(key: str) -> str:
    return f"Deleted user {key}"


def _replace_ci(text: str, old: str, new: str) -> str:
    lower, target = text.lower(), old.lower()
    out, start = [], 0
    while (found := lower.find(target, start)) != -1:
        out.append(text[start:found])
        out.append(new)
        start = found + len(old)
    out.append(text[start:])
    return "".join(out)


def _delete_allauth_rows(user: User) -> None:
    # allauth's e-mail addresses (and their confirmations, by cascade).
    from allauth.account.models import EmailAddress  # a third-party app: only here

    EmailAddress.objects.filter(user=user).delete()


def _delete_sessions(user: User) -> None:
    """Every session signed in as ``user`` (the unusable password already ends them
    at the next request; this removes the rows too)."""
    uid = str(user.pk)
    doomed = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if s.get_decoded().get("_auth_user_id") == uid
    ]
    Session.objects.filter(session_key__in=doomed).delete()


def _delete_export_files(user: User) -> None:
    from privacy.services import exports  # a sibling module that imports this one

    exports.delete_files(PrivacyRequest.objects.filter(subject=user).exclude(file_name=""))


def _detach_cards(cards: list[tuple[str, str]]) -> None:
    """After the commit: delete the saved cards at their gateway (logged, not raised:
    the account is gone either way; the tokens can no longer be used here)."""
    for gateway, token in cards:
        try:
            get_gateway(gateway).detach(token)
        except Exception:  # the network edge: an operator can detach by hand
            logger.exception("could not detach a card of an erased account at %s", gateway)


def erase_contact(*, actor: User, contact: Contact) -> PrivacyRequest:
    """A business's owner or admin erases one contact's data in this business: their
    notes and labels, and the text and images of the messages they wrote in this
    business's chats; orders and ledger rows stay. The caller has authorised
    ``actor`` (``selectors.get_contact_for``). Recorded in the business's audit list.
    Atomic; idempotent in effect."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update(no_key=True).get(pk=contact.pk)
        user = locked.user
        _anonymise_contacts([locked], name=user.display_name)
        conversations = Conversation.objects.filter(contact=locked)
        _remove_messages(Message.objects.filter(conversation__in=conversations, author=user))
        _forget_webhook_events(
            user, conversations=conversations, business=locked.business, names=(user.display_name,)
        )
        return PrivacyRequest.objects.create(
            kind=PrivacyRequest.Kind.CONTACT_ERASURE,
            status=PrivacyRequest.Status.DONE,
            subject=user,
            subject_label=pseudonym_key(user.pk),
            actor=actor,
            business=locked.business,
            progress=100,
            completed_at=timezone.now(),
        )
