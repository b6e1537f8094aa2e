"""The built-in sandbox Pix provider (the default, ``PIX_PROVIDER=sandbox``) and its
bank: what a PSP does, with no network.

Its books are two tables (``SandboxPixCharge``, ``SandboxPix``), so the web processes,
the Celery worker and the sandbox bank page share them on SQLite and PostgreSQL alike.
The sandbox bank (``payments.views.pix``: paste a code or open the QR's link, "Pay")
calls :func:`pay_code`, which records the Pix and then delivers it the way a real
PSP would: an HTTP ``POST {callback}/pix`` with ``{"pix": [...]}``, signed with
``PIX_CALLBACK_SECRET`` (:func:`sign`), from a Celery task (:func:`deliver`).
"""

import datetime
import hashlib
import hmac
import json
import logging
import re
import time
import uuid

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core import events
from core.errors import AppError
from payments.models import SandboxPix, SandboxPixCharge
from payments.pix import brcode
from payments.pix.base import (
    ChargeStatus,
    PixCharge,
    PixRefund,
    ReceivedPix,
    RefundStatus,
)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Pix-Signature"
TIMESTAMP_HEADER = "X-Pix-Timestamp"
SIGNATURE_TOLERANCE = 5 * 60  # seconds a signed callback stays valid
LOCATION_HOST = "pix.sandbox.conversa.invalid/qr/v2/"
# The sandbox bank refuses to return a Pix of this amount (centavos), to test failures.
REFUND_REFUSED_AMOUNT = 666


def _copy_paste(*, location: str, name: str, city: str, amount: int) -> str:
    """The charge's dynamic BR Code."""
    return brcode.build_dynamic(location=location, name=name, city=city, amount=amount)


def _charge(row: SandboxPixCharge) -> PixCharge:
    return PixCharge(
        txid=row.txid,
        status=ChargeStatus(row.status),
        amount=row.amount,
        created_at=row.created_at,
        expires_in=row.expires_in,
        copy_paste=row.copy_paste,
        location=row.location,
    )


def _received(row: SandboxPix) -> ReceivedPix:
    return ReceivedPix(
        end_to_end_id=row.end_to_end_id,
        txid=row.txid,
        amount=row.amount,
        paid_at=row.paid_at,
        payer_name=row.payer_name,
        refunds=tuple(
            PixRefund(
                end_to_end_id=row.end_to_end_id,
                refund_id=r["id"],
                amount=r["amount"],
                status=RefundStatus(r["status"]),
                rtr_id=r.get("rtr_id", ""),
            )
            for r in row.refunds
        ),
    )


def sign(body: bytes, timestamp: int) -> str:
    """The callback's signature: hex HMAC-SHA256 of ``"{timestamp}.{body}"``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(settings.PIX_CALLBACK_SECRET.encode(), message, hashlib.sha256).hexdigest()


def _unauthenticated() -> AppError:
    return AppError(
        _("This callback is not signed by the Pix provider."),
        code="pix_callback_unauthenticated",
        status_code=401,
    )


def _malformed() -> AppError:
    return AppError(_("This callback is malformed."), code="pix_callback_malformed")


def _centavos(value) -> int:
    """``"12.34"`` → 1234, strictly (the API's amount strings)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,12}\.\d{2}", value):
        raise _malformed()
    whole, cents = value.split(".")
    return int(whole) * 100 + int(cents)


def callback_body(rows: list[SandboxPix]) -> bytes:
    """The JSON a PSP posts for ``rows`` (Bacen's ``{"pix": [...]}``)."""
    return json.dumps(
        {
            "pix": [
                {
                    "endToEndId": row.end_to_end_id,
                    "txid": row.txid,
                    "valor": f"{row.amount // 100}.{row.amount % 100:02d}",
                    "horario": row.paid_at.isoformat(),
                    "infoPagador": row.payer_name,
                }
                for row in rows
            ]
        }
    ).encode()


class SandboxPixProvider:
    """The ``PixProvider`` contract (``payments.pix.base``) over the sandbox's tables."""

    name = "sandbox"

    def create_charge(
        self, *, txid: str, amount: int, expires_in: int, payee_name: str, description: str,
        payee_city: str = "",
    ) -> PixCharge:  # fmt: skip
        location = LOCATION_HOST + txid
        code = _copy_paste(
            location=location, name=payee_name, city=payee_city or "BRASIL", amount=amount
        )
        try:
            with transaction.atomic():
                row = SandboxPixCharge.objects.create(
                    txid=txid, amount=amount, status=ChargeStatus.ACTIVE,
                    payee_name=payee_name[:140], payee_city=payee_city[:80],
                    description=description[:140], copy_paste=code, location=location,
                    expires_in=expires_in,
                )  # fmt: skip
        except IntegrityError:
            row = SandboxPixCharge.objects.get(txid=txid)
            if row.amount != amount:
                raise AppError(
                    _("This txid already has another charge."), code="pix_txid_taken"
                ) from None
        return _charge(row)

    def get_charge(self, txid: str) -> PixCharge:
        row = SandboxPixCharge.objects.filter(txid=txid).first()
        if row is None:
            raise AppError(_("Pix charge not found."), code="not_found", status_code=404)
        return _charge(row)

    def cancel_charge(self, txid: str) -> PixCharge:
        SandboxPixCharge.objects.filter(txid=txid, status=ChargeStatus.ACTIVE).update(
            status=ChargeStatus.REMOVED_BY_RECEIVER
        )
        return self.get_charge(txid)

    def list_received(self, *, start: datetime.datetime, end: datetime.datetime):
        rows = SandboxPix.objects.filter(paid_at__gte=start, paid_at__lt=end)
        return [_received(row) for row in rows]

    def refund(self, *, end_to_end_id: str, refund_id: str, amount: int) -> PixRefund:
        with transaction.atomic():
            row = (
                SandboxPix.objects.select_for_update(no_key=True)
                .filter(end_to_end_id=end_to_end_id)
                .first()
            )
            if row is None:
                raise AppError(_("Pix not found."), code="pix_not_found", status_code=404)
            for existing in row.refunds:
                if existing["id"] == refund_id:
                    break
            else:
                returned = sum(
                    r["amount"] for r in row.refunds if r["status"] != RefundStatus.NOT_DONE
                )
                refused = amount == REFUND_REFUSED_AMOUNT or returned + amount > row.amount
                existing = {
                    "id": refund_id,
                    "amount": amount,
                    "status": RefundStatus.NOT_DONE if refused else RefundStatus.RETURNED,
                    "rtr_id": "" if refused else "D" + uuid.uuid4().hex[:31],
                }
                row.refunds = [*row.refunds, existing]
                row.save(update_fields=["refunds"])
        return PixRefund(
            end_to_end_id=end_to_end_id,
            refund_id=refund_id,
            amount=existing["amount"],
            status=RefundStatus(existing["status"]),
            rtr_id=existing["rtr_id"],
        )

    def parse_callback(self, *, body: bytes, headers) -> list[ReceivedPix]:
        signature = headers.get(SIGNATURE_HEADER, "")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        if not signature or not timestamp.isdigit():
            raise _unauthenticated()
        if abs(time.time() - int(timestamp)) > SIGNATURE_TOLERANCE:
            raise _unauthenticated()
        if not hmac.compare_digest(sign(body, int(timestamp)), signature):
            raise _unauthenticated()
        try:
            data = json.loads(body)
        except ValueError:
            raise _malformed() from None
        items = data.get("pix") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items or len(items) > 100:
            raise _malformed()
        found = []
        for item in items:
            if not isinstance(item, dict):
                raise _malformed()
            e2e, txid = item.get("endToEndId"), item.get("txid", "") or ""
            paid_at = (
                parse_datetime(item["horario"]) if isinstance(item.get("horario"), str) else None
            )
            if (
                not isinstance(e2e, str) or not re.fullmatch(r"[a-zA-Z0-9]{1,64}", e2e)
                or not isinstance(txid, str) or len(txid) > 35
                or paid_at is None or timezone.is_naive(paid_at)
            ):  # fmt: skip
                raise _malformed()
            payer = item.get("infoPagador", "")
            found.append(
                ReceivedPix(
                    end_to_end_id=e2e,
                    txid=txid,
                    amount=_centavos(item.get("valor")),
                    paid_at=paid_at,
                    payer_name=payer[:140] if isinstance(payer, str) else "",
                )
            )
        return found


# --- The sandbox bank ----------------------------------------------------------------


def find_charge(code: str) -> SandboxPixCharge:
    """The sandbox charge a pasted Pix code (or a QR link's code) points at: AppError
    for a code that is not a valid BR Code of this sandbox."""
    code = (code or "").strip()
    invalid = AppError(
        _("This is not a Pix code of the sandbox. Paste the whole “Pix Copia e Cola” code."),
        code="pix_code_invalid",
        field="code",
    )
    try:
        brcode.parse(code)
    except Exception:  # any parse failure is the payer's bad code
        raise invalid from None
    location = _tlv(_tlv(code).get("26", "")).get("25", "")
    row = SandboxPixCharge.objects.filter(location=location).first() if location else None
    if row is None or row.copy_paste != code:
        raise invalid
    return row


def _tlv(text: str) -> dict[str, str]:
    """The ID-length-value fields of an EMV payload ({} when it is not one)."""
    fields, at = {}, 0
    while at < len(text):
        tag, size = text[at : at + 2], text[at + 2 : at + 4]
        if not size.isdigit() or at + 4 + int(size) > len(text):
            return {}
        fields[tag] = text[at + 4 : at + 4 + int(size)]
        at += 4 + int(size)
    return fields


def charge_expired(row: SandboxPixCharge, now: datetime.datetime | None = None) -> bool:
    return (now or timezone.now()) >= row.created_at + datetime.timedelta(seconds=row.expires_in)


def pay_code(*, code: str, payer_name: str, callback_base: str) -> SandboxPix:
    """The sandbox bank pays the charge of ``code`` (as a payer's bank app would: it
    does not refuse a second payment or a late one, the receiver must) and delivers
    the Pix to ``callback_base`` + ``/pix`` after the commit (a Celery task)."""
    row = find_charge(code)
    if row.status != ChargeStatus.ACTIVE and row.status != ChargeStatus.COMPLETED:
        raise AppError(_("This Pix charge was removed by the receiver."), code="pix_removed")
    with transaction.atomic():
        pix = SandboxPix.objects.create(
            end_to_end_id="E" + uuid.uuid4().hex[:31].upper(),
            txid=row.txid,
            amount=row.amount,
            payer_name=(payer_name or "")[:140],
        )
        SandboxPixCharge.objects.filter(pk=row.pk).update(status=ChargeStatus.COMPLETED)
        events.enqueue_on_commit(
            "payments.tasks.deliver_sandbox_pix", pix_id=pix.pk, callback_base=callback_base
        )
    return pix


def deliver_now(*, pix_id: int, callback_base: str) -> bool:
    """The bank page's immediate delivery, so the payer's chat turns paid at once;
    whether it reached the callback. A failure is only logged: ``pay_code``'s task
    (after its commit) delivers it, with retries."""
    try:
        return 200 <= deliver(pix_id=pix_id, callback_base=callback_base) < 300
    except Exception:  # the task delivers it; the bank page never fails for this
        log.warning("sandbox Pix %s: immediate delivery failed; the task retries it", pix_id)
        return False


def deliver(*, pix_id: int, callback_base: str) -> int:
    """POST the Pix ``pix_id`` to ``{callback_base}/pix``, signed; returns the HTTP
    status. Marks it delivered on a 2xx (the Celery task retries otherwise); one
    already delivered is not sent again (200)."""
    row = SandboxPix.objects.get(pk=pix_id)
    if row.delivered:
        return 200
    base = settings.PIX_SANDBOX_CALLBACK_BASE or callback_base
    body = callback_body([row])
    timestamp = int(time.time())
    response = httpx.post(
        base.rstrip("/") + "/pix",
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, timestamp),
            TIMESTAMP_HEADER: str(timestamp),
        },
        timeout=10,
    )
    if 200 <= response.status_code < 300:
        SandboxPix.objects.filter(pk=pix_id).update(delivered=True)
    return response.status_code
