"""What the payments API's modules share: the OpenAPI tags, the idempotency
header and its errors, and the business of the payout endpoints.
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from accounts.models import Membership
from accounts.selectors import get_business_for

ROLE = Membership.Role
# The OpenAPI tags, one per area.
WALLET = ["payments (wallet)"]
ORDERS = ["payments (orders)"]
PAYING = ["payments (paying)"]
REFUNDS = ["payments (refunds)"]
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


def payout_business(request, slug):
    """The business of a payout endpoint: its admins and owners (404 for anyone else)."""
    return get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
