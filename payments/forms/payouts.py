"""Payouts: withdraw, pay out now, the automatic schedule, statements."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from payments.forms.common import AmountForm
from payments.models import PayoutControl


class WithdrawForm(AmountForm, forms.Form):
    """Withdraw from the wallet to one of the user's destinations, with the PIN.
    ``attempt`` is the form's one-time token: submitting it twice withdraws once."""

    amount = forms.CharField(
        label=_("Amount"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    destination = forms.TypedChoiceField(label=_("To"), coerce=int)
    pin = forms.CharField(
        label=_("Payment PIN"),
        max_length=6,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6}
        ),
    )
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, destinations, attempt: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = [(d.pk, str(d)) for d in destinations]
        self.fields["destination"].initial = next(
            (d.pk for d in destinations if d.is_default), None
        )
        self.fields["attempt"].initial = attempt


class PayoutNowForm(forms.Form):
    """An owner's "Pay out now", confirmed with the account password. ``attempt`` is
    the form's one-time token: submitting it twice pays out once."""

    password = forms.CharField(
        label=_("Your account password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64)


class PayoutScheduleForm(forms.Form):
    """How often the payout job pays the business out (``PayoutControl.Schedule``)."""

    schedule = forms.ChoiceField(label=_("Automatic payouts"), widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schedule"].choices = PayoutControl.Schedule.choices


class StatementForm(forms.Form):
    """A period for the statement export (``statements.parse_period`` checks it)."""

    start = forms.DateField(
        label=pgettext_lazy("start of a date range", "From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=pgettext_lazy("end of a date range", "To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
