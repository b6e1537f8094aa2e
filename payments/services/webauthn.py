"""Fingerprints (WebAuthn platform credentials, user verification required) to confirm
payments, with py_webauthn.

Registration: :func:`registration_options` stores a single-use ``Challenge`` (purpose
``register``, 2 minutes); :func:`register_credential` verifies the browser's answer
against the user's latest unused one.

Payment: :func:`payment_options` binds the challenge to the payment — SHA-256 over a
canonical encoding of (order id, amount, currency, payee, random nonce) — and stores
the nonce; :func:`verify_payment` recomputes that digest from *its own arguments*, so
an assertion made for another amount, currency, payee or order does not verify. A
challenge is used once (success or failure) and expires after 2 minutes.

Every failure is an AppError ``webauthn_invalid`` (``webauthn_missing`` when the user
has no fingerprint); malformed input never escapes as another exception.
"""

import datetime
import hashlib
import hmac
import json
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from core.cards import refuse_card_number
from core.errors import AppError
from payments.models import Challenge, WebAuthnCredential

log = logging.getLogger(__name__)

CHALLENGE_TTL = datetime.timedelta(minutes=2)
NAME_MAX = 60
_TRANSPORTS = {t.value for t in AuthenticatorTransport}


def expected_origin() -> str:
    """The origin browsers report for this site: scheme://host[:port] of SITE_URL."""
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def _invalid(message: str | None = None) -> AppError:
    return AppError(
        message or _("The fingerprint confirmation could not be verified. Please try again."),
        code="webauthn_invalid",
    )


def _options_dict(options) -> dict:
    return json.loads(options_to_json(options))


def _as_dict(response: Any) -> dict:
    """The browser's ``credential.toJSON()``, as a dict; AppError if it is not one."""
    if isinstance(response, (str, bytes)):
        try:
            response = json.loads(response)
        except ValueError:
            raise _invalid() from None
    if not isinstance(response, dict):
        raise _invalid()
    return response


def _raw_id(response: dict) -> bytes:
    raw = response.get("rawId") or response.get("id")
    if not isinstance(raw, str) or not raw:
        raise _invalid()
    try:
        return base64url_to_bytes(raw)
    except (ValueError, TypeError):
        raise _invalid() from None


def _descriptor(credential: WebAuthnCredential) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=bytes(credential.credential_id),
        transports=[AuthenticatorTransport(t) for t in credential.transports if t in _TRANSPORTS],
    )


def list_credentials(*, user):
    return WebAuthnCredential.objects.filter(user=user).order_by("created_at", "id")


def has_credentials(user) -> bool:
    return WebAuthnCredential.objects.filter(user=user).exists()


# --- Registration -------------------------------------------------------------------------


def registration_options(*, user) -> dict:
    """Options for ``navigator.credentials.create`` (JSON-ready), with a new
    single-use ``register`` challenge valid 2 minutes."""
    challenge = secrets.token_bytes(32)
    now = timezone.now()
    Challenge.objects.create(
        user=user,
        purpose=Challenge.Purpose.REGISTER,
        nonce=secrets.token_hex(16),
        challenge=challenge,
        created_at=now,
        expires_at=now + CHALLENGE_TTL,
    )
    options = generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        # An opaque, stable handle: no e-mail address in the authenticator's user id.
        user_id=f"conversa-user-{user.pk}".encode(),
        user_name=user.email,
        user_display_name=user.get_short_name() or user.email,
        challenge=challenge,
        timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(c) for c in list_credentials(user=user)],
    )
    return _options_dict(options)


def register_credential(*, user, response: dict, name: str) -> WebAuthnCredential:
    """Verify the browser's ``credential.toJSON()`` against the user's latest unused
    ``register`` challenge (used up by this call, whatever the outcome) and store the
    credential. AppError ``webauthn_invalid`` on any failure."""
    name = " ".join((name or "").split())[:NAME_MAX] or _("Fingerprint")
    refuse_card_number(name, field="name")
    error: AppError | None = None
    credential = None
    with transaction.atomic():
        challenge = (
            Challenge.objects.select_for_update(no_key=True)
            .filter(user=user, purpose=Challenge.Purpose.REGISTER, used_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        now = timezone.now()
        if challenge is None or challenge.expires_at <= now:
            error = _invalid(_("The request expired. Please try again."))
        else:
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            try:
                data = _as_dict(response)
                verified = verify_registration_response(
                    credential=data,
                    expected_challenge=bytes(challenge.challenge),
                    expected_rp_id=settings.WEBAUTHN_RP_ID,
                    expected_origin=expected_origin(),
                    require_user_verification=True,
                )
            except AppError as exc:
                error = exc
            except Exception:  # untrusted input: any parse failure is a refusal
                log.info("WebAuthn registration refused for user %s", user.pk, exc_info=True)
                error = _invalid()
            else:
                if WebAuthnCredential.objects.filter(credential_id=verified.credential_id).exists():
                    error = _invalid(_("This fingerprint is already registered."))
                else:
                    transports = (data.get("response") or {}).get("transports") or []
                    credential = WebAuthnCredential.objects.create(
                        user=user,
                        credential_id=verified.credential_id,
                        public_key=verified.credential_public_key,
                        sign_count=verified.sign_count,
                        transports=[t for t in transports if t in _TRANSPORTS],
                        name=name,
                    )
    if error is not None:
        raise error
    return credential


def remove_credential(*, user, credential: WebAuthnCredential) -> None:
    """Delete one of the user's fingerprints; someone else's is "not found"."""
    deleted, _rows = WebAuthnCredential.objects.filter(pk=credential.pk, user=user).delete()
    if not deleted:
        raise AppError(_("Fingerprint not found."), code="not_found", status_code=404)


# --- Payment confirmation -------------------------------------------------------------------


def payment_challenge(
    *, order_id: int | None, amount: int, currency: str, payee: str, nonce: str
) -> bytes:
    """SHA-256 over the canonical encoding of what the customer confirms. A
    person-to-person payment has no order (``order_id`` None, encoded as 0); its
    payee (``user:<id>``), amount and currency are bound all the same."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _invalid()
    canonical = json.dumps(
        {
            "v": 1,
            "order": int(order_id or 0),
            "amount": amount,
            "currency": str(currency).upper(),
            "payee": str(payee),
            "nonce": nonce,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(b"conversa-payment\n" + canonical.encode()).digest()


def payment_options(*, user, order, amount: int, currency: str, payee: str) -> dict:
    """Options for ``navigator.credentials.get`` (JSON-ready) confirming this payment:
    a ``pay`` challenge bound to (order — None for a person-to-person payment —,
    amount, currency, payee, nonce), single use,
    valid 2 minutes, allowing the user's fingerprints. AppError ``webauthn_missing``
    when the user has none."""
    credentials = list(list_credentials(user=user))
    if not credentials:
        raise AppError(_("Add a fingerprint in your wallet first."), code="webauthn_missing")
    nonce = secrets.token_hex(16)
    challenge = payment_challenge(
        order_id=order.pk if order is not None else None,
        amount=amount,
        currency=currency,
        payee=payee,
        nonce=nonce,
    )
    now = timezone.now()
    Challenge.objects.create(
        user=user,
        purpose=Challenge.Purpose.PAY,
        nonce=nonce,
        challenge=challenge,
        order=order,
        amount=amount,
        currency=str(currency).upper()[:3],
        payee=str(payee)[:40],
        created_at=now,
        expires_at=now + CHALLENGE_TTL,
    )
    options = generate_authentication_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        challenge=challenge,
        timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
        allow_credentials=[_descriptor(c) for c in credentials],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return _options_dict(options)


def verify_payment(*, user, order, amount: int, currency: str, payee: str, response: dict) -> None:
    """Check the browser's assertion (``credential.toJSON()``) for this payment.

    Takes the user's latest unused, unexpired ``pay`` challenge for ``order`` under a
    row lock, recomputes the expected challenge from the arguments, verifies the
    signature, user verification and sign count with the user's credential, and marks
    the challenge used — also when verification fails, so nothing can be retried on
    it. Runs in its own transaction and raises AppError ``webauthn_invalid`` after it
    commits: call it outside any ``transaction.atomic()`` block (see docs/payments.md).
    """
    error: AppError | None = None
    with transaction.atomic():
        now = timezone.now()
        challenge = (
            Challenge.objects.select_for_update(no_key=True)
            .filter(
                user=user,
                purpose=Challenge.Purpose.PAY,
                order=order,
                used_at__isnull=True,
                expires_at__gt=now,
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if challenge is None:
            error = _invalid(
                _("The confirmation expired or was already used. Please confirm again.")
            )
        else:
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            error = _verify_assertion(
                user=user,
                challenge=challenge,
                order=order,
                amount=amount,
                currency=currency,
                payee=payee,
                response=response,
            )
    if error is not None:
        raise error


def _verify_assertion(
    *, user, challenge, order, amount, currency, payee, response
) -> AppError | None:
    try:
        expected = payment_challenge(
            order_id=order.pk if order is not None else None,
            amount=amount,
            currency=currency,
            payee=payee,
            nonce=challenge.nonce,
        )
        if not hmac.compare_digest(expected, bytes(challenge.challenge)):
            return _invalid(_("The payment changed after it was confirmed. Please confirm again."))
        data = _as_dict(response)
        credential = (
            WebAuthnCredential.objects.select_for_update(no_key=True)
            .filter(user=user, credential_id=_raw_id(data))
            .first()
        )
        if credential is None:
            return _invalid(_("This fingerprint is not registered to your account."))
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=expected,
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=expected_origin(),
            credential_public_key=bytes(credential.public_key),
            credential_current_sign_count=credential.sign_count,
            require_user_verification=True,
        )
    except AppError as exc:
        return exc
    except Exception:  # untrusted input: any parse failure is a refusal
        log.info("WebAuthn payment confirmation refused for user %s", user.pk, exc_info=True)
        return _invalid()
    credential.sign_count = verified.new_sign_count
    credential.last_used_at = timezone.now()
    credential.save(update_fields=["sign_count", "last_used_at"])
    return None


def purge_challenges(*, now: datetime.datetime | None = None) -> int:
    """Delete challenges that expired a day ago or more (used or not); returns how
    many. Safe at any time: an expired challenge verifies nothing, and a replayed
    assertion whose challenge is gone fails like one whose challenge was used."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=1)
    deleted, _rows = Challenge.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
