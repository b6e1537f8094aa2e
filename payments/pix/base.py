"""The Pix provider contract (docs/pix.md, "Providers"): what every Pix provider (PSP)
adapter takes and returns, beside the card gateway's (``payments.gateway.base``).

The shapes follow the Bacen Pix API, which most Brazilian PSPs implement: a dynamic
charge (``cob``) per order with its ``txid``; received Pix (``pix``) identified by
their ``endToEndId``; refunds (``devolucao``) of a received Pix. Amounts are integer
centavos here; the adapters convert to and from the API's ``"12.34"`` strings.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from django.utils.translation import gettext_lazy as _

from core.errors import AppError

TXID_PATTERN = r"^[a-zA-Z0-9]{26,35}$"  # a ``cob``'s txid (Bacen: 26 to 35 characters)


class ChargeStatus(StrEnum):
    ACTIVE = "ATIVA"
    COMPLETED = "CONCLUIDA"
    REMOVED_BY_RECEIVER = "REMOVIDA_PELO_USUARIO_RECEBEDOR"
    REMOVED_BY_PSP = "REMOVIDA_PELO_PSP"


class RefundStatus(StrEnum):
    PROCESSING = "EM_PROCESSAMENTO"
    RETURNED = "DEVOLVIDO"
    NOT_DONE = "NAO_REALIZADO"


@dataclass(frozen=True)
class PixCharge:
    """A dynamic charge (``cob``) as the provider holds it."""

    txid: str
    status: ChargeStatus
    amount: int  # centavos
    created_at: datetime  # aware
    expires_in: int  # seconds after created_at (``calendario.expiracao``)
    copy_paste: str  # the BR Code ("Pix Copia e Cola") the payer's bank app reads
    location: str = ""  # the payload URL a dynamic BR Code points at (field 26/25)


@dataclass(frozen=True)
class PixRefund:
    end_to_end_id: str  # of the Pix being returned
    refund_id: str  # ours, ``[a-zA-Z0-9]{1,35}``: idempotent per (e2eid, refund_id)
    amount: int  # centavos
    status: RefundStatus
    rtr_id: str = ""  # the return's own id in the Pix system, once it has one


@dataclass(frozen=True)
class ReceivedPix:
    """One Pix that reached the platform's account (a callback item or a row of
    ``GET /pix``)."""

    end_to_end_id: str  # ``E`` + 31 characters; unique in the Pix system
    txid: str  # "" for a Pix that paid no charge of ours
    amount: int  # centavos
    paid_at: datetime  # aware (``horario``)
    payer_name: str = ""  # ``pagador.nome`` / ``infoPagador`` when the PSP gives it
    refunds: tuple[PixRefund, ...] = field(default=())


class PixProviderError(AppError):
    """The provider could not be reached or refused the call (503 to API clients)."""

    status_code = 503


def provider_unavailable() -> PixProviderError:
    return PixProviderError(
        _("Pix is unavailable right now. Try again in a moment or pay by card."),
        code="pix_unavailable",
    )


class PixProvider(Protocol):
    name: str

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
        """``PUT /cob/{txid}``: a dynamic charge of ``amount`` centavos, payable for
        ``expires_in`` seconds, to the platform's own Pix key (collected Pix), shown to
        the payer as ``payee_name`` (and ``payee_city`` where the provider makes the BR
        Code itself). Idempotent per txid: the same txid with the same amount returns the
        existing charge."""
        ...

    def get_charge(self, txid: str) -> PixCharge:
        """``GET /cob/{txid}``."""
        ...

    def cancel_charge(self, txid: str) -> PixCharge:
        """``PATCH /cob/{txid}`` to ``REMOVIDA_PELO_USUARIO_RECEBEDOR`` (an active
        charge only; a paid one is returned as it is)."""
        ...

    def list_received(self, *, start: datetime, end: datetime) -> list[ReceivedPix]:
        """``GET /pix?inicio&fim`` (every page): the Pix received in [start, end)."""
        ...

    def refund(self, *, end_to_end_id: str, refund_id: str, amount: int) -> PixRefund:
        """``PUT /pix/{e2eid}/devolucao/{id}``: return ``amount`` centavos of a
        received Pix. Idempotent per (end_to_end_id, refund_id)."""
        ...

    def parse_callback(self, *, body: bytes, headers: dict[str, str]) -> list[ReceivedPix]:
        """Authenticate and read the provider's callback (``POST {url}/pix`` with
        ``{"pix": [...]}``, possibly several items). AppError with
        ``status_code=401`` (code ``pix_callback_unauthenticated``) when it is not
        signed as this provider signs; AppError 400 when it is malformed."""
        ...
