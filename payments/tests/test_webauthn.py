"""Fingerprints: registration and payment confirmation through py_webauthn, with a
software authenticator (an EC P-256 key made here, "none" attestation) that builds
the browser's ``credential.toJSON()`` answers byte by byte."""

import base64
import datetime
import hashlib
import json
import secrets
import struct

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.tests.factories import start_chat
from core.errors import AppError
from payments.models import Challenge, Order, WebAuthnCredential
from payments.services import webauthn

ORIGIN = "http://localhost:8000"
RP_ID = "localhost"
UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """A platform authenticator in software: one credential, a counter."""

    def __init__(self, *, rp_id: str = RP_ID, origin: str = ORIGIN):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.sign_count = 0
        self.rp_id, self.origin = rp_id, origin

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _auth_data(self, flags: int, attested: bool) -> bytes:
        data = hashlib.sha256(self.rp_id.encode()).digest()
        data += bytes([flags]) + struct.pack(">I", self.sign_count)
        if attested:
            data += bytes(16)  # AAGUID
            data += struct.pack(">H", len(self.credential_id)) + self.credential_id
            data += self._cose_key()
        return data

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict, *, flags: int = UP | UV | AT) -> dict:
        client_data = self._client_data("webauthn.create", options["challenge"])
        attestation = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": self._auth_data(flags, attested=True)}
        )
        cid = b64url(self.credential_id)
        return {
            "id": cid,
            "rawId": cid,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
        }

    def get(self, options: dict, *, flags: int = UP | UV, challenge: str | None = None) -> dict:
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", challenge or options["challenge"])
        auth_data = self._auth_data(flags, attested=False)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        cid = b64url(self.credential_id)
        return {
            "id": cid,
            "rawId": cid,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
        }


@pytest.fixture(autouse=True)
def _relying_party(settings):
    settings.SITE_URL = ORIGIN
    settings.WEBAUTHN_RP_ID = RP_ID


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def order(business, customer):
    # A bare pending order row: what is tested here is the confirmation, not ordering.
    conversation = start_chat(business, customer)
    return Order.objects.create(
        business=business,
        conversation=conversation,
        customer=customer,
        number=1,
        currency="BRL",
        subtotal=2490,
        total=2490,
        expires_at=timezone.now() + datetime.timedelta(days=1),
        created_by=business.memberships.first().user,
    )


@pytest.fixture
def device():
    return SoftAuthenticator()


def register(user, device, name="My phone") -> WebAuthnCredential:
    options = webauthn.registration_options(user=user)
    return webauthn.register_credential(user=user, response=device.create(options), name=name)


def pay_args(order, **overrides):
    return {
        "order": order,
        "amount": 2490,
        "currency": "BRL",
        "payee": "padaria-central",
        **overrides,
    }


# --- Registration ------------------------------------------------------------------------


def test_registration_options_ask_for_a_platform_authenticator_with_user_verification(customer):
    options = webauthn.registration_options(user=customer)

    assert options["rp"] == {"id": RP_ID, "name": "Conversa"}
    selection = options["authenticatorSelection"]
    assert selection["authenticatorAttachment"] == "platform"
    assert selection["userVerification"] == "required"
    assert selection["residentKey"] == "preferred"
    challenge = Challenge.objects.get(user=customer)
    assert challenge.purpose == Challenge.Purpose.REGISTER
    assert unb64url(options["challenge"]) == bytes(challenge.challenge)
    assert challenge.expires_at - challenge.created_at == datetime.timedelta(minutes=2)


def test_a_fingerprint_is_registered_and_listed(customer, device):
    credential = register(customer, device, name="  Pixel   7 ")

    assert bytes(credential.credential_id) == device.credential_id
    assert credential.name == "Pixel 7"
    assert credential.transports == ["internal"]
    assert list(webauthn.list_credentials(user=customer)) == [credential]
    assert Challenge.objects.get(user=customer).used_at is not None


def test_the_same_registration_answer_cannot_be_used_twice(customer, device):
    options = webauthn.registration_options(user=customer)
    answer = device.create(options)
    webauthn.register_credential(user=customer, response=answer, name="Phone")

    with pytest.raises(AppError) as exc:
        webauthn.register_credential(user=customer, response=answer, name="Phone")

    assert exc.value.code == "webauthn_invalid"
    assert WebAuthnCredential.objects.count() == 1


def test_registration_without_user_verification_is_refused(customer, device):
    options = webauthn.registration_options(user=customer)

    with pytest.raises(AppError) as exc:
        webauthn.register_credential(
            user=customer, response=device.create(options, flags=UP | AT), name="x"
        )

    assert exc.value.code == "webauthn_invalid"
    assert not WebAuthnCredential.objects.exists()


def test_registration_from_another_origin_is_refused(customer):
    options = webauthn.registration_options(user=customer)
    phishing = SoftAuthenticator(origin="https://evil.example")

    with pytest.raises(AppError) as exc:
        webauthn.register_credential(user=customer, response=phishing.create(options), name="x")

    assert exc.value.code == "webauthn_invalid"


def test_an_expired_registration_challenge_is_refused(customer, device, monkeypatch):
    options = webauthn.registration_options(user=customer)
    later = timezone.now() + datetime.timedelta(minutes=3)
    monkeypatch.setattr(timezone, "now", lambda: later)

    with pytest.raises(AppError) as exc:
        webauthn.register_credential(user=customer, response=device.create(options), name="x")

    assert exc.value.code == "webauthn_invalid"


@pytest.mark.parametrize(
    "response",
    ["not json", "[]", {}, {"id": "!!", "rawId": "!!", "response": {}}, 42, None],
)
def test_malformed_registration_answers_fail_cleanly(customer, response):
    webauthn.registration_options(user=customer)

    with pytest.raises(AppError) as exc:
        webauthn.register_credential(user=customer, response=response, name="x")

    assert exc.value.code == "webauthn_invalid"


def test_someone_elses_fingerprint_is_not_found(customer, device, outsider):
    credential = register(customer, device)

    with pytest.raises(AppError) as exc:
        webauthn.remove_credential(user=outsider, credential=credential)

    assert exc.value.code == "not_found"
    webauthn.remove_credential(user=customer, credential=credential)
    assert not WebAuthnCredential.objects.exists()


# --- Payment confirmation -------------------------------------------------------------


def test_payment_options_bind_the_challenge_to_the_payment(customer, device, order):
    register(customer, device)

    options = webauthn.payment_options(user=customer, **pay_args(order))

    challenge = Challenge.objects.get(purpose=Challenge.Purpose.PAY)
    assert (challenge.order, challenge.amount, challenge.currency) == (order, 2490, "BRL")
    expected = webauthn.payment_challenge(
        order_id=order.pk, amount=2490, currency="BRL", payee="padaria-central",
        nonce=challenge.nonce,
    )  # fmt: skip
    assert unb64url(options["challenge"]) == expected == bytes(challenge.challenge)
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(device.credential_id)]


def test_payment_options_need_a_fingerprint(customer, order):
    with pytest.raises(AppError) as exc:
        webauthn.payment_options(user=customer, **pay_args(order))

    assert exc.value.code == "webauthn_missing"


def test_a_payment_is_confirmed_once_and_a_replay_fails(customer, device, order):
    credential = register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    assertion = device.get(options)

    webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))

    credential.refresh_from_db()
    assert credential.sign_count == 1
    assert credential.last_used_at is not None
    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))
    assert exc.value.code == "webauthn_invalid"


@pytest.mark.parametrize(
    "changed",
    [{"amount": 2491}, {"amount": 249000}, {"payee": "loja-vizinha"}, {"currency": "USD"}],
)
def test_an_assertion_for_another_amount_or_payee_fails(customer, device, order, changed):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    assertion = device.get(options)

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order, **changed))

    assert exc.value.code == "webauthn_invalid"
    # and the challenge is spent: the right payment needs a new confirmation
    with pytest.raises(AppError):
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))


def test_an_assertion_signed_over_another_challenge_fails(customer, device, order):
    register(customer, device)
    webauthn.payment_options(user=customer, **pay_args(order))
    forged = webauthn.payment_challenge(
        order_id=order.pk, amount=1, currency="BRL", payee="padaria-central", nonce="0" * 32
    )
    assertion = device.get({}, challenge=b64url(forged))

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


def test_an_expired_payment_challenge_fails(customer, device, order, monkeypatch):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    assertion = device.get(options)
    later = timezone.now() + datetime.timedelta(minutes=2, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


def test_a_tampered_signature_fails(customer, device, order):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    assertion = device.get(options)
    signature = bytearray(unb64url(assertion["response"]["signature"]))
    signature[-1] ^= 0x01
    assertion["response"]["signature"] = b64url(bytes(signature))

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))

    assert exc.value.code == "webauthn_invalid"
    assert WebAuthnCredential.objects.get().sign_count == 0


def test_tampered_authenticator_data_fails(customer, device, order):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    assertion = device.get(options)
    data = bytearray(unb64url(assertion["response"]["authenticatorData"]))
    data[36] = 0xFF  # the sign counter's last byte, after the signature was made
    assertion["response"]["authenticatorData"] = b64url(bytes(data))

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


def test_an_assertion_without_user_verification_fails(customer, device, order):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(
            user=customer, response=device.get(options, flags=UP), **pay_args(order)
        )

    assert exc.value.code == "webauthn_invalid"


def test_a_cloned_authenticator_is_caught_by_the_sign_count(customer, device, order):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    webauthn.verify_payment(user=customer, response=device.get(options), **pay_args(order))
    device.sign_count = 0  # a copy of the key that has not counted the first use

    options = webauthn.payment_options(user=customer, **pay_args(order))
    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=device.get(options), **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


def test_another_users_fingerprint_cannot_confirm(customer, device, order):
    register(customer, device)
    thief = UserFactory()
    thief_device = SoftAuthenticator()
    register(thief, thief_device)
    options = webauthn.payment_options(user=customer, **pay_args(order))

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(
            user=customer, response=thief_device.get(options), **pay_args(order)
        )

    assert exc.value.code == "webauthn_invalid"


def test_a_challenge_for_another_user_does_not_count(customer, device, order):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    other_user = UserFactory()
    register(other_user, SoftAuthenticator())

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=other_user, response=device.get(options), **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


@pytest.mark.parametrize(
    "response",
    [
        "{not json",
        "null",
        [],
        {},
        {"rawId": 5},
        {"id": "AAAA", "rawId": "AAAA"},
        {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"signature": "@@"}},
    ],
)
def test_malformed_payment_answers_fail_cleanly(customer, device, order, response):
    register(customer, device)
    webauthn.payment_options(user=customer, **pay_args(order))

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=response, **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


def test_garbage_in_a_known_credentials_answer_fails_cleanly(customer, device, order):
    register(customer, device)
    options = webauthn.payment_options(user=customer, **pay_args(order))
    assertion = device.get(options)
    assertion["response"]["clientDataJSON"] = b64url(b"\xff\xfe not json")

    with pytest.raises(AppError) as exc:
        webauthn.verify_payment(user=customer, response=assertion, **pay_args(order))

    assert exc.value.code == "webauthn_invalid"


# --- Pages ----------------------------------------------------------------------------------


def test_the_fingerprints_page_lists_and_removes(client, customer, device):
    credential = register(customer, device, name="Work phone")
    client.force_login(customer)

    page = client.get(reverse("wallet_fingerprints"))
    assert page.status_code == 200
    assert "Work phone" in page.content.decode()

    response = client.post(reverse("wallet_fingerprint_remove", args=[credential.pk]))
    assert response.status_code == 302
    assert not WebAuthnCredential.objects.exists()


def test_registering_through_the_json_endpoints(client, customer, device):
    client.force_login(customer)

    options = client.post(reverse("wallet_fingerprint_options")).json()
    answer = client.post(
        reverse("wallet_fingerprint_register"),
        data={"name": "Phone", "credential": device.create(options)},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["ok"] is True
    assert WebAuthnCredential.objects.get().name == "Phone"


@pytest.mark.parametrize("body", ["{", "[]", '{"credential": "x"}', '"str"'])
def test_the_register_endpoint_answers_bad_json_with_400(client, customer, body):
    client.force_login(customer)
    client.post(reverse("wallet_fingerprint_options"))

    answer = client.post(
        reverse("wallet_fingerprint_register"), data=body, content_type="application/json"
    )

    assert answer.status_code == 400
    assert answer.json()["code"] == "webauthn_invalid"


def test_an_outsider_cannot_remove_someone_elses_fingerprint(client, customer, device, outsider):
    credential = register(customer, device)
    client.force_login(outsider)

    response = client.post(reverse("wallet_fingerprint_remove", args=[credential.pk]))

    assert response.status_code == 404
    assert WebAuthnCredential.objects.exists()


def test_the_pages_need_a_signed_in_user(client):
    for name in ("wallet_fingerprints", "wallet_pin"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- Housekeeping --------------------------------------------------------------------------


def test_challenges_expired_a_day_ago_are_purged_by_the_hourly_task(customer):
    webauthn.registration_options(user=customer)
    webauthn.registration_options(user=customer)
    old, fresh = Challenge.objects.order_by("pk")
    Challenge.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )

    from payments.tasks import purge_stale_records

    assert purge_stale_records() == {"idempotency_records": 0, "challenges": 1}
    assert list(Challenge.objects.all()) == [fresh]


# --- Person to person: no order, the payee bound ----------------------------------------------


def test_a_p2p_challenge_binds_amount_and_payee_without_an_order(customer, device):
    register(customer, device)
    p2p = {"order": None, "amount": 1500, "currency": "BRL", "payee": "user:42"}
    options = webauthn.payment_options(user=customer, **p2p)
    assertion = device.get(options)
    # another payee or amount is refused (and the challenge is used up)
    with pytest.raises(AppError) as caught:
        webauthn.verify_payment(user=customer, response=assertion, **(p2p | {"payee": "user:43"}))
    assert caught.value.code == "webauthn_invalid"
    options = webauthn.payment_options(user=customer, **p2p)
    webauthn.verify_payment(user=customer, response=device.get(options), **p2p)
    used = Challenge.objects.filter(user=customer, purpose="pay", order=None, used_at__isnull=False)
    assert used.count() == 2
