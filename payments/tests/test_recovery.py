"""Recovery (docs/payments.md, "Recovery"): a payment, refund or payout whose process
died between the gateway or bank call and its settlement is settled later — by the
beat job or by the customer's retry with the same key — exactly once."""

import datetime
import uuid

import pytest
from django.utils import timezone

from chats.models import Message
from core.errors import AppError
from payments import tasks
from payments.gateway import get_gateway
from payments.models import LedgerTransaction, MoneyRequest, Order, Payment, Payout, Refund
from payments.payout_bank import SandboxBank
from payments.services import ledger, p2p, paying, payouts, reconciliation, recovery, refunds
from payments.tests.factories import PIN, card_for, pay
from payments.tests.payout_factories import add_pix, credit_wallet

pytestmark = pytest.mark.django_db

DEBIT = "4000056655665556"
THREE_DS = "4000002760003184"


class Killed(BaseException):
    """The process died here (``kill -9``): nothing after this point runs."""


def _die(*args, **kwargs):
    raise Killed


def _killed_before_settling(monkeypatch, module, call):
    """Run ``call`` with ``module._settle`` dying: the claim and the gateway call
    happen, the settlement never does. Returns the attempt's pending payment."""
    with monkeypatch.context() as patched:
        patched.setattr(module, "_settle", _die)
        with pytest.raises(Killed):
            call()


def _after(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


def _stranded_order_payment(monkeypatch, customer, order, card) -> Payment:
    key = uuid.uuid4().hex
    _killed_before_settling(monkeypatch, paying, lambda: pay(customer, order, card, key=key))
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.PENDING and not payment.gateway_reference
    return payment


def test_a_charge_whose_settlement_died_is_settled_once_by_the_beat(
    monkeypatch, settings, shop, customer
):
    # given: the gateway charged Carla, and the process died before settling
    order, _product = shop
    card = card_for(customer)
    payment = _stranded_order_payment(monkeypatch, customer, order, card)
    charge = get_gateway("sandbox").find_charge(idempotency_key=payment.idempotency_key)
    assert charge is not None and charge.status == "succeeded"

    # when: the beat runs within the grace period, then after it (twice)
    assert recovery.recover_payments(now=_after(settings.PAYMENT_RECOVERY_GRACE - 5)) == 0
    later = _after(settings.PAYMENT_RECOVERY_GRACE + 1)
    assert recovery.recover_payments(now=later) == 1
    assert recovery.recover_payments(now=later + recovery.LEASE) == 0

    # then: paid once — one posting, one receipt, the gateway's charge recorded
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.gateway_reference == charge.reference
    assert order.status == Order.Status.PROCESSING
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1
    assert (
        Message.objects.filter(kind="payment_receipt", payload__payment_id=payment.pk).count() == 1
    )
    assert reconciliation.run_reconciliation(now=later).discrepancy_count == 0


def test_the_customer_s_retry_with_the_same_key_recovers_the_first_attempt(
    monkeypatch, shop, customer
):
    # given: the first request charged and died before settling
    order, _product = shop
    card = card_for(customer)
    payment = _stranded_order_payment(monkeypatch, customer, order, card)

    # when: the customer submits the same attempt again (at once: no grace needed)
    again = pay(customer, order, card, key=payment.idempotency_key)

    # then: the first charge is found and settled; nothing charged twice
    assert again.pk == payment.pk and again.status == Payment.Status.SUCCEEDED
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_resuming_an_attempt_whose_process_died_finds_its_charge(monkeypatch, shop, customer):
    # given: the first request charged and died before recording anything
    order, _product = shop
    payment = _stranded_order_payment(monkeypatch, customer, order, card_for(customer))

    # when: the customer comes back to the payment's return page
    resumed = paying.resume_payment(payer=customer, payment=payment)

    # then: settled from the charge found by key (not "charge_unknown")
    assert resumed.status == Payment.Status.SUCCEEDED and resumed.gateway_reference
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1


def test_an_attempt_never_charged_is_failed_after_the_abandon_delay_and_frees_the_order(
    monkeypatch, settings, shop, customer
):
    # given: the process died after the claim, before the gateway was called
    order, _product = shop
    card = card_for(customer)
    key = uuid.uuid4().hex
    with monkeypatch.context() as patched:
        patched.setattr(type(get_gateway("sandbox")), "charge", _die)
        with pytest.raises(Killed):
            pay(customer, order, card, key=key)
    payment = Payment.objects.get(idempotency_key=key)

    # when: past the grace period but within the abandon delay, nothing is decided
    soon = _after(settings.PAYMENT_RECOVERY_GRACE + 1)
    assert recovery.recover_payments(now=soon) == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    # ... and a retry with the same key is told to wait, not charged
    with pytest.raises(AppError) as waiting:
        pay(customer, order, card, key=key)
    assert waiting.value.code == "payment_in_progress" and waiting.value.status_code == 503

    # when: past the abandon delay
    assert recovery.recover_payments(now=_after(settings.PAYMENT_RECOVERY_ABANDON_AFTER + 1)) == 1

    # then: failed with a clear reason, the order free to be paid with a new attempt
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_code == recovery.NOT_CHARGED and payment.failure_message
    assert pay(customer, order, card).status == Payment.Status.SUCCEEDED
    assert get_gateway("sandbox").find_charge(idempotency_key=key) is None


def test_a_charge_arriving_after_its_attempt_was_abandoned_is_refunded(
    monkeypatch, settings, shop, customer
):
    # given: a gateway so slow that recovery gives the attempt up before it answers
    from django.core.cache import cache

    from payments.gateway.sandbox import SandboxGateway, _key

    order, _product = shop
    card = card_for(customer)
    real_charge = SandboxGateway.charge

    def slow_charge(self, **kwargs):
        recovery.recover_payments(now=_after(settings.PAYMENT_RECOVERY_ABANDON_AFTER + 1))
        return real_charge(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "charge", slow_charge)
    key = uuid.uuid4().hex

    # when: the charge succeeds after all
    with pytest.raises(AppError) as failed:
        pay(customer, order, card, key=key)

    # then: the attempt stays failed, nothing is posted, and the charge is given back
    assert failed.value.code == recovery.NOT_CHARGED
    payment = Payment.objects.get(idempotency_key=key)
    charge = get_gateway("sandbox").find_charge(idempotency_key=key)
    assert charge.status == "succeeded"
    assert cache.get(_key("refunded", charge.reference)) == payment.amount
    assert not LedgerTransaction.objects.filter(payment=payment).exists()


def test_a_3ds_challenge_is_recorded_then_given_up_after_its_timeout(
    monkeypatch, settings, shop, customer
):
    # given: a 3-D Secure charge whose process died before recording the challenge
    order, _product = shop
    card = card_for(customer, THREE_DS)
    payment = _stranded_order_payment(monkeypatch, customer, order, card)

    # when: the beat runs after the grace period
    recovery.recover_payments(now=_after(settings.PAYMENT_RECOVERY_GRACE + 1))

    # then: still pending, with the challenge recorded so the customer can answer it
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and payment.gateway_reference
    assert paying.action_url(payment)

    # when: the customer never answers, past the challenge's timeout
    recovery.recover_payments(now=_after(settings.PAYMENT_ACTION_TIMEOUT + 1))

    # then: failed as unauthenticated, the order free again
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "authentication_failed")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_a_recovery_in_progress_is_not_run_twice(monkeypatch, settings, shop, customer):
    # given: a stranded payment that one recovery has claimed
    order, _product = shop
    payment = _stranded_order_payment(monkeypatch, customer, order, card_for(customer))
    now = _after(settings.PAYMENT_RECOVERY_GRACE + 1)
    assert recovery._claim(payment, now)
    asked = []
    monkeypatch.setattr(
        type(get_gateway("sandbox")), "find_charge", lambda *a, **k: asked.append(1)
    )

    # when: the beat and a direct recovery run during its lease
    settled = recovery.recover_payments(now=now)
    recovered = recovery.recover_payment(payment=payment, now=now)

    # then: neither asks the gateway
    assert settled == 0 and recovered.status == Payment.Status.PENDING and asked == []


def test_a_p2p_send_whose_settlement_died_is_settled_by_the_beat(monkeypatch, settings, customer):
    from accounts.tests.factories import UserFactory
    from chats.services import conversations

    # given: Bia asked Carla for 20.00; Carla paid, the process died before settling
    friend = UserFactory(email="bia@example.com", display_name="Bia")
    direct, _created = conversations.start_direct_conversation(user=customer, peer=friend)
    asked = p2p.request_money(requester=friend, conversation=direct, amount=2000, currency="BRL")
    debit = card_for(customer, DEBIT)
    key = uuid.uuid4().hex
    _killed_before_settling(
        monkeypatch,
        p2p,
        lambda: p2p.pay_money_request(
            payer=customer,
            money_request=asked,
            card=debit,
            confirmation="pin",
            idempotency_key=key,
            pin=PIN,
        ),
    )

    # when: the beat runs after the grace period
    assert recovery.recover_payments(now=_after(settings.PAYMENT_RECOVERY_GRACE + 1)) == 1

    # then: Bia is paid once and the request is closed
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.SUCCEEDED
    assert ledger.wallet_account(friend, "BRL").balance == 2000
    asked.refresh_from_db()
    assert asked.status == MoneyRequest.Status.PAID
    assert Message.objects.filter(kind="p2p_payment", conversation=direct).count() == 1


def test_a_refund_whose_settlement_died_is_settled_by_the_retry_job(
    monkeypatch, shop, customer, owner
):
    # given: a paid order; the refund reached the gateway and its process died
    order, _product = shop
    pay(customer, order, card_for(customer))
    key = uuid.uuid4().hex
    _killed_before_settling(
        monkeypatch,
        refunds,
        lambda: refunds.refund_order(
            actor=owner, order=order, amount=1000, reason="Late", idempotency_key=key
        ),
    )
    refund = Refund.objects.get(idempotency_key=key)
    assert refund.status == Refund.Status.PENDING

    # when: the retry job runs (twice) after its delay
    later = timezone.now() + refunds.RETRY_AFTER + datetime.timedelta(seconds=1)
    assert refunds.retry_pending_refunds(now=later) == 1
    assert refunds.retry_pending_refunds(now=later) == 0

    # then: refunded once
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.gateway_reference
    assert Message.objects.filter(kind="refund", payload__refund_id=refund.pk).count() == 1
    assert LedgerTransaction.objects.filter(refund=refund).count() == 1


def test_the_recovery_job_settles_lost_payouts_past_one_the_bank_cannot_answer(
    monkeypatch, customer, friend_with_wallet
):
    # given: two withdrawals whose confirmation tasks were lost; the bank fails on the
    # first one's transfer (down for it), answers for the second
    first = payouts.request_withdrawal(
        user=customer, destination=_wallet_pix(customer), amount=2000, idempotency_key="a", pin=PIN
    )
    second = payouts.request_withdrawal(
        user=friend_with_wallet, destination=_wallet_pix(friend_with_wallet), amount=2000,
        idempotency_key="b", pin=PIN,
    )  # fmt: skip
    real_transfer = SandboxBank.transfer

    def transfer(self, *, destination, **kwargs):
        if destination.pk == first.destination_id:
            raise ConnectionError("bank down")
        return real_transfer(self, destination=destination, **kwargs)

    monkeypatch.setattr(SandboxBank, "transfer", transfer)
    # (their confirmation was due minutes ago)
    Payout.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=5))

    # when: the recovery job runs
    tasks.recover_stranded_money()

    # then: the second is paid; the first is still in transit, for the next run
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Payout.Status.IN_TRANSIT, Payout.Status.PAID)


def _wallet_pix(user):
    return add_pix(user, None, "email", f"{user.pk}-pix@example.com")


@pytest.fixture
def friend_with_wallet(customer):
    from accounts.tests.factories import UserFactory
    from payments.services import pins

    friend = UserFactory(email="bia@example.com", display_name="Bia")
    pins.set_pin(user=friend, pin=PIN, pin_again=PIN)
    credit_wallet(customer, 5000)
    credit_wallet(friend, 5000)
    return friend


def test_reconciliation_reports_payments_pending_past_the_grace_period(
    monkeypatch, settings, shop, customer
):
    # given: a stranded payment
    order, _product = shop
    payment = _stranded_order_payment(monkeypatch, customer, order, card_for(customer))

    # when: reconciliation runs within, then after, the grace period
    soon = reconciliation.run_reconciliation(now=_after(settings.PAYMENT_RECOVERY_GRACE - 5))
    late = reconciliation.run_reconciliation(now=_after(settings.PAYMENT_RECOVERY_GRACE + 5))

    # then: only the late run reports it
    assert not soon.discrepancies.filter(check_name="pending_payments").exists()
    (finding,) = late.discrepancies.filter(check_name="pending_payments")
    assert finding.subject == f"payment {payment.pk}"
    assert "no gateway answer" in finding.detail


def test_the_beat_schedule_has_the_recovery_job(settings):
    job = settings.CELERY_BEAT_SCHEDULE["recover-stranded-money"]
    assert job["task"] == "payments.tasks.recover_stranded_money" and job["schedule"] <= 60
