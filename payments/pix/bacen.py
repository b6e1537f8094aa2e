"""The Pix provider for the standard Bacen Pix API (docs/pix.md, "Bacen adapter"),
which most Brazilian PSPs implement (Efí, Banco do Brasil, Sicoob, Itaú, ...).

- **OAuth2 client credentials** at ``PIX_BACEN_TOKEN_URL`` (HTTP Basic with the client
  id and secret, as the PSPs ask); the token is kept in this process until shortly
  before it expires, and fetched again once when the API answers 401.
- **Mutual TLS** on every call (token included), with the certificate and key the PSP
  issued (``PIX_BACEN_CERT``, ``PIX_BACEN_KEY``: PEM file paths).
- **Callback authentication.** The PSP calls ``{webhookUrl}/pix`` over mTLS, but mTLS
  ends at our proxy, so the application cannot see who called. The ``webhookUrl`` we
  register therefore carries a secret (``PIX_CALLBACK_SECRET``) as its last path
  segment; the callback view hands it to :meth:`BacenPixProvider.parse_callback` in the
  ``X-Pix-Callback-Token`` header (a proxy may set that header instead). A missing or
  wrong token, or no secret configured, is refused with 401.

Amounts are integer centavos on our side and ``"12.34"`` strings on the API's, never
floats. Network failures, timeouts and 5xx answers are :func:`provider_unavailable`;
the PSP's problem answers (RFC 7807) become clear :class:`AppError`\\ s.
"""

import hmac
import json
import logging
import ssl
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.errors import AppError
from payments.pix import brcode
from payments.pix.base import (
    ChargeStatus,
    PixCharge,
    PixRefund,
    ReceivedPix,
    RefundStatus,
    provider_unavailable,
)

logger = logging.getLogger(__name__)

CALLBACK_TOKEN_HEADER = "X-Pix-Callback-Token"  # noqa: S105 (a header name)
TOKEN_MARGIN = 60  # seconds before its expiry that a token is renewed
PAGE_SIZE = 100
MAX_PAGES = 1000  # 100,000 Pix in one reconciliation window is a bug, not a page
MAX_CALLBACK_BYTES = 1_000_000

# (token_url, client_id) -> (access token, monotonic deadline). Per process: a token is
# cheap to fetch again, and nothing else must see it.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()
_providers: dict[tuple, "BacenPixProvider"] = {}


def mtls_context(cert: str, key: str) -> ssl.SSLContext:
    """The TLS context of every call to the PSP: the system's CAs, our client
    certificate and key."""
    context = ssl.create_default_context()
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise ImproperlyConfigured(
            f"PIX_BACEN_CERT / PIX_BACEN_KEY cannot be loaded: {error}"
        ) from error
    return context


def to_api_amount(amount: int) -> str:
    return brcode.format_amount(amount)


def from_api_amount(text: Any) -> int:
    if not isinstance(text, str):
        raise _malformed()
    try:
        return brcode.parse_amount(text)
    except AppError:
        raise _malformed() from None


def _parse_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise _malformed()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _malformed() from None
    if moment.tzinfo is None:
        raise _malformed()
    return moment


def _malformed() -> AppError:
    return AppError(_("The Pix provider sent data this site cannot read."), code="pix_malformed")


def _refused(detail: str = "") -> AppError:
    logger.warning("Pix provider refused a request: %s", detail[:300])
    return AppError(
        _("The Pix provider refused this operation."), code="pix_refused", status_code=502
    )


def _not_found() -> AppError:
    return AppError(
        _("The Pix provider does not know this charge or Pix."),
        code="pix_not_found",
        status_code=404,
    )


def unauthenticated_callback() -> AppError:
    return AppError(
        _("This Pix notification is not authenticated."),
        code="pix_callback_unauthenticated",
        status_code=401,
    )


class BacenPixProvider:
    """``payments.pix.base.PixProvider`` over the Bacen Pix API. Every method makes
    HTTP calls: call it outside any database transaction."""

    name = "bacen"

    def __init__(
        self,
        *,
        api_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        cert: str,
        key: str,
        pix_key: str,
        callback_secret: str,
        city: str = "",
        timeout: float = 10.0,
    ):
        if not (api_url and token_url and client_id and client_secret and pix_key):
            raise ImproperlyConfigured(
                "PIX_PROVIDER=bacen needs PIX_BACEN_API_URL, PIX_BACEN_TOKEN_URL, "
                "PIX_BACEN_CLIENT_ID, PIX_BACEN_CLIENT_SECRET and PIX_KEY."
            )
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.pix_key = pix_key
        self.callback_secret = callback_secret
        self.city = city or "BRASIL"
        self.http = httpx.Client(
            verify=mtls_context(cert, key) if cert else True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"Accept": "application/json"},
        )

    @classmethod
    def from_settings(cls) -> "BacenPixProvider":
        """The provider of the current settings, one per process (its HTTP client keeps
        its connections, and the certificate is read once)."""
        config = {
            "api_url": settings.PIX_BACEN_API_URL,
            "token_url": settings.PIX_BACEN_TOKEN_URL,
            "client_id": settings.PIX_BACEN_CLIENT_ID,
            "client_secret": settings.PIX_BACEN_CLIENT_SECRET,
            "cert": settings.PIX_BACEN_CERT,
            "key": settings.PIX_BACEN_KEY,
            "pix_key": settings.PIX_KEY,
            "callback_secret": settings.PIX_CALLBACK_SECRET,
            "city": settings.PIX_MERCHANT_CITY,
        }
        cache_key = tuple(config.values())
        with _tokens_lock:
            provider = _providers.get(cache_key)
        if provider is None:
            provider = cls(**config)
            with _tokens_lock:
                _providers.clear()  # the settings changed (tests): drop the old one
                _providers[cache_key] = provider
        return provider

    # --- OAuth2 and the one request helper ------------------------------------------

    def _token(self, *, renew: bool = False) -> str:
        cache_key = (self.token_url, self.client_id)
        with _tokens_lock:
            cached = _tokens.get(cache_key)
            if cached and not renew and cached[1] > time.monotonic():
                return cached[0]
        try:
            response = self.http.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
        except httpx.HTTPError as error:
            logger.warning("Pix provider token: %s", type(error).__name__)
            raise provider_unavailable() from error
        if response.status_code != 200:
            logger.error("Pix provider token refused: HTTP %s", response.status_code)
            raise provider_unavailable()
        try:
            answer = response.json()
            token = answer["access_token"]
            lifetime = int(answer.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise provider_unavailable() from None
        if not isinstance(token, str) or not token:
            raise provider_unavailable()
        with _tokens_lock:
            _tokens[cache_key] = (token, time.monotonic() + max(0, lifetime - TOKEN_MARGIN))
        return token

    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict | None = None,
        params: dict | None = None,
        not_found=None,
        conflict=None,
    ) -> dict:
        """One API call with the bearer token (renewed once on 401); the decoded JSON
        answer. ``not_found``/``conflict`` are what a 404 / a 400-409 answer is turned
        into (a callable returning the result, or raising)."""
        url = f"{self.api_url}{path}"
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token(renew=attempt == 2)}"}
            try:
                response = self.http.request(
                    method, url, json=json_body, params=params, headers=headers
                )
            except httpx.HTTPError as error:
                logger.warning("Pix provider %s %s: %s", method, path, type(error).__name__)
                raise provider_unavailable() from error
            if response.status_code != 401:
                break
        status = response.status_code
        if status == 404 and not_found is not None:
            return not_found()
        if status in (400, 409, 422) and conflict is not None:
            return conflict(response)
        if status >= 500 or status in (401, 403, 429):
            logger.error("Pix provider %s %s: HTTP %s", method, path, status)
            raise provider_unavailable()
        if status == 404:
            raise _not_found()
        if not 200 <= status < 300:
            raise _refused(response.text)
        if not response.content.strip():
            return {}  # PUT /webhook answers 200 or 204 with no body
        try:
            answer = response.json()
        except ValueError:
            raise _malformed() from None
        if not isinstance(answer, dict):
            raise _malformed()
        return answer

    # --- Charges --------------------------------------------------------------------

    def _charge(self, answer: dict, *, payee_name: str = "") -> PixCharge:
        try:
            calendar = answer["calendario"]
            location = answer.get("location") or (answer.get("loc") or {}).get("location", "")
            copy_paste = answer.get("pixCopiaECola") or ""
            if not copy_paste and location:
                copy_paste = brcode.build_dynamic(
                    location=location, name=payee_name or "Conversa", city=self.city
                )
            return PixCharge(
                txid=str(answer["txid"]),
                status=ChargeStatus(answer["status"]),
                amount=from_api_amount(answer["valor"]["original"]),
                created_at=_parse_time(calendar["criacao"]),
                expires_in=int(calendar.get("expiracao", 86400)),
                copy_paste=copy_paste,
                location=location,
            )
        except (KeyError, TypeError, ValueError):
            raise _malformed() from None

    def create_charge(
        self,
        *,
        txid: str,
        amount: int,
        expires_in: int,
        payee_name: str,
        description: str,
        payee_city: str = "",
    ) -> PixCharge:
        # The payee of a collected Pix is the platform's account at the PSP: its code
        # shows the platform's city (PIX_MERCHANT_CITY), not the shop's (payee_city).
        body: dict[str, Any] = {
            "calendario": {"expiracao": int(expires_in)},
            "valor": {"original": to_api_amount(amount)},
            "chave": self.pix_key,
        }
        if description:
            body["solicitacaoPagador"] = description[:140]

        def existing(response: httpx.Response) -> PixCharge:
            # A retried PUT of a txid the PSP already holds: the same charge, if it is.
            try:
                charge = self.get_charge(txid)
            except AppError as error:
                if error.code != "pix_not_found":
                    raise
                raise _refused(response.text) from None
            if charge.amount != amount:
                raise _refused(response.text)
            return charge

        answer = self._call("PUT", f"/cob/{txid}", json_body=body, conflict=existing)
        if isinstance(answer, PixCharge):
            return answer
        return self._charge(answer, payee_name=payee_name)

    def get_charge(self, txid: str) -> PixCharge:
        return self._charge(self._call("GET", f"/cob/{txid}"))

    def cancel_charge(self, txid: str) -> PixCharge:
        def not_active(response: httpx.Response) -> PixCharge:
            charge = self.get_charge(txid)
            if charge.status == ChargeStatus.ACTIVE:
                raise _refused(response.text)
            return charge

        answer = self._call(
            "PATCH",
            f"/cob/{txid}",
            json_body={"status": ChargeStatus.REMOVED_BY_RECEIVER.value},
            conflict=not_active,
        )
        if isinstance(answer, PixCharge):
            return answer
        return self._charge(answer)

    # --- Received Pix and refunds ---------------------------------------------------

    @staticmethod
    def _refund(item: dict, *, end_to_end_id: str) -> PixRefund:
        try:
            return PixRefund(
                end_to_end_id=end_to_end_id,
                refund_id=str(item["id"]),
                amount=from_api_amount(item["valor"]),
                status=RefundStatus(item["status"]),
                rtr_id=str(item.get("rtrId") or ""),
            )
        except (KeyError, TypeError, ValueError):
            raise _malformed() from None

    @classmethod
    def _received(cls, item: Any) -> ReceivedPix:
        if not isinstance(item, dict):
            raise _malformed()
        try:
            e2e = item["endToEndId"]
            if not isinstance(e2e, str) or not e2e:
                raise _malformed()
            refunds = item.get("devolucoes") or []
            if isinstance(refunds, dict):  # some PSPs (and an example of the spec) send one
                refunds = [refunds]
            payer = item.get("pagador") or {}
            return ReceivedPix(
                end_to_end_id=e2e,
                txid=str(item.get("txid") or ""),
                amount=from_api_amount(item["valor"]),
                paid_at=_parse_time(item["horario"]),
                payer_name=str(payer.get("nome", "") if isinstance(payer, dict) else "")
                or str(item.get("infoPagador") or ""),
                refunds=tuple(cls._refund(r, end_to_end_id=e2e) for r in refunds),
            )
        except (KeyError, TypeError, AttributeError):
            raise _malformed() from None

    def list_received(self, *, start: datetime, end: datetime) -> list[ReceivedPix]:
        received: list[ReceivedPix] = []
        for page in range(MAX_PAGES):
            answer = self._call(
                "GET",
                "/pix",
                params={
                    "inicio": _api_time(start),
                    "fim": _api_time(end),
                    "paginacao.paginaAtual": page,
                    "paginacao.itensPorPagina": PAGE_SIZE,
                },
            )
            items = answer.get("pix") or []
            if not isinstance(items, list):
                raise _malformed()
            received.extend(self._received(item) for item in items)
            paging = (answer.get("parametros") or {}).get("paginacao") or {}
            try:
                pages = int(paging.get("quantidadeDePaginas", 1))
            except (TypeError, ValueError):
                raise _malformed() from None
            if page + 1 >= pages or not items:
                break
        # The API's ``fim`` is inclusive; the contract's window is [start, end).
        return [pix for pix in received if start <= pix.paid_at < end]

    def refund(self, *, end_to_end_id: str, refund_id: str, amount: int) -> PixRefund:
        path = f"/pix/{end_to_end_id}/devolucao/{refund_id}"

        def existing(response: httpx.Response) -> PixRefund:
            # A retried PUT of a refund id the PSP already holds.
            try:
                refund = self._refund(self._call("GET", path), end_to_end_id=end_to_end_id)
            except AppError as error:
                if error.code != "pix_not_found":
                    raise
                raise _refused(response.text) from None
            if refund.amount != amount:
                raise _refused(response.text)
            return refund

        answer = self._call(
            "PUT", path, json_body={"valor": to_api_amount(amount)}, conflict=existing
        )
        if isinstance(answer, PixRefund):
            return answer
        return self._refund(answer, end_to_end_id=end_to_end_id)

    # --- Webhook --------------------------------------------------------------------

    def webhook_url(self, base_url: str) -> str:
        """The ``webhookUrl`` to register: ``base_url`` (the callback view's address,
        ending with its token segment's parent) + the secret. The PSP appends
        ``/pix``."""
        if not self.callback_secret:
            raise ImproperlyConfigured("Set PIX_CALLBACK_SECRET before registering a webhook.")
        return f"{base_url.rstrip('/')}/{self.callback_secret}"

    def register_webhook(self, base_url: str) -> str:
        """``PUT /webhook/{chave}``: the PSP notifies our callback of Pix received on
        the platform's key. Returns the URL registered."""
        url = self.webhook_url(base_url)
        self._call("PUT", f"/webhook/{self.pix_key}", json_body={"webhookUrl": url})
        return url

    def parse_callback(self, *, body: bytes, headers: dict[str, str]) -> list[ReceivedPix]:
        token = next(
            (v for k, v in headers.items() if k.lower() == CALLBACK_TOKEN_HEADER.lower()), ""
        )
        if not self.callback_secret or not hmac.compare_digest(
            str(token).encode(), self.callback_secret.encode()
        ):
            raise unauthenticated_callback()
        if len(body) > MAX_CALLBACK_BYTES:
            raise _bad_callback()
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _bad_callback() from None
        if not isinstance(payload, dict) or not isinstance(payload.get("pix"), list):
            raise _bad_callback()
        try:
            return [self._received(item) for item in payload["pix"]]
        except AppError:
            raise _bad_callback() from None


def _bad_callback() -> AppError:
    return AppError(
        _("This Pix notification is malformed."), code="pix_callback_malformed", status_code=400
    )


def _api_time(moment: datetime) -> str:
    """RFC 3339 in UTC, as the API's ``inicio``/``fim`` want."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
