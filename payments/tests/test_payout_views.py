"""The payout pages: destinations (owners; a user's own), Balance & payouts, the
wallet balance with withdrawals, the statement CSV."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import Payout, PayoutDestination
from payments.services import payouts
from payments.tests.factories import PIN
from payments.tests.factories import card_for as _card
from payments.tests.factories import pay as _pay
from payments.tests.payout_factories import BANK, add_pix, credit_wallet

pytestmark = pytest.mark.django_db

SLUG = "padaria-central"


def test_an_owner_adds_a_pix_key_and_sees_it_masked(client, owner, business):
    client.force_login(owner)
    url = reverse("payout_destinations", args=[SLUG])
    response = client.post(
        url, {"kind": "pix", "pix-pix_key_type": "cpf", "pix-pix_key": "529.982.247-25"}
    )
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "•••.982.247-••" in html and "52998224725" not in html and "529.982.247-25" not in html


def test_a_bank_account_form_with_errors_is_shown_again(client, owner, business):
    client.force_login(owner)
    url = reverse("payout_destinations", args=[SLUG])
    data = {f"bank_account-{k}": v for k, v in BANK.items()} | {
        "kind": "bank_account",
        "bank_account-holder_document": "111.222.333-44",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "not a valid CPF or CNPJ" in response.content.decode()
    assert PayoutDestination.objects.count() == 0
    data["bank_account-holder_document"] = "11.222.333/0001-81"
    assert client.post(url, data).status_code == 302
    assert PayoutDestination.objects.get().bank_code == "341"


def test_destination_pages_are_for_owners_only(
    client, owner, admin, agent, outsider, business, other
):
    destination = add_pix(owner, business)
    urls = [
        reverse("payout_destinations", args=[SLUG]),
        reverse("payout_destination_edit", args=[SLUG, destination.pk]),
    ]
    posts = [
        reverse("payout_destination_default", args=[SLUG, destination.pk]),
        reverse("payout_destination_remove", args=[SLUG, destination.pk]),
    ]
    for someone in (admin, agent, outsider, other.owner):
        client.force_login(someone)
        for url in urls:
            assert client.get(url).status_code == 404
        for url in posts:
            assert client.post(url).status_code == 404
    # The other business's owner, through their own business: still not found.
    client.force_login(other.owner)
    url = reverse("payout_destination_remove", args=["loja-vizinha", destination.pk])
    assert client.post(url).status_code == 404
    destination.refresh_from_db()
    assert destination.removed_at is None


def test_an_owner_changes_and_removes_a_destination(client, owner, business):
    destination = add_pix(owner, business)
    client.force_login(owner)
    url = reverse("payout_destination_edit", args=[SLUG, destination.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"pix-pix_key_type": "phone", "pix-pix_key": "+55 11 98765-4321"})
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.pix_key == "+5511987654321"
    client.post(reverse("payout_destination_remove", args=[SLUG, destination.pk]))
    destination.refresh_from_db()
    assert destination.removed_at is not None


def test_the_balance_page_shows_payouts_and_their_failure(client, shop, customer, owner, business):
    order, _product = shop
    _pay(customer, order, _card(customer))
    add_pix(owner, business, "email", "fail@padaria.example")
    (run,) = payouts.run_payouts(now=timezone.now() + datetime.timedelta(days=3))
    payouts.process_payout(payout_id=run.payout.pk)
    client.force_login(owner)
    html = client.get(reverse("balance", args=[SLUG])).content.decode()
    assert 'id="payout-history"' in html and "Failed" in html
    assert "no account with this Pix key" in html
    assert "f•••@padaria.example" in html and "fail@padaria.example" not in html


def test_a_failure_reason_is_shown_in_the_viewers_language(client, shop, customer, owner, business):
    # given a payout refused by the bank while the worker ran in Portuguese
    from django.utils import translation

    order, _product = shop
    _pay(customer, order, _card(customer))
    add_pix(owner, business, "email", "fail@padaria.example")
    (run,) = payouts.run_payouts(now=timezone.now() + datetime.timedelta(days=3))
    with translation.override("pt-br"):
        payouts.process_payout(payout_id=run.payout.pk)
    # when the owner reads the balance in English, then the reason is in English
    client.force_login(owner)
    english = client.get(reverse("balance", args=[SLUG]), HTTP_ACCEPT_LANGUAGE="en")
    assert "The bank found no account with this Pix key." in english.content.decode()
    assert "O banco" not in english.content.decode()
    type(owner).objects.filter(pk=owner.pk).update(language="pt-br")
    portuguese = client.get(reverse("balance", args=[SLUG])).content.decode()
    assert "O banco não encontrou nenhuma conta com esta chave Pix." in portuguese


def test_the_balance_page_shows_a_pause(client, owner, business):
    payouts.set_payouts_paused(business=business, paused=True, reason="Documents under review")
    client.force_login(owner)
    html = client.get(reverse("balance", args=[SLUG])).content.decode()
    assert "Payouts are paused" in html and "Documents under review" in html


def test_the_statement_csv(client, shop, customer, owner, admin, business, agent, other):
    order, _product = shop
    payment = _pay(customer, order, _card(customer))
    today = timezone.localdate(timezone=business.tz)
    url = reverse("balance_statement", args=[SLUG])
    client.force_login(admin)
    response = client.get(url, {"start": today.isoformat(), "end": today.isoformat()})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["date", "posting", "kind"]
    assert rows[1][2] == "opening_balance" and rows[1][7] == "0.00"
    assert rows[2][2] == "card_payment" and rows[2][4] == f"#{order.number}"
    net = payment.amount - payment.fee
    assert rows[2][6] == f"{net // 100}.{net % 100:02d}"
    assert rows[0][9:] == ["gross", "fee"]
    assert rows[2][9:] == [
        f"{payment.amount // 100}.{payment.amount % 100:02d}",
        f"{payment.fee // 100}.{payment.fee % 100:02d}",
    ]
    # A period before the payment: only the opening line.
    earlier = today - datetime.timedelta(days=10)
    response = client.get(url, {"start": earlier.isoformat(), "end": earlier.isoformat()})
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) == 2
    for someone in (agent, other.owner):
        client.force_login(someone)
        assert client.get(url, {"start": today, "end": today}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"start": "yesterday", "end": "today"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"start": "1999-01-01", "end": "2026-01-01"},
        {"start": "2999-01-01", "end": "2999-01-02"},
        {"start": "2026-02-30", "end": "2026-03-01"},
        {"start": "9" * 500, "end": "1"},
    ],
)
def test_a_bad_statement_period_is_a_clear_error(client, owner, business, query):
    client.force_login(owner)
    response = client.get(reverse("balance_statement", args=[SLUG]), query)
    assert response.status_code == 400
    assert (
        'class="field-error"' in response.content.decode()
        or "form-errors" in response.content.decode()
    )


def test_a_customer_withdraws_from_the_wallet_page(client, customer):
    credit_wallet(customer, 5000)
    client.force_login(customer)
    client.post(
        reverse("wallet_destinations"),
        {"kind": "pix", "pix-pix_key_type": "email", "pix-pix_key": "carla@example.com"},
    )
    destination = PayoutDestination.objects.get(user=customer)
    url = reverse("wallet_balance")
    form = {"amount": "20.00", "destination": destination.pk, "pin": PIN, "attempt": "a1"}
    response = client.post(url, form)
    assert response.status_code == 302
    client.post(url, form)  # the same form again: one withdrawal
    payout = Payout.objects.get()
    assert (payout.amount, payout.user, payout.status) == (2000, customer, "in_transit")
    html = client.get(url).content.decode()
    assert "R$" in html and "30.00" in html and "c•••@example.com" in html
    bad = client.post(url, form | {"attempt": "a2", "amount": "999.00"})
    assert bad.status_code == 400 and Payout.objects.count() == 1


def test_someone_else_s_wallet_destination_is_not_found(client, customer, outsider):
    destination = add_pix(customer, None, "email", "carla@example.com")
    client.force_login(outsider)
    for name in ("wallet_destination_default", "wallet_destination_remove"):
        assert client.post(reverse(name, args=[destination.pk])).status_code == 404
    assert client.get(reverse("wallet_destination_edit", args=[destination.pk])).status_code == 404
    credit_wallet(outsider, 5000)
    response = client.post(
        reverse("wallet_balance"),
        {"amount": "20.00", "destination": destination.pk, "pin": PIN, "attempt": "x"},
    )
    assert response.status_code == 400 and Payout.objects.count() == 0


def _payouts_on_several_days(owner, business, days):
    from payments.services import ledger

    add_pix(owner, business)
    for day in range(days):
        ledger.post(
            kind="test_credit",
            currency="BRL",
            entries=[
                (ledger.clearing_account("sandbox", "BRL"), -5000),
                (ledger.account_for_business(business, "BRL"), 5000),
            ],
        )
        payouts.run_payouts(now=timezone.now() + datetime.timedelta(days=day))


def test_the_balance_page_runs_a_fixed_number_of_queries(
    client, owner, business, django_assert_max_num_queries
):
    _payouts_on_several_days(owner, business, 2)
    client.force_login(owner)
    url = reverse("balance", args=[SLUG])
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    _payouts_on_several_days(owner, business, 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
