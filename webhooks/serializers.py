"""Webhook endpoints and their delivery log, as the API shows them, and its input."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.ids import MAX_ID
from webhooks.models import EVENT_TYPES, TEST_EVENT

MAX_PAGE = 100


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(
        child=serializers.CharField(), help_text=_("Empty: every event type.")
    )
    is_enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text=_("manual, gone (410), failing (5 days)"))
    failing_since = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text=_("While a rotation lasts, the previous secret signs too.")
    )
    created_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text=_("The signing secret (whsec_…): shown here, on creation and rotation, only.")
    )


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text=_("https:// only."))
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        max_length=len(EVENT_TYPES),
        help_text=_("Left out or empty: every event type."),
    )


class AttemptSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    response_body = serializers.CharField(help_text=_("The first 2 kB of the answer."))
    error = serializers.CharField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook_id = serializers.CharField(source="event.msg_id")
    event_type = serializers.CharField(source="event.type")
    payload = serializers.DictField(
        source="event.payload", allow_null=True, help_text=_('{"type", "timestamp", "data"}')
    )
    status = serializers.CharField(help_text=_("pending, succeeded, failed"))
    attempts = serializers.IntegerField(help_text=_("Attempts since it was created or resent."))
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    attempt_log = AttemptSerializer(many=True, source="attempt_rows")


class DeliveryPageSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)
    next = serializers.URLField(allow_null=True)


class DeliveryFilterSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[*EVENT_TYPES, TEST_EVENT], required=False)
    failed = serializers.BooleanField(default=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=50)
    before = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class EventTypesSerializer(serializers.Serializer):
    event_types = serializers.ListField(child=serializers.CharField())
