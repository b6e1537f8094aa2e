"""REST endpoints for a business's webhooks, under ``businesses/<slug>/webhooks/``.
Thin: parse, authorize, call one service, serialize. Owners and admins only (agents,
outsiders and other businesses' members get 404, as on the pages); another
business's endpoint or delivery id is a 404 like a missing one. The events'
payloads are documented in docs/webhooks.md."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership
from accounts.selectors import get_business_for
from core.api import id_page, input_data, query_data
from webhooks import selectors
from webhooks.models import EVENT_TYPES, Endpoint
from webhooks.serializers import (
    DeliveryFilterSerializer,
    DeliveryPageSerializer,
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EventTypesSerializer,
)
from webhooks.services import endpoints as services

TAGS = ["webhooks"]
ADMIN = Membership.Role.ADMIN
DELETED = {204: OpenApiResponse(description=gettext_lazy("Deleted."))}


def _endpoint(request, slug, endpoint_id) -> Endpoint:
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    return selectors.get_endpoint_for(business=business, endpoint_id=endpoint_id)


class EventTypesView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="The event types an endpoint can subscribe to",
        responses=EventTypesSerializer,
    )
    def get(self, request, slug):
        get_business_for(user=request.user, slug=slug, min_role=ADMIN)
        return Response({"event_types": list(EVENT_TYPES)})


class EndpointListView(APIView):
    @extend_schema(
        tags=TAGS, summary="List the endpoints (admin+)", responses=EndpointSerializer(many=True)
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
        rows = selectors.list_endpoints(business=business)
        return Response(EndpointSerializer(rows, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Add an endpoint (admin+)",
        description="The answer holds the signing secret: it is not shown again. "
        "400 `invalid_url` (not https://, credentials in it), `too_many` (20).",
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer},
    )
    def post(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
        data = input_data(request, EndpointInputSerializer)
        endpoint = services.create_endpoint(actor=request.user, business=business, **data)
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(APIView):
    @extend_schema(tags=TAGS, summary="An endpoint (admin+)", responses=EndpointSerializer)
    def get(self, request, slug, endpoint_id):
        return Response(EndpointSerializer(_endpoint(request, slug, endpoint_id)).data)

    @extend_schema(
        tags=TAGS,
        summary="Change an endpoint (admin+)",
        description="Only the fields sent change.",
        request=EndpointInputSerializer(partial=True),
        responses=EndpointSerializer,
    )
    def patch(self, request, slug, endpoint_id):
        endpoint = _endpoint(request, slug, endpoint_id)
        data = input_data(request, EndpointInputSerializer, partial=True)
        services.update_endpoint(
            actor=request.user,
            endpoint=endpoint,
            url=data.get("url", endpoint.url),
            description=data.get("description", endpoint.description),
            event_types=data.get("event_types", endpoint.event_types),
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(tags=TAGS, summary="Delete an endpoint and its log (admin+)", responses=DELETED)
    def delete(self, request, slug, endpoint_id):
        services.delete_endpoint(actor=request.user, endpoint=_endpoint(request, slug, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointEnableView(APIView):
    enabled = True

    @extend_schema(
        tags=TAGS,
        summary="Enable an endpoint (admin+)",
        description="What is still pending is sent, oldest first.",
        request=None,
        responses=EndpointSerializer,
    )
    def post(self, request, slug, endpoint_id):
        endpoint = _endpoint(request, slug, endpoint_id)
        services.set_enabled(actor=request.user, endpoint=endpoint, enabled=self.enabled)
        return Response(EndpointSerializer(endpoint).data)


class EndpointDisableView(EndpointEnableView):
    enabled = False

    @extend_schema(
        tags=TAGS,
        summary="Disable an endpoint (admin+)",
        request=None,
        responses=EndpointSerializer,
    )
    def post(self, request, slug, endpoint_id):
        return super().post(request, slug, endpoint_id)


class RotateSecretView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Rotate the signing secret (admin+)",
        description="A new secret, in the answer only; the previous one keeps signing "
        "beside it for 24 hours.",
        request=None,
        responses=EndpointWithSecretSerializer,
    )
    def post(self, request, slug, endpoint_id):
        endpoint = services.rotate_secret(
            actor=request.user, endpoint=_endpoint(request, slug, endpoint_id)
        )
        return Response(EndpointWithSecretSerializer(endpoint).data)


class TestEventView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Send a test event (admin+)",
        description="A `webhook.test` event to this endpoint alone. 409 `disabled`.",
        request=None,
        responses={202: DeliverySerializer},
    )
    def post(self, request, slug, endpoint_id):
        endpoint = _endpoint(request, slug, endpoint_id)
        event = services.send_test_event(actor=request.user, endpoint=endpoint)
        delivery = selectors.list_deliveries(endpoint=endpoint).get(event=event)
        delivery.attempt_rows = []
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryListView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="The endpoint's delivery log (admin+)",
        description="Newest first, with each attempt; `failed=true`: given up, or "
        "waiting for a retry. Kept 30 days.",
        parameters=[DeliveryFilterSerializer],
        responses=DeliveryPageSerializer,
    )
    def get(self, request, slug, endpoint_id):
        endpoint = _endpoint(request, slug, endpoint_id)
        params = query_data(request, DeliveryFilterSerializer)
        rows = selectors.list_deliveries(
            endpoint=endpoint, event_type=params.get("type", ""), failed=params["failed"]
        )
        page = id_page(request, rows, limit=params["limit"], before=params.get("before"))
        attempts = selectors.list_attempts(deliveries=page["results"])
        for delivery in page["results"]:
            delivery.attempt_rows = attempts[delivery.pk]
        return Response(DeliveryPageSerializer(page).data)


class ResendView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Resend a delivery (admin+)",
        description="Now, with the same `webhook-id`, and a fresh retry schedule. 409 `disabled`.",
        request=None,
        responses={202: DeliverySerializer},
    )
    def post(self, request, slug, endpoint_id, delivery_id):
        endpoint = _endpoint(request, slug, endpoint_id)
        delivery = selectors.get_delivery_for(endpoint=endpoint, delivery_id=delivery_id)
        services.resend_delivery(actor=request.user, delivery=delivery)
        delivery.refresh_from_db()
        delivery.attempt_rows = selectors.list_attempts(deliveries=[delivery])[delivery.pk]
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
