"""Paying: the card and the PIN (or a fingerprint)."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _


class PayForm(forms.Form):
    """Pick a saved card and confirm with the PIN or a fingerprint. ``attempt`` is the
    form's one-time token: submitting the same form twice pays once."""

    card = forms.TypedChoiceField(label=_("Pay with"), coerce=int, widget=forms.RadioSelect)
    confirmation = forms.ChoiceField(
        choices=[("pin", _("PIN")), ("webauthn", _("Fingerprint"))],
        initial="pin",
        widget=forms.HiddenInput,
    )
    pin = forms.CharField(
        label=_("Payment PIN"),
        required=False,
        max_length=6,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6}
        ),
    )
    webauthn = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20_000)
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Marketing consent, given here or in the chat (chats.consent; docs/marketing.md).
    offers = forms.BooleanField(
        label=_("Send me this shop's offers in the chat (you can stop them any time)"),
        required=False,
    )

    def __init__(self, *args, cards, attempt: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].choices = [(c.pk, str(c)) for c in cards]
        default = next((c.pk for c in cards if c.is_default), None)
        self.fields["card"].initial = default
        self.fields["attempt"].initial = attempt

    def clean_webauthn(self) -> dict | None:
        """The fingerprint's answer (JSON from webauthn.js) as a dict; None when there
        is none or it is not one (the pay service then refuses the confirmation)."""
        try:
            response = json.loads(self.cleaned_data["webauthn"] or "null")
        except (ValueError, RecursionError):  # too deeply nested: RecursionError
            return None
        return response if isinstance(response, dict) else None
