"""The payouts API: destinations (masked; owners change, admins read), balance,
payouts, statement CSV, withdrawals with an Idempotency-Key; bad input; outsiders."""

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import Payout, PayoutDestination
from payments.services import payouts
from payments.tests.factories import PIN
from payments.tests.factories import card_for as _card
from payments.tests.factories import pay as _pay
from payments.tests.payout_factories import BANK, add_pix, credit_wallet

pytestmark = pytest.mark.django_db

SHOP = "/api/v1/businesses/padaria-central/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_owners_add_destinations_and_everyone_sees_them_masked(owner, admin, business):
    response = api(owner).post(
        SHOP + "payouts/destinations/",
        {"kind": "bank_account", **BANK, "holder_document": "11.222.333/0001-81"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["label"] == "Itaú Unibanco (341) · checking •••456-7"
    assert body["holder_document"] == "••.•••.333/0001-••" and body["is_default"]
    raw = api(admin).get(SHOP + "payouts/destinations/").content.decode()
    for secret in ("123456", "11222333000181"):
        assert secret not in raw


def test_admins_may_not_change_destinations(owner, admin, business):
    destination = add_pix(owner, business)
    client = api(admin)
    data = {"kind": "pix", "pix_key_type": "email", "pix_key": "x@example.com"}
    assert client.post(SHOP + "payouts/destinations/", data, format="json").status_code == 403
    url = f"{SHOP}payouts/destinations/{destination.pk}/"
    assert client.delete(url).status_code == 403
    assert client.put(url, data, format="json").status_code == 403
    assert client.post(url + "default/").status_code == 403
    assert PayoutDestination.objects.filter(removed_at__isnull=True).count() == 1


def test_outsiders_get_not_found(owner, agent, outsider, business, other, customer):
    destination = add_pix(owner, business)
    mine = add_pix(customer, None, "email", "carla@example.com")
    for someone in (agent, outsider, other.owner):
        client = api(someone)
        for path in (
            "payouts/destinations/",
            "payouts/",
            "balance/",
            "statement/?start=2026-01-01&end=2026-01-02",
        ):
            assert client.get(SHOP + path).status_code == 404, path
        assert client.delete(f"{SHOP}payouts/destinations/{destination.pk}/").status_code == 404
        assert client.delete(f"/api/v1/wallet/destinations/{mine.pk}/").status_code == 404
    other_shop = "/api/v1/businesses/loja-vizinha/payouts/destinations/"
    response = api(other.owner).delete(f"{other_shop}{destination.pk}/")
    assert response.status_code == 404
    assert PayoutDestination.objects.filter(removed_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "pix", "pix_key_type": "cpf", "pix_key": "123.456.789-00"},
        {"kind": "pix", "pix_key_type": "phone", "pix_key": "+1 202 555 0143"},
        {"kind": "pix", "pix_key_type": "bitcoin", "pix_key": "x"},
        {"kind": "pix", "pix_key_type": "email", "pix_key": "a" * 500},
        {"kind": "paypal"},
        {"kind": "bank_account", **BANK, "bank_code": "000"},
        {"kind": "bank_account", **BANK, "holder_name": "Carla 4242 4242 4242 4242"},
        {"kind": "bank_account", **BANK, "branch": ["1234"]},
        {"kind": "pix", "pix_key_type": "random", "pix_key": None},
    ],
)
def test_bad_destinations_are_400(owner, business, data):
    response = api(owner).post(SHOP + "payouts/destinations/", data, format="json")
    assert response.status_code == 400, response.content
    assert PayoutDestination.objects.count() == 0


def test_balance_payouts_and_statement(shop, customer, owner, admin, business):
    order, _product = shop
    payment = _pay(customer, order, _card(customer))
    add_pix(owner, business)
    client = api(admin)
    body = client.get(SHOP + "balance/").json()
    net = payment.amount - payment.fee
    assert (body["total"], body["available"], body["pending_total"]) == (net, 0, net)
    assert body["pending"][0]["amount"] == net and body["payouts_paused"] is None
    (run,) = payouts.run_payouts(now=timezone.now() + datetime.timedelta(days=3))
    (listed,) = client.get(SHOP + "payouts/").json()
    assert listed["id"] == run.payout.pk and listed["status"] == "in_transit"
    assert listed["destination"] == "Pix E-mail c•••@padaria.example"
    today = timezone.localdate(timezone=business.tz).isoformat()
    response = client.get(SHOP + "statement/", {"start": today, "end": today})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "card_payment" in response.content.decode()
    bad = client.get(SHOP + "statement/", {"start": today, "end": "2000-01-01"})
    assert bad.status_code == 400 and bad.json()["code"] == "period_invalid"
    assert client.get(SHOP + "statement/", {"start": "x"}).status_code == 400


def test_a_withdrawal_with_an_idempotency_key(customer, outsider):
    credit_wallet(customer, 5000)
    client = api(customer)
    created = client.post(
        "/api/v1/wallet/destinations/",
        {"kind": "pix", "pix_key_type": "phone", "pix_key": "+55 21 99876-5432"},
        format="json",
    ).json()
    data = {"destination_id": created["id"], "amount": 2500, "pin": PIN}
    headers = {"Idempotency-Key": "w-1"}
    first = client.post("/api/v1/wallet/withdrawals/", data, format="json", headers=headers)
    assert first.status_code == 201, first.content
    replay = client.post("/api/v1/wallet/withdrawals/", data, format="json", headers=headers)
    assert replay.json() == first.json() and replay["Idempotent-Replayed"] == "true"
    assert Payout.objects.count() == 1
    assert client.get("/api/v1/wallet/balance/").json() == {"currency": "BRL", "balance": 2500}
    assert [p["id"] for p in client.get("/api/v1/wallet/payouts/").json()] == [first.json()["id"]]
    missing = client.post("/api/v1/wallet/withdrawals/", data, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_missing"
    # Another user's destination: a clear 400, nothing moves.
    credit_wallet(outsider, 5000)
    response = api(outsider).post(
        "/api/v1/wallet/withdrawals/", data, format="json", headers={"Idempotency-Key": "o-1"}
    )
    assert response.status_code == 400 and response.json()["code"] == "destination_invalid"
    assert Payout.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "code"),
    [(0, None), (-100, None), (10.5, None), ("2500", None), (True, None), (999, "below_minimum"),
     (6000, "insufficient_balance")],
)  # fmt: skip
def test_bad_withdrawals_are_400(customer, amount, code):
    credit_wallet(customer, 5000)
    destination = add_pix(customer, None, "email", "carla@example.com")
    response = api(customer).post(
        "/api/v1/wallet/withdrawals/",
        {"destination_id": destination.pk, "amount": amount, "pin": PIN},
        format="json",
        headers={"Idempotency-Key": f"bad-{amount}"},
    )
    assert response.status_code == 400, response.content
    if code:
        assert response.json()["code"] == code
    assert Payout.objects.count() == 0


def test_the_schema_lists_the_payout_endpoints(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/businesses/{slug}/payouts/destinations/",
        "/api/v1/businesses/{slug}/payouts/destinations/{destination_id}/",
        "/api/v1/businesses/{slug}/payouts/",
        "/api/v1/businesses/{slug}/balance/",
        "/api/v1/businesses/{slug}/statement/",
        "/api/v1/wallet/destinations/",
        "/api/v1/wallet/withdrawals/",
        "/api/v1/wallet/balance/",
        "/api/v1/wallet/payouts/",
        "/api/v1/wallet/statement/",
    ):
        assert path in paths, path
    withdraw = paths["/api/v1/wallet/withdrawals/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in withdraw["parameters"])
