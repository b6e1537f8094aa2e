"""A contact's consent to receive offers (broadcasts): given when paying or in the
chat, withdrawn in the chat, by the opt-out link of an offer, or by replying STOP.

Consent lives on :class:`~chats.models.Contact` (the business's view of a customer):
``offers_consent_at`` is set while the customer accepts offers, with where it was
given; withdrawing clears it and records when and how (docs/marketing.md). Both
services lock the contact row, so a broadcast choosing its audience (which locks the
same rows) sees the consent before or after the change, never half of it.
"""

from django.db import transaction
from django.utils import timezone

from chats import hooks
from chats.models import ConsentSource, Contact
from chats.selectors import not_found
from core import domain_events

GRANT_SOURCES = (ConsentSource.PAYMENT, ConsentSource.CHAT)
WITHDRAW_SOURCES = (ConsentSource.CHAT, ConsentSource.LINK, ConsentSource.KEYWORD)


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
    contact.offers_consent_at = locked.offers_consent_at
    contact.offers_consent_source = source
    return True


def withdraw_offers_consent(*, contact: Contact, source: str) -> bool:
    """The contact's customer no longer wants offers; returns whether that changed
    anything. The caller has established who asks (the customer in the chat, a
    signed opt-out link, the customer's own STOP message). Registered handlers
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
        hooks.consent_withdrawn(contact=locked)
        domain_events.emit("contact.opted_out", business_id=locked.business_id, subject=locked)
    contact.offers_consent_at = None
    contact.offers_opt_out_at = locked.offers_opt_out_at
    return True
