"""Payout destinations (bank accounts and Pix keys): a business's (admins and owners
read them masked; only owners change them) and a user's own, for withdrawing the
wallet.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import input_data
from core.errors import AppError
from payments import selectors
from payments.api.common import DELETED, PAYOUTS, payout_business
from payments.serializers.destinations import DestinationInputSerializer, DestinationSerializer
from payments.services import destinations as destination_services


def _destination_data(data: dict) -> tuple[str, dict, bool]:
    data = dict(data)
    return data.pop("kind"), data, data.pop("make_default", False)


class _DestinationList(APIView):
    business_scoped = True

    def _business(self, request, slug):
        return payout_business(request, slug) if self.business_scoped else None

    def get(self, request, slug=None):
        business = self._business(request, slug)
        found = selectors.list_destinations(business=business, user=request.user)
        return Response(DestinationSerializer(found, many=True).data)

    def post(self, request, slug=None):
        business = self._business(request, slug)
        kind, data, make_default = _destination_data(
            input_data(request, DestinationInputSerializer)
        )
        destination = destination_services.add_destination(
            actor=request.user, business=business, kind=kind, data=data, make_default=make_default
        )
        return Response(DestinationSerializer(destination).data, status=status.HTTP_201_CREATED)


class _DestinationBase(APIView):
    business_scoped = True

    def _load(self, request, slug, destination_id):
        business = payout_business(request, slug) if self.business_scoped else None
        destination = selectors.get_destination_for(
            destination_id=destination_id, business=business, user=request.user
        )
        return business, destination


class _DestinationDetail(_DestinationBase):
    def put(self, request, destination_id, slug=None):
        business, destination = self._load(request, slug, destination_id)
        kind, data, _make_default = _destination_data(
            input_data(request, DestinationInputSerializer)
        )
        if kind != destination.kind:
            raise AppError(
                _("A destination keeps its kind: add a new one instead."),
                code="kind_invalid",
                field="kind",
            )
        destination = destination_services.change_destination(
            actor=request.user, business=business, destination=destination, data=data
        )
        return Response(DestinationSerializer(destination).data)

    def delete(self, request, destination_id, slug=None):
        business, destination = self._load(request, slug, destination_id)
        destination_services.remove_destination(
            actor=request.user, business=business, destination=destination
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class _DestinationDefault(_DestinationBase):
    def post(self, request, destination_id, slug=None):
        business, destination = self._load(request, slug, destination_id)
        destination = destination_services.set_default_destination(
            actor=request.user, business=business, destination=destination
        )
        return Response(DestinationSerializer(destination).data)


_BUSINESS_DEST = "Admins and owners read (masked); only owners change (admins: 403)."
_MY_DEST = "The user's own, for withdrawing the wallet."


class BusinessDestinationListView(_DestinationList):
    @extend_schema(
        tags=PAYOUTS,
        summary="List the business's payout destinations (admin+)",
        description=_BUSINESS_DEST,
        responses=DestinationSerializer(many=True),
    )
    def get(self, request, slug):
        return super().get(request, slug)

    @extend_schema(
        tags=PAYOUTS,
        summary="Add a bank account or Pix key to the business (owners)",
        description="Validated (bank list, branch, account, CPF/CNPJ check digits, Pix key "
        "per type). The first becomes the default. All owners are e-mailed.",
        request=DestinationInputSerializer,
        responses={201: DestinationSerializer},
    )
    def post(self, request, slug):
        return super().post(request, slug)


class BusinessDestinationDetailView(_DestinationDetail):
    @extend_schema(
        tags=PAYOUTS,
        summary="Change a business payout destination (owners)",
        description="All its details again; the kind stays.",
        request=DestinationInputSerializer,
        responses=DestinationSerializer,
    )
    def put(self, request, slug, destination_id):
        return super().put(request, destination_id, slug)

    @extend_schema(
        tags=PAYOUTS, summary="Remove a business payout destination (owners)", responses=DELETED
    )
    def delete(self, request, slug, destination_id):
        return super().delete(request, destination_id, slug)


class BusinessDestinationDefaultView(_DestinationDefault):
    @extend_schema(
        tags=PAYOUTS,
        summary="Send the business's payouts here (owners)",
        request=None,
        responses=DestinationSerializer,
    )
    def post(self, request, slug, destination_id):
        return super().post(request, destination_id, slug)


class MyDestinationListView(_DestinationList):
    business_scoped = False

    @extend_schema(
        tags=PAYOUTS,
        summary="List my payout destinations",
        description=_MY_DEST,
        responses=DestinationSerializer(many=True),
    )
    def get(self, request):
        return super().get(request)

    @extend_schema(
        tags=PAYOUTS,
        summary="Add a bank account or Pix key of mine",
        request=DestinationInputSerializer,
        responses={201: DestinationSerializer},
    )
    def post(self, request):
        return super().post(request)


class MyDestinationDetailView(_DestinationDetail):
    business_scoped = False

    @extend_schema(
        tags=PAYOUTS,
        summary="Change one of my payout destinations",
        request=DestinationInputSerializer,
        responses=DestinationSerializer,
    )
    def put(self, request, destination_id):
        return super().put(request, destination_id)

    @extend_schema(tags=PAYOUTS, summary="Remove one of my payout destinations", responses=DELETED)
    def delete(self, request, destination_id):
        return super().delete(request, destination_id)


class MyDestinationDefaultView(_DestinationDefault):
    business_scoped = False

    @extend_schema(
        tags=PAYOUTS,
        summary="Withdraw to this destination by default",
        request=None,
        responses=DestinationSerializer,
    )
    def post(self, request, destination_id):
        return super().post(request, destination_id)
