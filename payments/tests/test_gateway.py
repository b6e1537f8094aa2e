"""The sandbox gateway (Stripe's test cards, validation, idempotent charges, 3-D
Secure) and the Stripe adapter with Stripe's HTTP mocked at the network edge."""

import datetime
import json
import logging
import uuid
from urllib.parse import parse_qs

import pytest
import stripe
from django.test import override_settings

from core.cards import luhn_ok
from core.errors import AppError
from payments.gateway import CardDetails, get_gateway
from payments.gateway.base import brand_of, check_card
from payments.gateway.sandbox import SandboxGateway
from payments.gateway.stripe import StripeGateway

NEXT_YEAR = datetime.date.today().year + 1


def card(number="4242424242424242", *, month=12, year=NEXT_YEAR, cvc="123", name="Ana Lima"):
    return CardDetails(number=number, exp_month=month, exp_year=year, cvc=cvc, holder_name=name)


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def sandbox():
    return SandboxGateway()


def charge(gw, token, amount=1990, idempotency_key=None, currency="BRL", description="order 1"):
    return gw.charge(
        token=token,
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key or key(),
        description=description,
    )


# --- Validation -----------------------------------------------------------------------


def test_card_details_repr_masks_number_and_cvc():
    text = repr(card("4242424242424242", cvc="987")) + str(card(cvc="987"))
    assert "4242424242424242" not in text
    assert "987" not in text
    assert "•••• 4242" in text


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("4242424242424242", True),
        ("4242424242424241", False),
        ("79927398713", True),
        ("12a4", False),
    ],
)
def test_luhn(number, ok):
    assert luhn_ok(number) is ok


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("5105105105105100", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("2720999999999996", "mastercard"),
        ("2721000000000004", ""),
        ("378282246310005", ""),  # American Express
        ("6011111111111117", ""),  # Discover
    ],
)
def test_brand_by_prefix(number, brand):
    assert brand_of(number) == brand


@pytest.mark.parametrize(
    ("details", "code", "field"),
    [
        (card("4242424242424241"), "card_number_invalid", "number"),
        (card("4242"), "card_number_invalid", "number"),
        (card("378282246310005"), "card_brand_unsupported", "number"),
        (card("6011111111111117"), "card_brand_unsupported", "number"),
        (card(month=1, year=2020), "expired_card", "expiry"),
        (card(month=13), "expiry_invalid", "expiry"),
        (card(cvc="12"), "cvc_invalid", "cvc"),
        (card(cvc="1234"), "cvc_invalid", "cvc"),
        (card(cvc="12a"), "cvc_invalid", "cvc"),
        (card(name="  "), "holder_name_missing", "holder_name"),
    ],
)
def test_check_card_refuses_with_the_field_at_fault(details, code, field):
    with pytest.raises(AppError) as err:
        check_card(details)
    assert (err.value.code, err.value.field) == (code, field)


def test_expiry_this_month_is_still_valid():
    today = datetime.date(2030, 5, 31)
    assert check_card(card(month=5, year=2030), today=today) == "visa"
    with pytest.raises(AppError):
        check_card(card(month=4, year=2030), today=today)


# --- Sandbox: tokenize -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "brand", "funding"),
    [
        ("4242424242424242", "visa", "credit"),
        ("4242 4242 4242 4242", "visa", "credit"),
        ("5555555555554444", "mastercard", "credit"),
        ("4000056655665556", "visa", "debit"),
        ("5200828282828210", "mastercard", "debit"),
    ],
)
def test_sandbox_tokenizes_test_cards(sandbox, number, brand, funding):
    tok = sandbox.tokenize(card(number))
    assert tok.token.startswith("tok_sandbox_")
    assert (tok.brand, tok.funding, tok.last4) == (brand, funding, number[-4:])
    assert (tok.exp_month, tok.exp_year) == (12, NEXT_YEAR)
    assert number.replace(" ", "")[:12] not in tok.token


def test_sandbox_tokens_are_random(sandbox):
    assert sandbox.tokenize(card()).token != sandbox.tokenize(card()).token


@pytest.mark.parametrize(
    ("number", "code", "field"),
    [
        ("4000000000000002", "card_declined", "number"),
        ("4000000000000069", "expired_card", "expiry"),
        ("4000000000000127", "incorrect_cvc", "cvc"),
        ("4111111111111111", "not_test_card", "number"),  # Luhn-valid, real-looking
        ("5105105105105100", "not_test_card", "number"),
    ],
)
def test_sandbox_refuses_at_attach(sandbox, number, code, field):
    with pytest.raises(AppError) as err:
        sandbox.tokenize(card(number))
    assert (err.value.code, err.value.field) == (code, field)
    assert number not in str(err.value)


# --- Sandbox: charge -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "status", "failure_code", "funding"),
    [
        ("4242424242424242", "succeeded", "", "credit"),
        ("5555555555554444", "succeeded", "", "credit"),
        ("4000056655665556", "succeeded", "", "debit"),
        ("5200828282828210", "succeeded", "", "debit"),
        ("4000000000009995", "failed", "insufficient_funds", "credit"),
        ("4000000000000119", "failed", "processing_error", "credit"),
        ("4000000000000341", "failed", "card_declined", "credit"),
        ("4000002760003184", "requires_action", "", "credit"),
    ],
)
def test_sandbox_charge_behaviours(sandbox, number, status, failure_code, funding):
    result = charge(sandbox, sandbox.tokenize(card(number)).token)
    assert (result.status, result.failure_code, result.funding) == (status, failure_code, funding)
    assert result.reference.startswith("ch_sandbox_")
    assert bool(result.failure_message) is bool(failure_code)
    if status == "requires_action":
        assert result.action_url == f"/wallet/sandbox-3ds/{result.reference}/"


def test_sandbox_charge_is_idempotent(sandbox):
    token = sandbox.tokenize(card()).token
    k = key()
    first = charge(sandbox, token, idempotency_key=k)
    assert charge(sandbox, token, idempotency_key=k) == first
    assert charge(sandbox, token).reference != first.reference  # a new key: a new charge


@pytest.mark.parametrize(
    "changes", [{"amount": 1991}, {"currency": "USD"}, {"description": "order 2"}, {"token": "x"}]
)
def test_sandbox_refuses_a_key_reused_with_other_params(sandbox, changes):
    token = sandbox.tokenize(card()).token
    k = key()
    charge(sandbox, token, idempotency_key=k)
    params = {"token": token, "amount": 1990, "currency": "BRL", "description": "order 1"}
    params.update(changes)
    with pytest.raises(AppError) as err:
        charge(sandbox, params.pop("token"), idempotency_key=k, **params)
    assert err.value.code == "idempotency_key_reused"


def test_sandbox_finds_a_charge_by_its_idempotency_key(sandbox):
    # given: a charge whose reference the caller never learned
    token = sandbox.tokenize(card("4242424242424242")).token
    key = uuid.uuid4().hex
    made = sandbox.charge(
        token=token, amount=500, currency="BRL", idempotency_key=key, description=""
    )

    # then: it is found by the key as it stands; an unused key finds nothing
    assert sandbox.find_charge(idempotency_key=key) == made
    assert sandbox.find_charge(idempotency_key=uuid.uuid4().hex) is None
    assert sandbox.find_charge(idempotency_key="") is None


def test_sandbox_declined_charge_is_idempotent_too(sandbox):
    token = sandbox.tokenize(card("4000000000009995")).token
    k = key()
    assert charge(sandbox, token, idempotency_key=k) == charge(sandbox, token, idempotency_key=k)


@pytest.mark.parametrize("amount", [0, -5, 10.5, True])
def test_sandbox_refuses_bad_amounts(sandbox, amount):
    with pytest.raises(AppError) as err:
        charge(sandbox, sandbox.tokenize(card()).token, amount=amount)
    assert err.value.code == "amount_invalid"


def test_sandbox_refuses_unknown_tokens(sandbox):
    for token in ("pm_123", "tok_sandbox_amex_credit_ok_abc", "tok_sandbox_visa_credit_zz_abc"):
        with pytest.raises(AppError) as err:
            charge(sandbox, token)
        assert err.value.code == "card_token_unknown"


@pytest.mark.parametrize(("approve", "status"), [(True, "succeeded"), (False, "failed")])
def test_sandbox_3ds_flow(sandbox, approve, status):
    token = sandbox.tokenize(card("4000002760003184")).token
    k = key()
    pending = charge(sandbox, token, idempotency_key=k)
    assert pending.status == "requires_action"
    done = sandbox.complete_action(reference=pending.reference, approve=approve)
    assert done.status == status
    assert done.reference == pending.reference
    # Decided once: the other answer later changes nothing; a keyed retry reads it.
    assert sandbox.complete_action(reference=pending.reference, approve=not approve) == done
    assert charge(sandbox, token, idempotency_key=k) == done
    if not approve:
        assert done.failure_code == "authentication_failed"


def test_sandbox_complete_action_unknown_reference(sandbox):
    with pytest.raises(AppError) as err:
        sandbox.complete_action(reference="ch_sandbox_nope", approve=True)
    assert err.value.code == "charge_unknown"


def test_sandbox_refund(sandbox):
    result = charge(sandbox, sandbox.tokenize(card()).token, amount=1000)
    k = key()
    refund = sandbox.refund(reference=result.reference, amount=600, idempotency_key=k)
    assert refund == sandbox.refund(reference=result.reference, amount=600, idempotency_key=k)
    with pytest.raises(AppError) as err:
        sandbox.refund(reference=result.reference, amount=500, idempotency_key=key())
    assert err.value.code == "refund_too_large"
    assert sandbox.refund(reference=result.reference, amount=400, idempotency_key=key())


def test_get_gateway_reads_settings(settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    assert get_gateway().name == "sandbox"
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert get_gateway().name == "stripe"
    assert get_gateway("sandbox").name == "sandbox"


# --- Stripe adapter, HTTP mocked at the edge ---------------------------------------------


class FakeStripeHTTP(stripe.HTTPClient):
    """Records every request and answers from ``routes``: (method, path) -> (status,
    body) or a list of them, consumed in order."""

    name = "fake"

    def __init__(self, routes):
        super().__init__()
        self.routes = routes
        self.requests = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        path = url.split("api.stripe.com", 1)[-1].split("?", 1)[0]
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        query = parse_qs(url.split("?", 1)[1]) if "?" in url else {}
        self.requests.append(
            {
                "method": method,
                "path": path,
                "headers": dict(headers or {}),
                "data": parse_qs(body),
                "query": query,
            }
        )
        answer = self.routes[(method.upper(), path)]
        status, payload = answer.pop(0) if isinstance(answer, list) else answer
        return json.dumps(payload), status, {"Request-Id": "req_fake"}

    def request_stream(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError

    def close(self):
        pass


@pytest.fixture
def fake_stripe(monkeypatch):
    def install(routes):
        client = FakeStripeHTTP(routes)
        monkeypatch.setattr(stripe, "default_http_client", client)
        return client

    return install


def _pm(brand="visa", funding="credit", last4="4242"):
    return {
        "id": "pm_123",
        "object": "payment_method",
        "type": "card",
        "card": {
            "brand": brand,
            "funding": funding,
            "last4": last4,
            "exp_month": 12,
            "exp_year": NEXT_YEAR,
        },
    }


def _pi(status, **extra):
    return {
        "id": "pi_123",
        "object": "payment_intent",
        "status": status,
        "amount": 1990,
        "currency": "brl",
        "latest_charge": {
            "id": "ch_1",
            "object": "charge",
            "payment_method_details": {"type": "card", "card": {"funding": "debit"}},
        },
        **extra,
    }


def _card_error(code, decline_code=None, **extra):
    error = {"type": "card_error", "code": code, "message": "Your card was declined.", **extra}
    if decline_code:
        error["decline_code"] = decline_code
    return (402, {"error": error})


def test_stripe_tokenize_creates_a_payment_method_and_never_logs_the_number(fake_stripe, caplog):
    http = fake_stripe({("POST", "/v1/payment_methods"): (200, _pm(funding="debit"))})
    caplog.set_level(logging.DEBUG)
    tok = StripeGateway(api_key="sk_test_x").tokenize(card("4000056655665556", cvc="321"))
    assert (tok.token, tok.brand, tok.funding, tok.last4) == ("pm_123", "visa", "debit", "4242")
    [req] = http.requests
    assert req["data"]["card[number]"] == ["4000056655665556"]
    assert req["data"]["type"] == ["card"]
    assert req["headers"]["Authorization"] == "Bearer sk_test_x"
    assert any(r.name == "stripe" for r in caplog.records)  # the library did log the request
    assert "4000056655665556" not in caplog.text
    assert "card%5Bcvc%5D=321" not in caplog.text


@pytest.mark.parametrize(
    ("error", "code", "field"),
    [
        (_card_error("card_declined", "generic_decline"), "card_declined", "number"),
        (_card_error("expired_card"), "expired_card", "expiry"),
        (_card_error("incorrect_cvc"), "incorrect_cvc", "cvc"),
    ],
)
def test_stripe_tokenize_maps_card_errors(fake_stripe, error, code, field):
    fake_stripe({("POST", "/v1/payment_methods"): error})
    with pytest.raises(AppError) as err:
        StripeGateway(api_key="sk_test_x").tokenize(card())
    assert (err.value.code, err.value.field) == (code, field)


def test_stripe_tokenize_refuses_other_brands_before_calling(fake_stripe):
    http = fake_stripe({})
    with pytest.raises(AppError) as err:
        StripeGateway(api_key="sk_test_x").tokenize(card("378282246310005"))
    assert err.value.code == "card_brand_unsupported"
    assert http.requests == []


def test_stripe_unreachable_is_an_app_error(fake_stripe):
    fake_stripe({("POST", "/v1/payment_methods"): (500, {"error": {"type": "api_error"}})})
    with pytest.raises(AppError) as err:
        StripeGateway(api_key="sk_test_x").tokenize(card())
    assert (err.value.code, err.value.status_code) == ("gateway_unavailable", 503)


@override_settings(SITE_URL="https://shop.example")
def test_stripe_charge_sends_the_idempotency_key(fake_stripe):
    http = fake_stripe({("POST", "/v1/payment_intents"): (200, _pi("succeeded"))})
    result = StripeGateway(api_key="sk_test_x").charge(
        token="pm_123", amount=1990, currency="BRL", idempotency_key="pay-42-1", description="#7"
    )
    assert result.status == "succeeded"
    assert (result.reference, result.funding) == ("pi_123", "debit")
    [req] = http.requests
    assert req["headers"]["Idempotency-Key"] == "pay-42-1"
    data = req["data"]
    assert data["amount"] == ["1990"]
    assert data["currency"] == ["brl"]
    assert data["payment_method"] == ["pm_123"]
    assert data["confirm"] == ["true"]
    assert data["return_url"] == ["https://shop.example/wallet/"]
    # The key is also in the intent's metadata, so that find_charge can search for it.
    assert data["metadata[conversa_idempotency_key]"] == ["pay-42-1"]


def test_stripe_find_charge_searches_the_intent_by_our_key(fake_stripe):
    # given: Stripe has the intent made with the key (and our search escapes quotes)
    found = {"object": "search_result", "data": [_pi("succeeded")], "has_more": False}
    http = fake_stripe({("GET", "/v1/payment_intents/search"): (200, found)})

    result = StripeGateway(api_key="sk_test_x").find_charge(idempotency_key="api:7:it's")

    assert (result.status, result.reference, result.funding) == ("succeeded", "pi_123", "debit")
    [req] = http.requests
    assert req["query"]["query"] == ["metadata['conversa_idempotency_key']:'api:7:it\\'s'"]


def test_stripe_find_charge_none_and_unavailable(fake_stripe):
    empty = {"object": "search_result", "data": [], "has_more": False}
    down = (401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
    fake_stripe({("GET", "/v1/payment_intents/search"): [(200, empty), down]})
    gateway = StripeGateway(api_key="sk_test_x")

    assert gateway.find_charge(idempotency_key="k") is None
    with pytest.raises(AppError) as unavailable:
        gateway.find_charge(idempotency_key="k")
    assert unavailable.value.code == "gateway_unavailable"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_card_error("card_declined", "insufficient_funds"), "insufficient_funds"),
        (_card_error("card_declined", "generic_decline"), "card_declined"),
        (_card_error("expired_card"), "expired_card"),
        (_card_error("incorrect_cvc"), "incorrect_cvc"),
        (_card_error("processing_error"), "processing_error"),
    ],
)
def test_stripe_charge_maps_declines(fake_stripe, error, code):
    status, body = error
    body["error"]["payment_intent"] = _pi("requires_payment_method")
    fake_stripe({("POST", "/v1/payment_intents"): (status, body)})
    result = StripeGateway(api_key="sk_test_x").charge(
        token="pm_1", amount=100, currency="BRL", idempotency_key="k", description=""
    )
    assert (result.status, result.failure_code, result.reference) == ("failed", code, "pi_123")
    assert result.failure_message


def test_stripe_charge_key_reused_with_other_params(fake_stripe):
    body = {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests…"}}
    fake_stripe({("POST", "/v1/payment_intents"): (400, body)})
    with pytest.raises(AppError) as err:
        StripeGateway(api_key="sk_test_x").charge(
            token="pm_1", amount=100, currency="BRL", idempotency_key="k", description=""
        )
    assert err.value.code == "idempotency_key_reused"


def test_stripe_3ds_then_complete(fake_stripe):
    action = {"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds"}}
    http = fake_stripe(
        {
            ("POST", "/v1/payment_intents"): (200, _pi("requires_action", next_action=action)),
            ("GET", "/v1/payment_intents/pi_123"): (200, _pi("succeeded")),
        }
    )
    gw = StripeGateway(api_key="sk_test_x")
    pending = gw.charge(
        token="pm_1", amount=100, currency="BRL", idempotency_key="k", description=""
    )
    assert (pending.status, pending.action_url) == (
        "requires_action",
        "https://hooks.stripe.com/3ds",
    )
    assert gw.complete_action(reference="pi_123", approve=True).status == "succeeded"
    assert http.requests[-1]["method"] == "get"


def test_stripe_3ds_given_up_cancels(fake_stripe):
    fake_stripe(
        {
            ("GET", "/v1/payment_intents/pi_123"): (200, _pi("requires_action")),
            ("POST", "/v1/payment_intents/pi_123/cancel"): (200, _pi("canceled")),
        }
    )
    result = StripeGateway(api_key="sk_test_x").complete_action(reference="pi_123", approve=False)
    assert (result.status, result.failure_code) == ("failed", "authentication_failed")


def test_stripe_refund_is_keyed(fake_stripe):
    http = fake_stripe({("POST", "/v1/refunds"): (200, {"id": "re_1", "object": "refund"})})
    assert (
        StripeGateway(api_key="sk_test_x").refund(
            reference="pi_123", amount=50, idempotency_key="r1"
        )
        == "re_1"
    )
    assert http.requests[0]["headers"]["Idempotency-Key"] == "r1"
    assert http.requests[0]["data"]["payment_intent"] == ["pi_123"]
