"""Pix test helpers: what the sandbox PSP does on its side (a Pix paid in its bank),
and its signed callback posted to our endpoint through the test client."""

import time
import uuid

from django.urls import reverse
from django.utils import timezone

from payments.models import SandboxPix
from payments.pix import sandbox


def bank_pays(charge, *, amount=None, txid=None, paid_at=None) -> SandboxPix:
    """A Pix paid at the sandbox bank (the provider's record), for ``charge``."""
    return SandboxPix.objects.create(
        end_to_end_id="E" + uuid.uuid4().hex[:31].upper(),
        txid=charge.txid if txid is None else txid,
        amount=charge.amount if amount is None else amount,
        paid_at=paid_at or timezone.now(),
        payer_name="Carla Pagadora",
    )


def signed_headers(body: bytes, *, timestamp: int | None = None, secret_ok: bool = True) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = sandbox.sign(body, timestamp)
    if not secret_ok:
        signature = "0" * len(signature)
    return {
        "HTTP_X_PIX_SIGNATURE": signature,
        "HTTP_X_PIX_TIMESTAMP": str(timestamp),
    }


def post_callback(client, rows, **sign):
    """The provider's ``POST {url}/pix`` for ``rows`` (several items in one call)."""
    body = sandbox.callback_body(list(rows))
    return client.post(
        reverse("pix_callback", args=["sandbox"]),
        data=body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **signed_headers(body, **sign),
    )
