"""The wallet's forms: add a card, set, change or reset the payment PIN, name a
fingerprint.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.gateway import CardDetails


class UnechoedTextInput(forms.TextInput):
    """A text box that never renders its value back (as ``PasswordInput`` with
    ``render_value`` off), for the card number and security code: HTML allows their
    ``cc-number`` / ``cc-csc`` autofill only on a text input, not a password one. The
    security code is masked on screen by the ``masked`` class (static/css/app.css)."""

    def format_value(self, value):
        return None


class CardForm(forms.Form):
    """Add a card. The number and CVC are never rendered back (``render_value`` off):
    after an error the customer types them again, and no page ever echoes them.
    ``cleaned_data`` holds the :class:`CardDetails` fields plus ``make_default``."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=UnechoedTextInput(
            attrs={
                "autocomplete": "cc-number",
                "inputmode": "numeric",
                "placeholder": "1234 1234 1234 1234",
                "spellcheck": "false",
                "class": "card-number",
            },
        ),
    )
    expiry = forms.CharField(
        label=_("Expiry (MM/YY)"),
        max_length=7,
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-exp", "inputmode": "numeric", "placeholder": "MM/YY"}
        ),
    )
    cvc = forms.CharField(
        label=_("Security code (CVC)"),
        max_length=4,
        help_text=_("The 3 digits on the back of the card."),
        widget=UnechoedTextInput(
            attrs={
                "autocomplete": "cc-csc",
                "inputmode": "numeric",
                "placeholder": "123",
                "class": "masked",
            },
        ),
    )
    holder_name = forms.CharField(
        label=_("Name on the card"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    make_default = forms.BooleanField(label=_("Use as my default card"), required=False)

    def clean_number(self) -> str:
        number = "".join(ch for ch in self.cleaned_data["number"] if ch not in " -")
        if not number.isdigit():
            raise forms.ValidationError(_("Enter only the digits of the card number."))
        return number

    def clean_expiry(self) -> tuple[int, int]:
        text = self.cleaned_data["expiry"].replace(" ", "")
        month, sep, year = text.partition("/")
        if not (sep and month.isdigit() and year.isdigit() and len(year) in (2, 4)):
            raise forms.ValidationError(_("Enter the expiry as MM/YY."))
        year_n = int(year) + (2000 if len(year) == 2 else 0)
        if not 1 <= int(month) <= 12:
            raise forms.ValidationError(_("Enter the expiry as MM/YY."))
        return int(month), year_n

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not (cvc.isdigit() and len(cvc) == 3):
            raise forms.ValidationError(
                _("The security code (CVC) is the 3 digits on the back of the card.")
            )
        return cvc

    def card_details(self):
        month, year = self.cleaned_data["expiry"]
        return CardDetails(
            number=self.cleaned_data["number"],
            exp_month=month,
            exp_year=year,
            cvc=self.cleaned_data["cvc"],
            holder_name=self.cleaned_data["holder_name"].strip(),
        )


def _pin_field(label) -> forms.CharField:
    """Six digits, masked; ``services.pins`` applies the policy."""
    attrs = {
        "inputmode": "numeric",
        "autocomplete": "off",
        "maxlength": "6",
        "pattern": "[0-9]{6}",
        "spellcheck": "false",
    }
    return forms.CharField(
        label=label,
        max_length=6,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs=attrs),
    )


class PinSetForm(forms.Form):
    pin = _pin_field(_("New PIN"))
    pin_again = _pin_field(_("New PIN again"))


class PinChangeForm(forms.Form):
    old_pin = _pin_field(_("Current PIN"))
    pin = _pin_field(_("New PIN"))
    pin_again = _pin_field(_("New PIN again"))


class PinResetForm(forms.Form):
    password = forms.CharField(
        label=_("Account password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    pin = _pin_field(_("New PIN"))
    pin_again = _pin_field(_("New PIN again"))


class FingerprintNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name of this device"),
        max_length=60,
        required=False,
        help_text=_("For example “My phone”, so you can tell your fingerprints apart."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
