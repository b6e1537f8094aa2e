from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=2000,
        help_text=_("An HTTPS address of your system that accepts POST requests."),
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/conversa"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: every event, including ones added later."),
    )


class LogFilterForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Event type"),
        required=False,
        choices=[
            ("", _("All events")),
            *[(t, t) for t in EVENT_TYPES],
            ("webhook.test", "webhook.test"),
        ],
    )
    failed = forms.BooleanField(label=_("Failed only"), required=False)
