"""REST endpoints for the signed-in user, businesses and teams. Thin: parse,
authorize through the selectors, call one service, serialize."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import Membership, OpeningHours
from accounts.serializers import (
    BusinessDetailSerializer,
    BusinessPublicSerializer,
    BusinessUpdateSerializer,
    InvitationInputSerializer,
    InvitationSerializer,
    MemberSerializer,
    MeSerializer,
    RoleInputSerializer,
)

ROLE = Membership.Role


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        """My profile."""
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        """Change my profile (display name, phone, language)."""
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {
            "display_name": request.user.display_name,
            "phone": request.user.phone,
            "language": request.user.language,
        } | serializer.validated_data
        user = services.update_user_profile(user=request.user, **data)
        return Response(MeSerializer(user).data)


class BusinessListView(generics.ListAPIView):
    """Public directory of businesses: ``?q=`` (name, about, city), ``?city=``, ``?category=``."""

    serializer_class = BusinessPublicSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        p = self.request.query_params
        return selectors.list_public_businesses(
            q=p.get("q", "")[:100], city=p.get("city", "")[:80], category=p.get("category", "")[:20]
        )


class BusinessDetailView(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [permissions.AllowAny()]
        return super().get_permissions()

    @extend_schema(responses=BusinessDetailSerializer)
    def get(self, request, slug):
        """A business's public profile."""
        business = selectors.get_public_business(slug=slug)
        return Response(BusinessDetailSerializer(business, context={"request": request}).data)

    @extend_schema(request=BusinessUpdateSerializer, responses=BusinessDetailSerializer)
    def patch(self, request, slug):
        """Change the business's profile (admin+)."""
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        serializer = BusinessUpdateSerializer(business, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        business = services.update_business_profile(
            actor=request.user, business=business, **serializer.validated_data
        )
        business = (
            type(business)
            .objects.prefetch_related(Prefetch("hours", queryset=OpeningHours.objects.all()))
            .get(pk=business.pk)
        )
        return Response(BusinessDetailSerializer(business, context={"request": request}).data)


class MemberListView(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request, slug):
        """List the business's team (owners)."""
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
        return Response(MemberSerializer(selectors.list_members(business=business), many=True).data)


class MemberDetailView(APIView):
    @extend_schema(request=RoleInputSerializer, responses=MemberSerializer)
    def patch(self, request, slug, membership_id):
        """Change a team member's role (owners)."""
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
        membership = selectors.get_membership_for(business=business, membership_id=membership_id)
        serializer = RoleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.change_member_role(
            actor=request.user, membership=membership, role=serializer.validated_data["role"]
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug, membership_id):
        """Remove a team member (owners)."""
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
        membership = selectors.get_membership_for(business=business, membership_id=membership_id)
        services.remove_member(actor=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(APIView):
    @extend_schema(responses=InvitationSerializer(many=True))
    def get(self, request, slug):
        """List the pending invitations (owners)."""
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
        invitations = selectors.list_pending_invitations(business=business)
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(request=InvitationInputSerializer, responses={201: InvitationSerializer})
    def post(self, request, slug):
        """Invite someone to the team by e-mail (owners)."""
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
        serializer = InvitationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _key = services.invite_member(
            actor=request.user, business=business, **serializer.validated_data
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)
