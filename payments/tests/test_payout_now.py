"""An owner's "Pay out now" (confirmed with the account password, once per form) and
the automatic payout schedule (daily, weekly on Mondays, off)."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from core.errors import AppError
from payments.models import LedgerTransaction, Payout, PayoutControl
from payments.services import ledger, payouts, pins
from payments.tests.payout_factories import add_pix, run_on_commit_tasks

pytestmark = pytest.mark.django_db

SLUG = "padaria-central"
PASSWORD = "correct horse battery"
MONDAY_NOON_SP = datetime.datetime(2026, 12, 7, 15, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _fresh_password_counter(owner):
    # Only this owner's counter: clearing a Redis cache would clear the broker too.
    cache.delete(pins._password_key(owner))


@pytest.fixture
def owner_password(owner):
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    return PASSWORD


def _credit(business, amount):
    """Money the business can pay out now (as settled card payments would leave)."""
    ledger.post(
        kind="test_credit",
        currency="BRL",
        entries=[
            (ledger.clearing_account("sandbox", "BRL"), -amount),
            (ledger.account_for_business(business, "BRL"), amount),
        ],
    )


def _balance(business):
    account = ledger.account_for_business(business, "BRL")
    account.refresh_from_db()
    return account.balance


@pytest.fixture
def ready(owner, business, owner_password):
    """R$ 50.00 available and a default Pix key."""
    _credit(business, 5000)
    return add_pix(owner, business)


def test_an_owner_pays_out_now_and_the_bank_pays_it(
    client, owner, business, ready, monkeypatch, django_capture_on_commit_callbacks
):
    # given the owner on the Balance page
    client.force_login(owner)
    url = reverse("balance", args=[SLUG])
    html = client.get(url).content.decode()
    assert "Pay out now" in html and 'type="password"' in html
    form = {"password": PASSWORD, "attempt": "attempt-1"}

    # when they pay out now, and the same form arrives twice
    with run_on_commit_tasks(monkeypatch, django_capture_on_commit_callbacks):
        response = client.post(reverse("balance_pay_out_now", args=[SLUG]), form)
    again = client.post(reverse("balance_pay_out_now", args=[SLUG]), form)

    # then one payout of everything available, posted, paid by the sandbox bank
    assert response.status_code == 302 and again.status_code == 302
    payout = Payout.objects.get()
    assert (payout.amount, payout.business, payout.requested_by) == (5000, business, owner)
    assert payout.idempotency_key == f"now:{business.pk}:web:attempt-1"
    assert payout.status == "paid" and payout.bank_reference.startswith("po_sandbox_ok_")
    kinds = set(LedgerTransaction.objects.filter(payout=payout).values_list("kind", flat=True))
    assert kinds == {"payout", "payout_paid"}
    assert _balance(business) == 0
    # and the owner sees how much went where
    html = client.get(url).content.decode()
    assert "Payout of R$50.00 to Pix E-mail c•••@padaria.example is on its way." in html


def test_a_wrong_password_pays_out_nothing(client, owner, business, ready):
    client.force_login(owner)
    response = client.post(
        reverse("balance_pay_out_now", args=[SLUG]), {"password": "nope", "attempt": "a1"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error" id="id_password_error">Wrong password.' in html
    assert 'value="a1"' not in html  # a fresh attempt token for the next try
    assert Payout.objects.count() == 0 and _balance(business) == 5000


def test_only_the_business_s_owners_pay_out_now(
    client, owner, admin, agent, other, business, ready
):
    url = reverse("balance_pay_out_now", args=[SLUG])
    for someone in (admin, agent, other.owner):
        someone.set_password(PASSWORD)
        someone.save(update_fields=["password"])
        client.force_login(someone)
        assert client.post(url, {"password": PASSWORD, "attempt": "x"}).status_code == 404
        with pytest.raises(AppError) as refused:
            payouts.pay_out_now(actor=someone, business=business, password=PASSWORD, attempt="y")
        assert refused.value.code == "forbidden"
    # an admin sees the balance but not the button
    client.force_login(admin)
    assert "Pay out now" not in client.get(reverse("balance", args=[SLUG])).content.decode()
    assert Payout.objects.count() == 0 and _balance(business) == 5000


def test_pay_out_now_refuses_clearly_and_changes_nothing(owner, business, owner_password):
    def attempt():
        with pytest.raises(AppError) as refused:
            payouts.pay_out_now(actor=owner, business=business, password=PASSWORD, attempt="z")
        return refused.value.code

    assert attempt() == "no_destination"
    add_pix(owner, business)
    assert attempt() == "nothing_available"
    _credit(business, 999)
    assert attempt() == "below_minimum"
    _credit(business, 1)
    payouts.set_payouts_paused(business=business, paused=True, reason="Documents under review")
    assert attempt() == "payouts_paused"
    assert Payout.objects.count() == 0 and _balance(business) == 1000
    payouts.set_payouts_paused(business=business, paused=False)
    payout = payouts.pay_out_now(actor=owner, business=business, password=PASSWORD, attempt="z")
    assert payout.amount == 1000


def test_a_refusal_is_shown_on_the_balance_page(client, owner, business, owner_password):
    add_pix(owner, business)
    _credit(business, 5000)
    payouts.set_payouts_paused(business=business, paused=True, reason="Documents under review")
    client.force_login(owner)
    response = client.post(
        reverse("balance_pay_out_now", args=[SLUG]), {"password": PASSWORD, "attempt": "a"}
    )
    assert response.status_code == 400
    assert "Payouts are paused by the platform: Documents under review" in (
        response.content.decode()
    )
    assert Payout.objects.count() == 0


def test_no_destination_links_to_adding_one(client, owner, business):
    _credit(business, 5000)
    client.force_login(owner)
    html = client.get(reverse("balance", args=[SLUG])).content.decode()
    destinations = reverse("payout_destinations", args=[SLUG])
    assert f'<a href="{destinations}">Add a bank account or Pix key' in html


# --- The schedule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "paid_on"),
    [
        ("daily", {"sunday", "monday", "tuesday"}),
        ("weekly", {"monday"}),
        ("off", set()),
    ],
)
def test_the_schedule_decides_which_days_the_job_pays_out(owner, business, schedule, paid_on):
    add_pix(owner, business)
    payouts.set_payout_schedule(actor=owner, business=business, schedule=schedule)
    days = {
        # 01:00 UTC on Monday is still Sunday evening in São Paulo.
        "sunday": MONDAY_NOON_SP - datetime.timedelta(hours=14),
        "monday": MONDAY_NOON_SP,
        "tuesday": MONDAY_NOON_SP + datetime.timedelta(days=1),
    }
    paid = set()
    for name, now in days.items():
        _credit(business, 2000)
        (run,) = payouts.run_payouts(now=now)
        if run.payout is not None:
            paid.add(name)
        else:
            assert run.skipped == "not_scheduled"
    assert paid == paid_on


def test_an_owner_chooses_the_schedule_on_the_balance_page(client, owner, business):
    client.force_login(owner)
    url = reverse("balance_schedule", args=[SLUG])
    assert client.post(url, {"schedule": "weekly"}).status_code == 302
    assert PayoutControl.objects.get(business=business).schedule == "weekly"
    html = client.get(reverse("balance", args=[SLUG])).content.decode()
    assert "Automatic payouts: Every Monday." in html
    bad = client.post(url, {"schedule": "hourly"})
    assert bad.status_code == 400 and 'class="field-error"' in bad.content.decode()
    assert PayoutControl.objects.get(business=business).schedule == "weekly"


def test_only_owners_choose_the_schedule(client, admin, agent, other, business):
    for someone in (admin, agent, other.owner):
        client.force_login(someone)
        response = client.post(reverse("balance_schedule", args=[SLUG]), {"schedule": "off"})
        assert response.status_code == 404
        with pytest.raises(AppError) as refused:
            payouts.set_payout_schedule(actor=someone, business=business, schedule="off")
        assert refused.value.code == "forbidden"
    assert payouts.payout_schedule(business) == "daily"


def test_a_pause_keeps_the_schedule_and_the_schedule_keeps_the_pause(owner, business):
    payouts.set_payout_schedule(actor=owner, business=business, schedule="off")
    payouts.set_payouts_paused(business=business, paused=True, reason="Review")
    payouts.set_payout_schedule(actor=owner, business=business, schedule="weekly")
    control = PayoutControl.objects.get(business=business)
    assert (control.schedule, control.paused, control.reason) == ("weekly", True, "Review")


# --- The API -------------------------------------------------------------------------


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_an_owner_pays_out_now_through_the_api(owner, admin, business, ready):
    url = f"/api/v1/businesses/{SLUG}/payouts/now/"
    # given an admin: may see the balance, may not pay out
    refused = _api(admin).post(
        url, {"password": PASSWORD}, format="json", HTTP_IDEMPOTENCY_KEY="k0"
    )
    assert refused.status_code == 403 and Payout.objects.count() == 0
    client = _api(owner)
    wrong = client.post(url, {"password": "nope"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert wrong.status_code == 400 and wrong.json()["code"] == "password_wrong"
    # when the owner asks twice with the same key
    first = client.post(url, {"password": PASSWORD}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    again = client.post(url, {"password": PASSWORD}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    # then one payout
    assert first.status_code == 201 and first.json()["amount"] == 5000
    assert again.json() == first.json()
    assert Payout.objects.get().idempotency_key == f"now:{business.pk}:api:{owner.pk}:k2"
    nothing = client.post(url, {"password": PASSWORD}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_available"


def test_the_schedule_through_the_api(owner, admin, agent, business):
    url = f"/api/v1/businesses/{SLUG}/payouts/schedule/"
    assert _api(admin).get(url).json() == {"schedule": "daily"}
    assert _api(admin).put(url, {"schedule": "off"}, format="json").status_code == 403
    assert _api(agent).get(url).status_code == 404
    client = _api(owner)
    assert client.put(url, {"schedule": "weekly"}, format="json").json() == {"schedule": "weekly"}
    assert client.put(url, {"schedule": "hourly"}, format="json").status_code == 400
    assert client.get(url).json() == {"schedule": "weekly"}
