"""What the payments API's modules share: the OpenAPI tags, the idempotency
header and its errors, the card a body names, and the business of the payout
endpoints.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from accounts.models import Membership
from accounts.selectors import get_business_for
from core.errors import AppError
from payments import selectors
from payments.models import Card

ROLE = Membership.Role
# The OpenAPI tags, one per area.
WALLET = ["payments (wallet)"]
ORDERS = ["payments (orders)"]
PAYING = ["payments (paying)"]
REFUNDS = ["payments (refunds)"]
SHIPPING = ["payments (shipping)"]
P2P = ["payments (person to person)"]
PAYOUTS = ["payments (payouts)"]
DELETED = {204: OpenApiResponse(description=gettext_lazy("Deleted."))}

IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "A new unique value (e.g. a UUID) per operation. A retry with the same key and "
        "body gets the first response back; the same key with another body is 422; "
        "while the first request is still running, 409. Kept at least 24 hours."
    ),
)

IDEMPOTENCY_ERRORS = {
    409: OpenApiResponse(description="The first request with this key is still running."),
    422: OpenApiResponse(description="This key was used for a different request."),
}


def card_from_body(request, card_id) -> Card:
    """The user's live card ``card_id`` from a request body: one that is not theirs
    (or no card) is a 400 on ``card_id``, not a 404 of the whole operation."""
    try:
        return selectors.get_card_for(user=request.user, card_id=card_id)
    except Http404:
        raise AppError(
            _("Choose one of your cards."), code="card_invalid", field="card_id"
        ) from None


def payout_business(request, slug):
    """The business of a payout endpoint: its admins and owners (404 for anyone else)."""
    return get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
