"""Refund part or all of an order's payment."""

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.forms.common import AmountForm


class RefundForm(AmountForm, forms.Form):
    """A merchant refunds part or all of an order: the amount typed the local way,
    a reason, and the form's one-time token (a double submit refunds once)."""

    amount = forms.CharField(label=_("Amount to refund"), max_length=30)
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64)
