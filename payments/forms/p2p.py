"""Person to person: request money, send money."""

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.forms.common import AmountForm
from payments.forms.paying import PayForm


class RequestMoneyForm(AmountForm, forms.Form):
    amount = forms.CharField(label=_("Amount"), max_length=30)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class SendMoneyForm(AmountForm, PayForm):
    """Send money to a friend: amount and note, a debit card, the PIN or a fingerprint."""

    amount = forms.CharField(
        label=_("Amount"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-fingerprint-bind": "amount"}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    field_order = ["amount", "note", "card", "pin"]
