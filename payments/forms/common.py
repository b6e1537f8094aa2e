"""What several payments forms share: an amount typed in major units."""

from django import forms

from core.errors import AppError
from core.money import parse_money


class AmountForm:
    """Mixed into a form with an ``amount`` field typed the local way ("19,90"): it
    becomes an int of minor units of ``currency`` (BRL unless given), or the field's
    error."""

    def __init__(self, *args, currency: str = "BRL", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        try:
            return parse_money(self.cleaned_data["amount"], self.currency)
        except AppError as exc:
            raise forms.ValidationError(str(exc.message)) from None
