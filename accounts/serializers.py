from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Business, Invitation, Membership, OpeningHours, User
from accounts.validators import normalize_phone


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "display_name", "phone", "language"]
        read_only_fields = ["id", "email"]


class OpeningHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]


class BusinessPublicSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    logo = serializers.SerializerMethodField()

    class Meta:
        model = Business
        fields = [
            "slug", "name", "about", "description", "category", "address", "city", "country",
            "email", "phone", "website", "store_url", "timezone", "currency", "logo", "url",
        ]  # fmt: skip

    def get_url(self, obj) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())

    def get_logo(self, obj) -> str | None:
        return self.context["request"].build_absolute_uri(obj.logo.url) if obj.logo else None


class BusinessDetailSerializer(BusinessPublicSerializer):
    hours = OpeningHoursSerializer(many=True, read_only=True)

    class Meta(BusinessPublicSerializer.Meta):
        fields = [*BusinessPublicSerializer.Meta.fields, "hours"]


class BusinessUpdateSerializer(serializers.ModelSerializer):
    """Input for PATCH: the profile fields an admin may change (never the fee)."""

    class Meta:
        model = Business
        fields = [
            "name", "slug", "about", "description", "category", "address", "city", "country",
            "email", "phone", "website", "store_url", "timezone", "currency",
        ]  # fmt: skip
        extra_kwargs = {"slug": {"validators": []}}

    def validate_phone(self, value):
        from django.core.exceptions import ValidationError

        try:
            return normalize_phone(value)
        except ValidationError:
            raise serializers.ValidationError(_("Enter a valid phone number.")) from None


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "display_name", "role", "created_at"]


class InvitationInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "state", "created_at", "expires_at"]


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
