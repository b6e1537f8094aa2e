"""A contact's consent to receive offers (broadcasts): given when paying or in the
chat, withdrawn in the chat, by the opt-out link of an offer, or by replying STOP.

Consent lives on :class:`~chats.models.Contact` (the business's view of a customer):
``offers_consent_at`` is set while the customer accepts offers, with where it was
given; withdrawing clears it and records when and how (docs/marketing.md). Both
services lock the contact row, so a broadcast choosing its audience (which locks the
same rows) sees the consent before or after the change, never half of it.

Every change also appends a :class:`~chats.models.ConsentRecord` in the same
transaction (LGPD art. 8's proof): given or withdrawn, by whom, when, from which
screen or keyword, and the words the person was shown (in the language they saw
them) with ``CONSENT_TEXT_VERSION``. Bump the version whenever one of the
``CONSENT_TEXTS`` below or the screens that show them change their meaning.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as translate
from django.utils.translation import gettext_noop

from chats import hooks
from chats.models import ConsentRecord, ConsentSource, Contact
from chats.selectors import not_found
from core import domain_events

CONSENT_TEXT_VERSION = "2026-12"

# The words on the screen where each change is made, keyed by (action, source): the
# same msgids as the pay form's box, the chat's button and the opt-out page.
CONSENT_TEXTS = {
    ("given", ConsentSource.PAYMENT): gettext_noop(
        "Send me this shop's offers in the chat (you can stop them any time)"
    ),
    ("given", ConsentSource.CHAT): gettext_noop("Receive offers from %(name)s"),
    ("withdrawn", ConsentSource.CHAT): gettext_noop("Stop offers from %(name)s"),
    ("withdrawn", ConsentSource.LINK): gettext_noop("Stop offers from %(name)s?"),
}

GRANT_SOURCES = (ConsentSource.PAYMENT, ConsentSource.CHAT)
WITHDRAW_SOURCES = (ConsentSource.CHAT, ConsentSource.LINK, ConsentSource.KEYWORD)


def consent_text(*, action: str, source: str, contact: Contact) -> str:
    """The words shown where this change is made, in the active language."""
    text = CONSENT_TEXTS.get((action, source))
    if text is None:
        return ""
    # Marked with gettext_noop above; translated here (an alias, so that message
    # extraction does not read this variable as a message).
    return translate(text).replace("%(name)s", contact.business.name)


def _record(*, contact: Contact, action: str, source: str, actor, text: str) -> None:
    ConsentRecord.objects.create(
        contact=contact,
        action=action,
        source=source,
        actor=actor if actor is not None and actor.is_authenticated else None,
        text=(text or consent_text(action=action, source=source, contact=contact))[:300],
        text_version=CONSENT_TEXT_VERSION,
    )


def grant_offers_consent(*, customer, contact: Contact, source: str) -> bool:
    """``customer`` agrees to receive offers from ``contact``'s business; returns
    whether that changed anything (already opted in: nothing, the first time and
    place are kept). Only the contact's own customer ("not found" for anyone else).
    Atomic, idempotent."""
    if source not in GRANT_SOURCES:
        raise ValueError(source)
    if not customer.is_authenticated or contact.user_id != customer.pk:
        raise not_found()
    with transaction.atomic():
        locked = Contact.objects.select_for_update(no_key=True).get(pk=contact.pk)
        if locked.offers_consent_at is not None:
            return False
        locked.offers_consent_at = timezone.now()
        locked.offers_consent_source = source
        locked.save(update_fields=["offers_consent_at", "offers_consent_source"])
        _record(
            contact=contact,
            action=ConsentRecord.Action.GIVEN,
            source=source,
            actor=customer,
            text="",
        )
    contact.offers_consent_at = locked.offers_consent_at
    contact.offers_consent_source = source
    return True


def withdraw_offers_consent(*, contact: Contact, source: str, actor=None, text: str = "") -> bool:
    """The contact's customer no longer wants offers; returns whether that changed
    anything. The caller has established who asks (the customer in the chat, a
    signed opt-out link, the customer's own STOP message) and passes them as
    ``actor`` when known, and ``text`` when the words were the customer's own (the
    STOP message); otherwise the screen's words are recorded. Registered handlers
    (``chats.hooks.consent_withdrawn``: marketing cancels the offers not sent yet)
    run in the same transaction. Atomic, idempotent."""
    if source not in WITHDRAW_SOURCES:
        raise ValueError(source)
    with transaction.atomic():
        locked = Contact.objects.select_for_update(no_key=True).get(pk=contact.pk)
        if locked.offers_consent_at is None:
            return False
        locked.offers_consent_at = None
        locked.offers_consent_source = ""
        locked.offers_opt_out_at = timezone.now()
        locked.offers_opt_out_source = source
        locked.save(
            update_fields=[
                "offers_consent_at",
                "offers_consent_source",
                "offers_opt_out_at",
                "offers_opt_out_source",
            ]
        )
        _record(
            contact=contact,
            action=ConsentRecord.Action.WITHDRAWN,
            source=source,
            actor=actor,
            text=text,
        )
        hooks.consent_withdrawn(contact=locked)
        domain_events.emit("contact.opted_out", business_id=locked.business_id, subject=locked)
    contact.offers_consent_at = None
    contact.offers_opt_out_at = locked.offers_opt_out_at
    return True
