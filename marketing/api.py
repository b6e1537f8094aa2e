"""REST endpoints for the marketer's tools: offer broadcasts, follow-up rules and
satisfaction ratings. Thin: parse, authorize through the selectors, call one
service, serialize.

Scoped like the pages (``marketing/views.py``): everything hangs under
``businesses/<slug>/``, the business is loaded with
:func:`accounts.selectors.get_business_for` at the admin role (agents, outsiders and
other businesses' members get 404, as on the pages), then every rule and broadcast
through a selector scoped to that business, so another shop's id is a 404 like a
missing one. Creating a broadcast honours an optional ``Idempotency-Key``
(:mod:`payments.idempotency`).
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership
from accounts.selectors import get_business_for
from core.api import id_page, input_data, query_data
from marketing import selectors, services
from marketing.serializers import (
    BroadcastDetailSerializer,
    BroadcastInputSerializer,
    BroadcastPageSerializer,
    RatingFilterSerializer,
    RatingPageSerializer,
    RuleInputSerializer,
    RuleSerializer,
)
from payments.idempotency import HEADER, idempotent
from payments.serializers.common import PageFilterSerializer

ADMIN = Membership.Role.ADMIN
BROADCASTS = ["marketing (broadcasts)"]
FOLLOWUPS = ["marketing (follow-ups)"]
RATINGS = ["marketing (ratings)"]
DELETED = {204: OpenApiResponse(description=gettext_lazy("Deleted."))}

IDEMPOTENCY_KEY = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional: a new unique value (e.g. a UUID) per broadcast. A retry with the same "
        "key and body gets the first response back and creates nothing; the same key with "
        "another body is 422; while the first request is still running, 409. Kept at "
        "least 24 hours."
    ),
)
IDEMPOTENCY_ERRORS = {
    409: OpenApiResponse(description="The first request with this key is still running."),
    422: OpenApiResponse(description="This key was used for a different request."),
}


def _business(request, slug):
    """The business if the user is one of its admins or owners; else 404."""
    return get_business_for(user=request.user, slug=slug, min_role=ADMIN)


def _broadcast_detail(business, broadcast_id, *, status_code=status.HTTP_200_OK) -> Response:
    broadcast = selectors.get_broadcast_for(business=business, broadcast_id=broadcast_id)
    broadcast.progress = selectors.broadcast_progress(broadcast)
    return Response(BroadcastDetailSerializer(broadcast).data, status=status_code)


# --- Broadcasts ---------------------------------------------------------------------------


class BroadcastListView(APIView):
    @extend_schema(
        tags=BROADCASTS,
        summary="List the business's broadcasts (admin+)",
        operation_id="v1_businesses_broadcasts_list",
        description="Newest first, a page at a time (follow `next`).",
        parameters=[PageFilterSerializer],
        responses=BroadcastPageSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug)
        params = query_data(request, PageFilterSerializer)
        found = selectors.list_broadcasts(business=business).order_by("-pk")
        page = id_page(request, found, limit=params["limit"], before=params.get("before"))
        return Response(BroadcastPageSerializer(page).data)

    @extend_schema(
        tags=BROADCASTS,
        summary="Broadcast an offer (admin+)",
        description=(
            "To the contacts who accept offers (not blocked, with a chat), all of them or "
            "those with a `label`, who bought a `product`, or whose last purchase was "
            "`before` a date (`lapsed`); chosen now, each gets it at most once. Sent from "
            "`send_at` (now when left out; at most 90 days ahead), throttled. An audience "
            "of nobody is refused (`no_recipients`). Send an `Idempotency-Key` to retry "
            "safely."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=BroadcastInputSerializer,
        responses={201: BroadcastDetailSerializer, **IDEMPOTENCY_ERRORS},
    )
    @idempotent(takeover=False, required=False)  # no key of its own: a rerun would send twice
    def post(self, request, slug):
        business = _business(request, slug)
        data = input_data(request, BroadcastInputSerializer)
        broadcast = services.create_broadcast(
            actor=request.user,
            business=business,
            text=data["text"],
            audience=data["audience"],
            label_id=data.get("label"),
            product_id=data.get("product"),
            before=data.get("before"),
            send_at=data.get("send_at"),
            product_ids=data["product_ids"],
        )
        return _broadcast_detail(business, broadcast.pk, status_code=status.HTTP_201_CREATED)


class BroadcastDetailView(APIView):
    @extend_schema(
        tags=BROADCASTS,
        summary="A broadcast with its progress (admin+)",
        description=(
            "`progress` counts its offers: sent, failed, skipped (the contact opted out "
            "meanwhile, or the broadcast was canceled) and pending."
        ),
        responses=BroadcastDetailSerializer,
    )
    def get(self, request, slug, broadcast_id):
        return _broadcast_detail(_business(request, slug), broadcast_id)


class BroadcastCancelView(APIView):
    @extend_schema(
        tags=BROADCASTS,
        summary="Cancel a broadcast (admin+)",
        description=(
            "Its offers not sent yet are canceled (they count as skipped); those already "
            "sent stay in the chats. Canceling again changes nothing; a broadcast with "
            "nothing left to send is 409 (`broadcast_sent`)."
        ),
        request=None,
        responses=BroadcastDetailSerializer,
    )
    def post(self, request, slug, broadcast_id):
        business = _business(request, slug)
        broadcast = selectors.get_broadcast_for(business=business, broadcast_id=broadcast_id)
        services.cancel_broadcast(actor=request.user, broadcast=broadcast)
        return _broadcast_detail(business, broadcast.pk)


# --- Follow-up rules ----------------------------------------------------------------------


class RuleListView(APIView):
    @extend_schema(
        tags=FOLLOWUPS,
        summary="List the follow-up rules (admin+)",
        description="At most 20, the built-in check-in among them.",
        responses=RuleSerializer(many=True),
    )
    def get(self, request, slug):
        business = _business(request, slug)
        services.ensure_default_rule(business)  # as the page does: the built-in one shows
        return Response(RuleSerializer(selectors.list_rules(business=business), many=True).data)

    @extend_schema(
        tags=FOLLOWUPS,
        summary="Create a follow-up rule (admin+)",
        description=(
            "`delay_days` (0–90) after the order is `paid`, `shipped` or `delivered`. A "
            "template with an unknown placeholder, an unbalanced brace or markup is refused "
            "with the reason (field `text`)."
        ),
        request=RuleInputSerializer,
        responses={201: RuleSerializer},
    )
    def post(self, request, slug):
        business = _business(request, slug)
        data = input_data(request, RuleInputSerializer)
        rule = services.save_rule(actor=request.user, business=business, **data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailView(APIView):
    @extend_schema(tags=FOLLOWUPS, summary="A follow-up rule (admin+)", responses=RuleSerializer)
    def get(self, request, slug, rule_id):
        business = _business(request, slug)
        rule = selectors.get_rule_for(business=business, rule_id=rule_id)
        return Response(RuleSerializer(rule).data)

    @extend_schema(
        tags=FOLLOWUPS,
        summary="Change a follow-up rule (admin+)",
        description=(
            "Only the fields sent change. Orders already past the trigger keep what was "
            "scheduled for them."
        ),
        request=RuleInputSerializer(partial=True),
        responses=RuleSerializer,
    )
    def patch(self, request, slug, rule_id):
        business = _business(request, slug)
        rule = selectors.get_rule_for(business=business, rule_id=rule_id)
        data = input_data(request, RuleInputSerializer, partial=True)
        current = {
            "trigger": rule.trigger,
            "delay_days": rule.delay_days,
            "text": services.rule_text(rule),
            "ask_rating": rule.ask_rating,
            "is_active": rule.is_active,
        }
        rule = services.save_rule(
            actor=request.user, business=business, rule=rule, **(current | data)
        )
        return Response(RuleSerializer(rule).data)

    @extend_schema(
        tags=FOLLOWUPS,
        summary="Delete a follow-up rule (admin+)",
        description=(
            "Follow-ups it already scheduled are still sent. The built-in check-in cannot "
            "be deleted (`default_rule`): turn it off instead."
        ),
        responses=DELETED,
    )
    def delete(self, request, slug, rule_id):
        business = _business(request, slug)
        rule = selectors.get_rule_for(business=business, rule_id=rule_id)
        services.delete_rule(actor=request.user, rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Ratings ------------------------------------------------------------------------------


class RatingListView(APIView):
    @extend_schema(
        tags=RATINGS,
        summary="List the satisfaction ratings (admin+)",
        operation_id="v1_businesses_ratings_list",
        description=(
            "The customers' 1–5 ratings of their orders, newest first, a page at a time "
            "(follow `next`); `score` keeps one score. `count` and `average` are over all "
            "the ratings."
        ),
        parameters=[RatingFilterSerializer],
        responses=RatingPageSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug)
        params = query_data(request, RatingFilterSerializer)
        found = selectors.list_ratings(business=business, score=params.get("score"))
        page = id_page(request, found, limit=params["limit"], before=params.get("before"))
        summary = selectors.rating_summary(business=business)
        page |= {"count": summary["count"], "average": summary["average"]}
        return Response(RatingPageSerializer(page).data)
