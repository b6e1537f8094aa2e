"""Every write of the marketing app: follow-up rules, check-ins and their ratings,
broadcasts, opt-outs (docs/marketing.md).

Follow-ups and offers are outbox rows (``chats.services.outbox``); this module decides what
to schedule, when, and what to cancel. The handlers at the bottom are registered in
``MarketingConfig.ready`` into the lower apps' hooks (``payments.hooks``,
``chats.hooks``) and run inside those apps' transactions.
"""

import datetime
import logging
import string
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from accounts.services import require_role
from accounts.validators import validate_no_markup
from catalog.models import Product
from catalog.selectors import active_products
from chats import events
from chats.models import ConsentSource, Contact, Conversation, Label, Message, ScheduledMessage
from chats.services.consent import withdraw_offers_consent
from chats.services.messages import post_message
from chats.services.outbox import cancel_scheduled, clean_send_time, schedule_message, send_batch
from chats.services.outbox_bulk import Row, schedule_many
from core import domain_events
from core.errors import AppError
from core.events import enqueue_on_commit
from core.ids import MAX_ID
from marketing import hooks
from marketing.models import (
    MAX_DELAY_DAYS,
    MAX_TEMPLATE,
    Broadcast,
    FollowUpRule,
    SatisfactionRating,
)
from payments.models import Order

logger = logging.getLogger(__name__)
ROLE = Membership.Role
TRIGGER = FollowUpRule.Trigger
AUDIENCE = Broadcast.Audience
ORDER = Order.Status
RULE_PLACEHOLDERS = ("first_name", "product", "order_number", "business")
BROADCAST_PLACEHOLDERS = ("first_name", "business")
MAX_RULES = 20
MAX_OFFER_PRODUCTS = 10
MAX_SEND_AHEAD = datetime.timedelta(days=90)
# The order moves that start each trigger's follow-ups, and those that end them all.
TRIGGERS = {ORDER.PROCESSING: TRIGGER.PAID, ORDER.SHIPPED: TRIGGER.SHIPPED}
TRIGGERS[ORDER.COMPLETED] = TRIGGER.DELIVERED
# A fully refunded order ends like a canceled one; a partial refund keeps them.
ENDING = {ORDER.CANCELED, ORDER.EXPIRED, ORDER.REFUNDED}
STOP_WORDS = {"stop", "sair", "parar"}
OPTOUT_SALT = "marketing.optout"


def followup_prefix(order_id: int) -> str:
    return f"order:{order_id}:followup:"


# --- Templates --------------------------------------------------------------------------


def clean_template(text: Any, *, allowed: Sequence[str] = RULE_PLACEHOLDERS) -> str:
    """A message template: plain text up to ``MAX_TEMPLATE`` characters whose only
    ``{…}`` are the ``allowed`` placeholders (``{{``/``}}`` for a literal brace).
    Raises AppError (field ``text``) saying what is wrong."""
    text = str(text or "").replace("\x00", "").strip() if isinstance(text, str | None) else ""
    if not text:
        raise AppError(_("Write the message."), code="required", field="text")
    if len(text) > MAX_TEMPLATE:
        raise AppError(
            _("The message can have at most %(max)d characters.") % {"max": MAX_TEMPLATE},
            code="too_long",
            field="text",
        )
    try:
        validate_no_markup(text)
    except ValidationError as exc:
        raise AppError(exc.messages[0], code="markup", field="text") from None
    names = ", ".join(f"{{{name}}}" for name in allowed)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise AppError(
            _("A brace must open or close a placeholder (%(names)s); double it to write a brace.")
            % {"names": names},
            code="bad_placeholder",
            field="text",
        ) from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            raise AppError(
                _("Unknown placeholder {%(name)s}. You can use %(names)s.")
                % {"name": name + (f"!{conversion}" if conversion else "")
                   + (f":{spec}" if spec else ""), "names": names},
                code="unknown_placeholder",
                field="text",
            )  # fmt: skip
    return text


def render_template(text: str, values: dict[str, Any]) -> str:
    """``text`` (already cleaned) with its placeholders filled in; plain text."""
    return string.Formatter().vformat(text, (), values)


def first_name(user: User) -> str:
    name = (user.display_name or "").strip()
    return name.split()[0] if name else user.email.split("@")[0]


def sample_values(business: Business) -> dict[str, Any]:
    """What a preview fills the placeholders with."""
    product = active_products(business=business).order_by("position").first()
    return {
        "first_name": _("Carla"),
        "product": product.name if product else _("chocolate cake"),
        "order_number": 42,
        "business": business.name,
    }


def preview_template(*, business: Business, text: Any, allowed=RULE_PLACEHOLDERS) -> str:
    """The text as a customer would read it, with sample values; AppError if invalid."""
    return render_template(clean_template(text, allowed=allowed), sample_values(business))


# --- Follow-up rules ----------------------------------------------------------------------


def default_rule_text() -> str:
    return _(
        "Hi {first_name}! How is the {product} working out for you? "
        "Tap a rating from 1 to 5 to tell {business}."
    )


def rule_text(rule: FollowUpRule, language: str | None = None) -> str:
    """The rule's message template. The built-in check-in keeps no text of its own until
    the merchant edits it (``text`` empty): then it is :func:`default_rule_text` in
    ``language`` (the customer's, when scheduling; the active one when omitted), so it
    speaks each customer's language."""
    if rule.text:
        return rule.text
    with translation.override(language or translation.get_language()):
        return default_rule_text()


def ensure_default_rule(business: Business) -> None:
    """The business's built-in check-in (3 days after delivery, with a rating, its text
    in each customer's language: :func:`rule_text`), created the first time it is
    needed. Idempotent (one default per business, a constraint)."""
    if FollowUpRule.objects.filter(business=business, is_default=True).exists():
        return
    try:
        with transaction.atomic():
            FollowUpRule.objects.create(
                business=business,
                trigger=TRIGGER.DELIVERED,
                delay_days=3,
                text="",
                ask_rating=True,
                is_default=True,
            )
    except IntegrityError:  # created meanwhile
        pass


def _clean_rule(trigger: Any, delay_days: Any) -> tuple[str, int]:
    if trigger not in TRIGGER.values:
        raise AppError(
            _("Choose when the message is sent."), code="invalid_trigger", field="trigger"
        )
    if type(delay_days) is not int or not 0 <= delay_days <= MAX_DELAY_DAYS:
        raise AppError(
            _("The delay is a whole number of days from 0 to %(max)d.") % {"max": MAX_DELAY_DAYS},
            code="invalid_delay",
            field="delay_days",
        )
    return trigger, delay_days


def save_rule(
    *,
    actor: User,
    business: Business,
    rule: FollowUpRule | None = None,
    trigger: str,
    delay_days: int,
    text: str,
    ask_rating: bool = False,
    is_active: bool = True,
) -> FollowUpRule:
    """Create a follow-up rule (``rule`` None) or change one of ``business``'s. Admins and
    owners. Orders already past the trigger keep what was scheduled for them."""
    require_role(actor, business, ROLE.ADMIN)
    if rule is not None and rule.business_id != business.pk:
        raise AppError(_("Rule not found."), code="not_found", status_code=404)
    trigger, delay_days = _clean_rule(trigger, delay_days)
    text = clean_template(text)
    if rule is not None and rule.is_default and text == default_rule_text():
        text = ""  # the built-in text, unchanged: it stays in each customer's language
    with transaction.atomic():
        Business.objects.select_for_update(no_key=True).get(pk=business.pk)
        if rule is None:
            if FollowUpRule.objects.filter(business=business).count() >= MAX_RULES:
                raise AppError(
                    _("A business can have at most %(max)d follow-up rules.") % {"max": MAX_RULES},
                    code="too_many_rules",
                )
            rule = FollowUpRule(business=business)
        rule.trigger, rule.delay_days, rule.text = trigger, delay_days, text
        rule.ask_rating, rule.is_active = bool(ask_rating), bool(is_active)
        rule.save()
    return rule


def delete_rule(*, actor: User, rule: FollowUpRule) -> None:
    """Delete a rule (not the built-in check-in: turn that one off). Admins and owners.
    Follow-ups it already scheduled are still sent."""
    require_role(actor, rule.business, ROLE.ADMIN)
    if rule.is_default:
        raise AppError(
            _("The built-in check-in cannot be deleted; turn it off instead."),
            code="default_rule",
        )
    rule.delete()


def schedule_followups(order: Order, trigger: str) -> list[ScheduledMessage]:
    """Schedule ``order``'s follow-ups of ``trigger`` through the outbox (dedupe
    ``order:<id>:followup:<rule id>``), each due ``delay_days`` × ``FOLLOWUP_DAY_SECONDS``
    from now, its text rendered now. Call it in the order's transaction."""
    # One read for all: the business's default rule (made the first time), the active
    # rules of this trigger, and any active rule that asks for a rating.
    wanted = FollowUpRule.objects.filter(
        Q(is_default=True)
        | Q(is_active=True, trigger=trigger)
        | Q(is_active=True, ask_rating=True),
        business_id=order.business_id,
    )
    found = list(wanted)
    if not any(rule.is_default for rule in found):
        ensure_default_rule(order.business)
        found = list(wanted.all())
    # One check-in per order: the built-in one stands aside while the merchant has a
    # rating rule of their own.
    own_rating = any(r.ask_rating and r.is_active and not r.is_default for r in found)
    rules = [
        rule
        for rule in found
        if rule.trigger == trigger and rule.is_active and not (rule.is_default and own_rating)
    ]
    if not rules:
        return []
    items = list(order.items.order_by("position").values_list("name", flat=True))
    product = items[0] if len(items) == 1 else ", ".join(items[:3]) if items else ""
    values = {
        "first_name": first_name(order.customer),
        "product": product,
        "order_number": order.number,
        "business": order.business.name,
    }
    moment = timezone.now()
    rows = []
    for rule in rules:
        due = moment + datetime.timedelta(seconds=rule.delay_days * settings.FOLLOWUP_DAY_SECONDS)
        row, _created = schedule_message(
            conversation=order.conversation,
            kind="followup",
            dedupe_key=f"{followup_prefix(order.pk)}{rule.pk}",
            due_at=due,
            body=render_template(
                rule_text(rule, order.customer.language or settings.LANGUAGE_CODE), values
            ),
            payload={
                "order_id": order.pk,
                "business_id": order.business_id,
                "rule_id": rule.pk,
                "number": order.number,
                "rating": rule.ask_rating,
            },
        )
        rows.append(row)
    return rows


def handle_order_status(*, order: Order, from_status: str, to_status: str, data: dict) -> None:
    """``payments.hooks`` handler: schedule the follow-ups an order's move starts, or
    cancel the pending ones when it ends (canceled, expired, refunded). Runs inside
    ``transition_order``'s transaction, the order row locked."""
    if to_status in ENDING:
        cancel_scheduled(prefix=followup_prefix(order.pk))
    elif to_status in TRIGGERS:
        schedule_followups(order, TRIGGERS[to_status])


# --- Ratings -------------------------------------------------------------------------------


def rate_order(*, customer: User, message: Message, score: Any) -> SatisfactionRating:
    """The customer rates the order of a check-in card (``followup`` with a rating) 1–5.

    Once per order: a second tap (any score) is refused with "already rated" and the
    first rating stands. Only the order's customer, in their conversation ("not found"
    for anyone else). Re-renders the card live on both sides after the commit."""
    not_found = AppError(_("Message not found."), code="not_found", status_code=404)
    if not customer.is_authenticated or message.kind != "followup":
        raise not_found
    order_id = message.payload.get("order_id")
    if type(order_id) is not int or not message.payload.get("rating"):
        raise not_found
    order = Order.objects.filter(
        pk=order_id, conversation_id=message.conversation_id, customer=customer
    ).first()
    if order is None:
        raise not_found
    if type(score) is not int or not 1 <= score <= 5:
        raise AppError(_("Choose a rating from 1 to 5."), code="invalid_score", field="score")
    try:
        with transaction.atomic():
            rating = SatisfactionRating.objects.create(
                order=order, business_id=order.business_id, customer=customer, score=score
            )
            refreshed = Message.objects.select_related("sender", "conversation").get(pk=message.pk)
            events.push_message_update(refreshed.conversation, refreshed)
            domain_events.emit("rating.submitted", business_id=order.business_id, subject=rating)
    except IntegrityError:
        raise AppError(
            _("You have already rated this order."), code="already_rated", status_code=409
        ) from None
    return rating


# --- Broadcasts --------------------------------------------------------------------------------


def _clean_send_at(send_at: Any, moment: datetime.datetime) -> datetime.datetime:
    return clean_send_time(
        send_at,
        moment=moment,
        field="send_at",
        earliest=moment - datetime.timedelta(minutes=5),
        latest=moment + MAX_SEND_AHEAD,
        out_of_range=_("Choose a time from now up to %(days)d days ahead.")
        % {"days": MAX_SEND_AHEAD.days},
    )


def _id(value: Any, field: str, message: str) -> int:
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise AppError(message, code="not_found", field=field)
    return value


def audience_contacts(
    *,
    business: Business,
    audience: str,
    label: Label | None = None,
    product: Product | None = None,
    before: datetime.date | None = None,
):
    """The contacts of ``business`` an offer may go to: opted in, not blocked, with a
    conversation, narrowed by ``audience``. A queryset, ordered by id."""
    contacts = Contact.objects.filter(
        business=business,
        offers_consent_at__isnull=False,
        blocked_at__isnull=True,
        conversation__isnull=False,
    )
    paid = Order.objects.filter(business=business, paid_at__isnull=False)
    if audience == AUDIENCE.LABEL:
        contacts = contacts.filter(labels=label)
    elif audience == AUDIENCE.PRODUCT:
        buyers = paid.filter(items__product=product).values("customer_id")
        contacts = contacts.filter(user_id__in=buyers)
    elif audience == AUDIENCE.LAPSED:
        cutoff = datetime.datetime.combine(before, datetime.time.min, tzinfo=datetime.UTC)
        recent = paid.filter(paid_at__gte=cutoff).values("customer_id")
        contacts = contacts.filter(user_id__in=paid.values("customer_id")).exclude(
            user_id__in=recent
        )
    return contacts.order_by("pk")


def create_broadcast(
    *,
    actor: User,
    business: Business,
    text: str,
    audience: str,
    label_id: int | None = None,
    product_id: int | None = None,
    before: datetime.date | None = None,
    send_at: datetime.datetime | None = None,
    product_ids: Sequence[int] = (),
) -> Broadcast:
    """Create a broadcast and schedule its messages through the outbox: one ``offer``
    per chosen contact (dedupe ``broadcast:<id>:contact:<id>``: at most once each), due
    from ``send_at`` one after another at ``BROADCAST_MESSAGES_PER_SECOND`` (the
    throttle). Only contacts who accept offers are chosen, at this moment; their rows
    are locked while choosing, so a consent withdrawn meanwhile is seen before or
    after (then canceling the row), never missed. An audience of nobody is refused
    (``no_recipients``). Admins and owners. Atomic."""
    require_role(actor, business, ROLE.ADMIN)
    moment = timezone.now()
    text = clean_template(text, allowed=BROADCAST_PLACEHOLDERS)
    if audience not in AUDIENCE.values:
        raise AppError(_("Choose an audience."), code="invalid_audience", field="audience")
    label = product = None
    if audience == AUDIENCE.LABEL:
        _id(label_id, "label", _("Choose a label."))
        label = Label.objects.filter(pk=label_id, business=business).first()
        if label is None:
            raise AppError(_("Choose a label."), code="not_found", field="label")
    elif audience == AUDIENCE.PRODUCT:
        _id(product_id, "product", _("Choose a product."))
        product = Product.objects.filter(pk=product_id, business=business).first()
        if product is None:
            raise AppError(_("Choose a product."), code="not_found", field="product")
    elif audience == AUDIENCE.LAPSED:
        if not isinstance(before, datetime.date) or isinstance(before, datetime.datetime):
            raise AppError(_("Choose a date."), code="invalid_date", field="before")
        if before > moment.date() or before.year < 2000:
            raise AppError(_("Choose a date in the past."), code="invalid_date", field="before")
    send_at = _clean_send_at(send_at, moment)
    if not isinstance(product_ids, list | tuple) or len(product_ids) > MAX_OFFER_PRODUCTS:
        raise AppError(
            _("An offer can show at most %(max)d products.") % {"max": MAX_OFFER_PRODUCTS},
            code="too_many_products",
            field="product_ids",
        )
    wanted = [_id(pk, "product_ids", _("Product not found.")) for pk in product_ids]
    wanted = list(dict.fromkeys(wanted))
    if active_products(business=business).filter(pk__in=wanted).count() != len(wanted):
        raise AppError(_("Product not found."), code="not_found", field="product_ids")
    rate = max(float(settings.BROADCAST_MESSAGES_PER_SECOND), 0.001)
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            business=business, text=text, product_ids=wanted, audience=audience, label=label,
            product=product, before=before, send_at=send_at, created_by=actor,
        )  # fmt: skip
        contacts = list(
            audience_contacts(
                business=business, audience=audience, label=label, product=product, before=before
            )
            .select_for_update(no_key=True, of=("self",))
            .values_list("pk", "conversation__id", "user__display_name", "user__email")
        )
        rows = []
        for i, (contact_id, conversation_id, name, email) in enumerate(contacts):
            given = (name or "").strip()
            values = {
                "first_name": given.split()[0] if given else email.split("@")[0],
                "business": business.name,
            }
            rows.append(
                Row(
                    conversation_id=conversation_id,
                    dedupe_key=f"{broadcast.key_prefix}contact:{contact_id}",
                    due_at=send_at + datetime.timedelta(seconds=i / rate),
                    body=render_template(text, values),
                    payload={
                        "broadcast_id": broadcast.pk,
                        "business_id": business.pk,
                        "contact_id": contact_id,
                        "sections": [{"title": "", "product_ids": wanted}] if wanted else [],
                    },
                )
            )
        if not rows:  # rolls the broadcast back: nothing is created
            raise AppError(
                _(
                    "Nobody would receive this offer: no contact in this audience has "
                    "agreed to receive offers."
                ),
                code="no_recipients",
                field="audience",
            )
        schedule_many(kind="offer", rows=rows, dispatch=False)
        broadcast.recipients = len(rows)
        broadcast.save(update_fields=["recipients"])
        hooks.broadcast_created(broadcast=broadcast)
        if send_at - moment <= datetime.timedelta(seconds=60):
            for _i in range(max(1, settings.OUTBOX_BULK_DISPATCHERS)):
                enqueue_on_commit(
                    "marketing.tasks.send_broadcast",
                    broadcast.pk,
                    countdown=max(0.0, (send_at - moment).total_seconds()) or None,
                )
    return broadcast


def cancel_broadcast(*, actor: User, broadcast: Broadcast) -> Broadcast:
    """Cancel a broadcast: its offers not sent yet (scheduled, or failed and waiting
    for a retry) are canceled — they count as *skipped* — and its senders stop finding
    any. An offer being sent right now is waited for (its row lock) and stays sent.
    Canceling a canceled broadcast again changes nothing; one with nothing left to
    send is refused (409 ``broadcast_sent``). Admins and owners. Atomic."""
    require_role(actor, broadcast.business, ROLE.ADMIN)
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update(no_key=True).get(pk=broadcast.pk)
        if locked.canceled_at is not None:
            return locked
        if not cancel_scheduled(prefix=locked.key_prefix):
            raise AppError(
                _("This broadcast has been sent already: there is nothing left to cancel."),
                code="broadcast_sent",
                status_code=409,
            )
        moment = timezone.now()
        locked.canceled_at, locked.canceled_by = moment, actor
        locked.finished_at = locked.finished_at or moment
        locked.save(update_fields=["canceled_at", "canceled_by", "finished_at"])
    return locked


def send_broadcast_batch(
    *, broadcast_id: int, limit: int | None = None
) -> tuple[int, datetime.datetime | None]:
    """Send up to ``limit`` (``BROADCAST_BATCH``) of the broadcast's due offers in ONE
    transaction; returns ``(claimed, due time of the next one waiting or None)``.

    The outbox's own batch (``chats.services.outbox.send_batch``) over the broadcast's rows:
    the same claim (``skip_locked``: several workers, and the beat's dispatcher, share
    the rows; a row is sent once), the messages appended together, a failure recorded
    on its row, the socket events sent after the commit in one event loop."""
    prefix = f"broadcast:{broadcast_id}:"
    waiting = ScheduledMessage.objects.filter(
        dedupe_key__startswith=prefix, kind="offer", status=ScheduledMessage.Status.SCHEDULED
    )
    rows = send_batch(waiting, limit=limit or settings.BROADCAST_BATCH)
    next_due = waiting.order_by("due_at").values_list("due_at", flat=True).first()
    if next_due is None:
        Broadcast.objects.filter(pk=broadcast_id, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
    return len(rows), next_due


# --- Consent and opt-out ---------------------------------------------------------------------


def optout_token(contact_id: int) -> str:
    return signing.dumps(contact_id, salt=OPTOUT_SALT, compress=True)


def contact_for_token(token: Any) -> Contact:
    """The contact an opt-out link names; "not found" for a forged or broken token."""
    not_found = AppError(_("This link is not valid."), code="not_found", status_code=404)
    if not isinstance(token, str) or len(token) > 200:
        raise not_found
    try:
        contact_id = signing.loads(token, salt=OPTOUT_SALT)
    except signing.BadSignature:
        raise not_found from None
    contact = Contact.objects.select_related("business").filter(pk=contact_id).first()
    if type(contact_id) is not int or contact is None:
        raise not_found
    return contact


def opt_out_by_link(*, token: str) -> Contact:
    """The one-click opt-out of an offer's link (no login: the signed token is the
    proof). Idempotent; returns the contact."""
    contact = contact_for_token(token)
    withdraw_offers_consent(contact=contact, source=ConsentSource.LINK)
    return contact


def is_stop_word(body: str) -> bool:
    """Whether a whole message is STOP / SAIR / PARAR, in any case, with or without
    accents and surrounding spaces or a final "." or "!"."""
    text = unicodedata.normalize("NFKD", body or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).strip().rstrip(".!").strip()
    return text.casefold() in STOP_WORDS


def handle_customer_text(*, conversation: Conversation, message: Message) -> None:
    """``chats.hooks`` handler: a customer's whole message STOP / SAIR / PARAR opts them
    out of offers, confirmed by a system note in the chat (in their language). Inside
    the message's transaction, the conversation locked."""
    if conversation.contact_id is None or not is_stop_word(message.body):
        return
    contact = Contact.objects.select_related("user", "business").get(pk=conversation.contact_id)
    withdraw_offers_consent(
        contact=contact, source=ConsentSource.KEYWORD, actor=contact.user, text=message.body
    )
    with translation.override(contact.user.language or settings.LANGUAGE_CODE):
        note = _(
            "You will no longer receive offers from %(business)s. You can still chat and "
            "buy as before."
        ) % {"business": contact.business.name}
    post_message(conversation=conversation, sender=None, kind="system", body=note)


def handle_consent_withdrawn(*, contact: Contact) -> None:
    """``chats.hooks`` handler: the offers not sent yet to this contact are canceled (they
    show as "skipped" in their broadcast's progress). Exact keys, not a prefix:
    ``…contact:1`` must not take ``…contact:12``."""
    status = ScheduledMessage.Status
    # Failed ones too: an operator's retry must not send an offer after an opt-out.
    pending = ScheduledMessage.objects.filter(
        Q(dedupe_key__endswith=f":contact:{contact.pk}"),
        conversation__contact=contact,
        kind="offer",
        status__in=[status.SCHEDULED, status.FAILED],
    )
    # Not the rows an outbox worker holds: they are being sent right now, and the
    # worker may be waiting for the conversation that a STOP holds here (waiting for
    # each other: a deadlock). Sent, they went out before the opt-out; not sent, the
    # outbox cancels them when it tries again (the offer kind's ``still_wanted``).
    free = pending.select_for_update(no_key=True, skip_locked=True, of=("self",))
    ScheduledMessage.objects.filter(pk__in=list(free.values_list("pk", flat=True))).update(
        status=status.CANCELED
    )
