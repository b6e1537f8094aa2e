from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Business, Invitation, Membership, OpeningHours, User
from accounts.validators import normalize_phone


class PhoneField(serializers.CharField):
    """A phone number as people type it (``+55 11 98765-4321``), stored in E.164 like
    the HTML forms do. Declared explicitly: the model's E.164 validator would otherwise
    run first and refuse every number not typed in E.164 already."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return normalize_phone(super().to_internal_value(data))
        except ValidationError:
            raise serializers.ValidationError(_("Enter a valid phone number.")) from None


class MeSerializer(serializers.ModelSerializer):
    phone = PhoneField()

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
        fields = [*Business.PROFILE_FIELDS, "logo", "url"]

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

    phone = PhoneField()

    class Meta:
        model = Business
        fields = Business.PROFILE_FIELDS
        extra_kwargs = {"slug": {"validators": []}}


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
