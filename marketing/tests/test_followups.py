"""Follow-up rules: each order trigger schedules its follow-ups through the outbox with
the right due time, cancel ends them, templates are validated and rendered, and the
check-in's 1–5 rating is stored once per order."""

import datetime

import pytest
from django.utils import timezone

from chats.models import Message, ScheduledMessage
from chats.services import outbox
from core.errors import AppError
from marketing import services
from marketing.models import FollowUpRule, SatisfactionRating
from payments.models import Order
from payments.services import orders, shipping

pytestmark = pytest.mark.django_db
DAY = 86400
SM = ScheduledMessage.Status


def followups(order):
    return list(
        ScheduledMessage.objects.filter(dedupe_key__startswith=f"order:{order.pk}:followup:")
    )


def rule(owner, business, trigger, days, text="Hi {first_name}, {product} #{order_number}"):
    return services.save_rule(
        actor=owner, business=business, trigger=trigger, delay_days=days, text=text
    )


def test_paid_schedules_the_paid_rules_due_n_days_later(owner, business, shop, customer):
    # given a rule "2 days after paid"
    order, _product = shop
    paid_rule = rule(owner, business, "paid", 2)
    # when the order is paid
    before = timezone.now()
    from payments.tests.factories import card_for, pay

    pay(customer, order, card_for(customer))
    # then one follow-up is scheduled, due 2 days later, its text filled in
    (row,) = followups(order)
    assert row.dedupe_key == f"order:{order.pk}:followup:{paid_rule.pk}"
    assert row.kind == "followup" and row.status == SM.SCHEDULED
    expected = before + datetime.timedelta(days=2)
    assert abs((row.due_at - expected).total_seconds()) < 5
    assert row.body == f"Hi Carla, Bolo #{order.number}"


def test_shipped_and_delivered_schedule_their_rules(owner, business, paid_order, settings):
    # given a shipped rule, the default check-in (delivered + 3 days) and 1-second days
    settings.FOLLOWUP_DAY_SECONDS = 1
    shipped_rule = rule(owner, business, "shipped", 1, "On its way, {first_name}!")
    # when the order ships: only the shipped rule
    shipping.mark_shipped(actor=owner, order=paid_order, carrier="Correios", tracking_code="AA1BR")
    assert [r.dedupe_key.rsplit(":", 1)[1] for r in followups(paid_order)] == [str(shipped_rule.pk)]
    # when it is delivered: the default check-in too, due in 3 "days" (3 s), with a rating
    moment = timezone.now()
    shipping.mark_delivered(actor=owner, order=paid_order)
    default = FollowUpRule.objects.get(business=business, is_default=True)
    row = ScheduledMessage.objects.get(dedupe_key=f"order:{paid_order.pk}:followup:{default.pk}")
    assert 2 <= (row.due_at - moment).total_seconds() <= 5
    assert row.payload["rating"] is True and row.payload["order_id"] == paid_order.pk
    assert "Bolo" in row.body and "Padaria Central" in row.body


def test_inactive_rules_schedule_nothing(owner, business, paid_order):
    default = FollowUpRule.objects.get(business=business, is_default=True)
    services.save_rule(
        actor=owner, business=business, rule=default, trigger="delivered", delay_days=3,
        text=services.rule_text(default), ask_rating=True, is_active=False,
    )  # fmt: skip
    shipping.mark_shipped(actor=owner, order=paid_order, carrier="Correios", tracking_code="AA1BR")
    shipping.mark_delivered(actor=owner, order=paid_order)
    assert followups(paid_order) == []


def _deliver(owner, order):
    shipping.mark_shipped(actor=owner, order=order, carrier="Correios", tracking_code="AA1BR")
    shipping.mark_delivered(actor=owner, order=order)


@pytest.mark.parametrize(
    ("language", "words"),
    [("pt-br", "Toque em uma nota"), ("en", "Tap a rating"), ("", "Toque em uma nota")],
)
def test_the_built_in_check_in_speaks_the_customers_language(
    owner, business, paid_order, customer, language, words
):
    # given a business whose built-in check-in was made in English (a command, an API call)
    from django.utils import translation

    with translation.override("en"):
        services.ensure_default_rule(business)
    type(customer).objects.filter(pk=customer.pk).update(language=language)
    paid_order.customer.language = language
    # when the order is delivered
    _deliver(owner, paid_order)
    # then the check-in is in the customer's language ("" → the site's, Portuguese)
    (row,) = followups(paid_order)
    assert words in row.body


def test_one_check_in_per_order_when_the_merchant_has_a_rating_rule(owner, business, paid_order):
    services.ensure_default_rule(business)
    own = services.save_rule(
        actor=owner, business=business, trigger="delivered", delay_days=5,
        text="Gostou, {first_name}?", ask_rating=True,
    )  # fmt: skip
    _deliver(owner, paid_order)
    (row,) = followups(paid_order)
    assert row.dedupe_key.endswith(f":{own.pk}") and row.payload["rating"] is True


def test_the_built_in_text_stays_translated_until_edited(owner, business):
    services.ensure_default_rule(business)
    default = FollowUpRule.objects.get(business=business, is_default=True)
    assert default.text == ""
    kept = services.save_rule(
        actor=owner, business=business, rule=default, trigger="delivered", delay_days=4,
        text=services.default_rule_text(), ask_rating=True,
    )  # fmt: skip
    assert kept.text == "" and kept.delay_days == 4
    edited = services.save_rule(
        actor=owner, business=business, rule=default, trigger="delivered", delay_days=4,
        text="Nota, {first_name}?", ask_rating=True,
    )  # fmt: skip
    assert edited.text == "Nota, {first_name}?"


def test_canceling_cancels_pending_followups(owner, business, shop):
    # given an unpaid order with a follow-up pending (scheduled by hand, as a rule on
    # "paid" would once paid), then canceled
    order, _product = shop
    r = rule(owner, business, "paid", 1)
    services.schedule_followups(order, "paid")
    assert [row.status for row in followups(order)] == [SM.SCHEDULED]
    orders.cancel_order(actor=owner, order=order)
    # then the follow-up is canceled, not sent
    (row,) = followups(order)
    assert row.status == SM.CANCELED and row.dedupe_key.endswith(f":{r.pk}")
    assert outbox.send_due() == 0


def test_a_full_refund_cancels_pending_followups_and_a_partial_one_does_not(
    owner, business, paid_order
):
    import uuid

    from payments.services import refunds

    rule(owner, business, "paid", 3)
    services.schedule_followups(paid_order, "paid")

    def refund(amount):
        refunds.refund_order(
            actor=owner, order=paid_order, amount=amount, reason="Damaged",
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip

    refund(100)
    assert {row.status for row in followups(paid_order)} == {SM.SCHEDULED}
    refund(paid_order.total - 100)
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"
    assert {row.status for row in followups(paid_order)} == {SM.CANCELED}


def test_followups_are_scheduled_once_per_order_and_rule(owner, business, paid_order):
    services.schedule_followups(paid_order, "delivered")
    services.schedule_followups(paid_order, "delivered")
    assert len(followups(paid_order)) == 1


def test_a_due_followup_is_sent_into_the_chat(owner, business, paid_order, settings):
    settings.FOLLOWUP_DAY_SECONDS = 0
    shipping.mark_shipped(actor=owner, order=paid_order, carrier="Correios", tracking_code="AA1BR")
    shipping.mark_delivered(actor=owner, order=paid_order)
    assert outbox.send_due() == 3  # shipping card, delivery card, check-in
    message = Message.objects.get(conversation=paid_order.conversation, kind="followup")
    assert message.sender.business_id == business.pk


# --- Templates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hi {name}", "unknown_placeholder"),
        ("Hi {first_name.__class__}", "unknown_placeholder"),
        ("Hi {first_name!r}", "unknown_placeholder"),
        ("Hi {first_name:>99999}", "unknown_placeholder"),
        ("Hi {0}", "unknown_placeholder"),
        ("Hi {", "bad_placeholder"),
        ("Hi }", "bad_placeholder"),
        ("<b>Hi</b>", "markup"),
        ("<script>alert(1)</script>", "markup"),
        ("   ", "required"),
        ("x" * 1001, "too_long"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(owner, business, text, code):
    with pytest.raises(AppError) as exc:
        rule(owner, business, "delivered", 3, text)
    assert exc.value.code == code and exc.value.field == "text"
    assert not FollowUpRule.objects.filter(business=business, is_default=False).exists()


def test_unknown_placeholder_names_the_allowed_ones(owner, business):
    with pytest.raises(AppError) as exc:
        rule(owner, business, "delivered", 3, "Hi {nome}")
    assert "{nome}" in str(exc.value.message) and "{first_name}" in str(exc.value.message)


@pytest.mark.parametrize("days", [-1, 91, 10**6, "3", 2.5, None, True])
def test_absurd_delays_are_refused(owner, business, days):
    with pytest.raises(AppError) as exc:
        rule(owner, business, "delivered", days)
    assert exc.value.code == "invalid_delay"


def test_unknown_trigger_and_staff_below_admin_are_refused(owner, business, agent):
    with pytest.raises(AppError) as exc:
        rule(owner, business, "refunded", 3)
    assert exc.value.code == "invalid_trigger"
    with pytest.raises(AppError) as exc:
        rule(agent, business, "delivered", 3)
    assert exc.value.code == "forbidden"


def test_literal_braces_and_preview(business):
    text = services.preview_template(
        business=business, text="{{promo}} {first_name}: {product} from {business} #{order_number}"
    )
    assert text == "{promo} Carla: chocolate cake from Padaria Central #42"


def test_the_default_rule_cannot_be_deleted(owner, business):
    services.ensure_default_rule(business)
    services.ensure_default_rule(business)
    default = FollowUpRule.objects.get(business=business, is_default=True)
    with pytest.raises(AppError) as exc:
        services.delete_rule(actor=owner, rule=default)
    assert exc.value.code == "default_rule"
    assert default.delay_days == 3 and default.trigger == "delivered" and default.ask_rating


# --- Ratings ---------------------------------------------------------------------------


@pytest.fixture
def checkin(owner, paid_order, settings):
    settings.FOLLOWUP_DAY_SECONDS = 0
    shipping.mark_shipped(actor=owner, order=paid_order, carrier="Correios", tracking_code="AA1BR")
    shipping.mark_delivered(actor=owner, order=paid_order)
    outbox.send_due()
    return Message.objects.get(conversation=paid_order.conversation, kind="followup")


def test_the_customer_rates_once(customer, paid_order, checkin):
    rating = services.rate_order(customer=customer, message=checkin, score=5)
    assert rating.order_id == paid_order.pk and rating.score == 5
    with pytest.raises(AppError) as exc:
        services.rate_order(customer=customer, message=checkin, score=1)
    assert exc.value.code == "already_rated"
    assert SatisfactionRating.objects.get(order=paid_order).score == 5


@pytest.mark.parametrize("score", [0, 6, -1, "5", 5.0, None, True])
def test_bad_scores_are_refused(customer, checkin, score):
    with pytest.raises(AppError) as exc:
        services.rate_order(customer=customer, message=checkin, score=score)
    assert exc.value.code == "invalid_score"
    assert not SatisfactionRating.objects.exists()


def test_only_the_orders_customer_rates(owner, outsider, checkin):
    for user in (owner, outsider):
        with pytest.raises(AppError) as exc:
            services.rate_order(customer=user, message=checkin, score=5)
        assert exc.value.status_code == 404
    assert not SatisfactionRating.objects.exists()


def test_a_message_that_is_not_a_checkin_cannot_be_rated(customer, paid_order):
    receipt = Message.objects.get(conversation=paid_order.conversation, kind="payment_receipt")
    with pytest.raises(AppError) as exc:
        services.rate_order(customer=customer, message=receipt, score=5)
    assert exc.value.status_code == 404


def test_order_status_is_untouched_by_followups(paid_order):
    assert Order.objects.get(pk=paid_order.pk).status == Order.Status.PROCESSING
