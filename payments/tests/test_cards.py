"""Wallet cards: the services (default handling, removal, scoping) and the wallet
pages (add, errors on the right field, never echoing the number or CVC, outsiders
get 404)."""

import datetime
import logging
import re
import uuid

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from core.errors import AppError
from payments import selectors
from payments.gateway import CardDetails
from payments.gateway.sandbox import SandboxGateway
from payments.models import Card
from payments.services import cards

NEXT_YEAR = datetime.date.today().year + 1
pytestmark = pytest.mark.django_db


def details(number="4242424242424242", cvc="123", name="Ana Lima"):
    return CardDetails(number=number, exp_month=12, exp_year=NEXT_YEAR, cvc=cvc, holder_name=name)


@pytest.fixture
def customer():
    return UserFactory(email="ana@example.com")


def _defaults(user):
    return list(Card.objects.filter(user=user, is_default=True, removed_at__isnull=True))


# --- Services ------------------------------------------------------------------------


def test_add_card_stores_only_what_we_keep(customer):
    card = cards.add_card(user=customer, details=details("5200828282828210", name=" Ana Lima "))
    assert (card.brand, card.funding, card.last4) == ("mastercard", "debit", "8210")
    assert (card.exp_month, card.exp_year, card.holder_name) == (12, NEXT_YEAR, "Ana Lima")
    assert card.gateway == "sandbox"
    assert card.token.startswith("tok_sandbox_")
    assert card.is_default  # the first card


def test_first_card_is_default_later_only_when_asked(customer):
    first = cards.add_card(user=customer, details=details())
    second = cards.add_card(user=customer, details=details("5555555555554444"))
    assert _defaults(customer) == [first]
    third = cards.add_card(user=customer, details=details(), make_default=True)
    assert _defaults(customer) == [third]
    second.refresh_from_db()
    assert not second.is_default


def test_add_card_refused_changes_nothing(customer):
    with pytest.raises(AppError) as err:
        cards.add_card(user=customer, details=details("4000000000000002"))
    assert err.value.code == "card_declined"
    assert not Card.objects.exists()


def test_set_default_card(customer):
    first = cards.add_card(user=customer, details=details())
    second = cards.add_card(user=customer, details=details())
    cards.set_default_card(user=customer, card=second)
    assert _defaults(customer) == [second]
    cards.set_default_card(user=customer, card=second)  # again: no change
    assert _defaults(customer) == [second]
    cards.set_default_card(user=customer, card=first)
    assert _defaults(customer) == [first]


def test_remove_default_promotes_the_newest_other(customer):
    first = cards.add_card(user=customer, details=details())
    cards.add_card(user=customer, details=details())
    third = cards.add_card(user=customer, details=details())
    cards.remove_card(user=customer, card=first)
    first.refresh_from_db()
    assert first.removed_at is not None and not first.is_default
    assert _defaults(customer) == [third]
    assert selectors.list_cards(user=customer).first() == third
    assert first not in selectors.list_cards(user=customer)


def test_remove_non_default_and_last_card(customer):
    first = cards.add_card(user=customer, details=details())
    second = cards.add_card(user=customer, details=details())
    cards.remove_card(user=customer, card=second)
    assert _defaults(customer) == [first]
    cards.remove_card(user=customer, card=first)
    assert _defaults(customer) == []
    # A removed card is gone for its owner too.
    with pytest.raises(Exception) as err:
        cards.remove_card(user=customer, card=first)
    assert type(err.value).__name__ == "Http404"


def test_other_users_cards_are_not_found(customer, outsider):
    card = cards.add_card(user=customer, details=details())
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.get_card_for(user=outsider, card_id=card.pk)
    with pytest.raises(Http404):
        cards.set_default_card(user=outsider, card=card)
    with pytest.raises(Http404):
        cards.remove_card(user=outsider, card=card)
    with pytest.raises(Http404):
        selectors.get_card_for(user=customer, card_id="nope")
    assert selectors.get_card_for(user=customer, card_id=card.pk) == card
    assert list(selectors.list_cards(user=outsider)) == []


def test_a_saved_card_charges_with_its_token(customer):
    card = cards.add_card(user=customer, details=details("4000000000009995"))
    result = SandboxGateway().charge(
        token=card.token,
        amount=500,
        currency="BRL",
        idempotency_key=uuid.uuid4().hex,
        description="",
    )
    assert result.failure_code == "insufficient_funds"


# --- Views -----------------------------------------------------------------------------


def _form(number="4242 4242 4242 4242", expiry=f"12/{NEXT_YEAR % 100:02d}", cvc="123", **extra):
    return {"number": number, "expiry": expiry, "cvc": cvc, "holder_name": "Ana Lima", **extra}


def test_wallet_needs_login(client):
    response = client.get(reverse("wallet"))
    assert response.status_code == 302


def test_wallet_page_lists_cards(client, customer):
    cards.add_card(user=customer, details=details())
    cards.add_card(user=customer, details=details("5555555555554444"))
    client.force_login(customer)
    response = client.get(reverse("wallet"))
    html = response.content.decode()
    assert "Visa •••• 4242" in html and "Mastercard •••• 4444" in html
    assert f"12/{NEXT_YEAR}" in html
    assert 'autocomplete="cc-number"' in html and 'inputmode="numeric"' in html
    assert 'autocomplete="cc-csc"' in html and 'autocomplete="cc-exp"' in html
    assert "/wallet/pin/" in html and "/wallet/fingerprints/" in html
    assert reverse("wallet") in client.get(reverse("account_profile")).content.decode()


def test_add_card_view(client, customer):
    client.force_login(customer)
    response = client.post(reverse("wallet"), _form(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("wallet")
    assert "Visa •••• 4242 was added to your wallet." in response.content.decode()
    assert Card.objects.get(user=customer).last4 == "4242"


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        (_form("4000 0000 0000 0002"), "number", "declined"),
        (_form("4111 1111 1111 1111"), "number", "not a test card"),
        (_form("3782 822463 10005"), "number", "only Visa and Mastercard"),
        (_form("4242 4242 4242 4241"), "number", "not valid"),
        (_form("4000 0000 0000 0069"), "expiry", "expired"),
        (_form(expiry="01/20"), "expiry", "expired"),
        (_form(expiry="1/2"), "expiry", "MM/YY"),
        (_form("4000 0000 0000 0127"), "cvc", "incorrect"),
        (_form(cvc="12"), "cvc", "3 digits"),
    ],
)
def test_add_card_errors_on_the_right_field_never_echo_the_number(
    client, customer, form, field, text, caplog
):
    client.force_login(customer)
    caplog.set_level(logging.DEBUG)
    response = client.post(reverse("wallet"), form)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert text.lower() in " ".join(errors[field]).lower()
    html = response.content.decode()
    digits = form["number"].replace(" ", "")
    assert form["number"] not in html and digits not in html
    assert f'value="{form["cvc"]}"' not in html
    assert 'value="Ana Lima"' in html  # the rest is kept
    assert digits not in caplog.text
    assert not Card.objects.filter(user=customer).exists()


def test_card_number_is_in_no_column_nor_log(client, customer, caplog):
    client.force_login(customer)
    caplog.set_level(logging.DEBUG)
    client.post(reverse("wallet"), _form("5555 5555 5555 4444", cvc="987"))
    card = Card.objects.get(user=customer)
    row = " ".join(str(v) for v in Card.objects.filter(pk=card.pk).values().get().values())
    assert "5555555555554444" not in row and "555555555555" not in row
    assert "987" not in row.replace(str(card.exp_year), "")
    assert "5555555555554444" not in caplog.text and "5555 5555 5555 4444" not in caplog.text


def test_wallet_view_hides_the_number_from_error_reports(rf, customer):
    from django.views.debug import SafeExceptionReporterFilter

    from payments.views.wallet import wallet

    request = rf.post(reverse("wallet"), _form())
    request.user = customer
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    wallet(request)
    cleaned = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleaned["number"] != "4242 4242 4242 4242" and cleaned["cvc"] != "123"
    assert cleaned["holder_name"] == "Ana Lima"


def test_set_default_and_remove_views(client, customer):
    first = cards.add_card(user=customer, details=details())
    second = cards.add_card(user=customer, details=details())
    client.force_login(customer)
    assert client.get(reverse("wallet_card_default", args=[second.pk])).status_code == 405
    client.post(reverse("wallet_card_default", args=[second.pk]))
    assert _defaults(customer) == [second]
    response = client.post(reverse("wallet_card_remove", args=[second.pk]), follow=True)
    assert "removed" in response.content.decode()
    assert _defaults(customer) == [first]


def test_outsider_gets_404(client, customer, outsider):
    card = cards.add_card(user=customer, details=details())
    client.force_login(outsider)
    for name in ("wallet_card_default", "wallet_card_remove"):
        assert client.post(reverse(name, args=[card.pk])).status_code == 404
    assert "4242" not in client.get(reverse("wallet")).content.decode()
    card.refresh_from_db()
    assert card.is_default and card.removed_at is None


# --- Sandbox 3-D Secure page -------------------------------------------------------------


def _three_ds_charge(customer):
    card = cards.add_card(user=customer, details=details("4000002760003184"))
    return SandboxGateway().charge(
        token=card.token,
        amount=500,
        currency="BRL",
        idempotency_key=uuid.uuid4().hex,
        description="",
    )


@pytest.mark.parametrize(("decision", "status"), [("complete", "succeeded"), ("fail", "failed")])
def test_sandbox_3ds_page(client, customer, decision, status):
    pending = _three_ds_charge(customer)
    client.force_login(customer)
    page = client.get(pending.action_url + "?next=/orders/7/")
    assert page.status_code == 200
    assert 'value="complete"' in page.content.decode()
    response = client.post(pending.action_url, {"decision": decision, "next": "/orders/7/"})
    assert response.status_code == 302 and response["Location"] == "/orders/7/"
    assert SandboxGateway().retrieve(pending.reference).status == status


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_sandbox_3ds_refuses_foreign_next(client, customer, next_url):
    pending = _three_ds_charge(customer)
    client.force_login(customer)
    response = client.post(pending.action_url, {"decision": "complete", "next": next_url})
    assert response["Location"] == reverse("wallet")


def test_sandbox_3ds_unknown_reference_and_other_gateway(client, customer, settings):
    client.force_login(customer)
    url = reverse("wallet_sandbox_3ds", args=["ch_sandbox_nope"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "complete"}).status_code == 404
    settings.PAYMENT_GATEWAY = "stripe"
    assert client.get(url).status_code == 404


def test_the_card_fields_are_text_boxes_that_browsers_can_fill(client, customer):
    """HTML allows the cc-number / cc-csc autofill only on a text input (the Nu checker
    refused them on password inputs); the code is masked on screen by CSS instead."""
    client.force_login(customer)
    html = client.get(reverse("wallet")).content.decode()
    number = re.search(r"<input[^>]*name=\"number\"[^>]*>", html).group(0)
    cvc = re.search(r"<input[^>]*name=\"cvc\"[^>]*>", html).group(0)
    assert 'type="text"' in number and 'autocomplete="cc-number"' in number
    assert 'type="text"' in cvc and 'autocomplete="cc-csc"' in cvc and "masked" in cvc
