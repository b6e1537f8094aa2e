"""The payment request (order) a business sends in a chat."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import AppError
from core.money import parse_money

FREE_LINES = 2


class PaymentRequestForm(forms.Form):
    """The merchant's "Request payment" form: quantities of catalog products, up to
    two free lines, shipping, discount, a note and the expiry. Amounts are typed the
    local way ("19,90" in Portuguese) and become ints in ``clean``; ``cleaned_data``
    then holds the service's arguments: ``lines``, ``shipping``, ``discount``,
    ``note`` and ``expires_hours``."""

    shipping = forms.CharField(label=_("Shipping"), required=False, max_length=30)
    discount = forms.CharField(label=_("Discount"), required=False, max_length=30)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    expires_hours = forms.IntegerField(
        label=_("Expires in (hours)"), min_value=1, max_value=7 * 24, initial=24
    )

    def __init__(self, *args, products=(), currency: str = "BRL", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.products = list(products)
        for product in self.products:
            self.fields[f"qty_{product.pk}"] = forms.IntegerField(
                label=product.name, required=False, min_value=0, max_value=999
            )
        for n in range(1, FREE_LINES + 1):
            self.fields[f"line{n}_name"] = forms.CharField(
                label=_("Item"), required=False, max_length=120
            )
            self.fields[f"line{n}_price"] = forms.CharField(
                label=_("Price"), required=False, max_length=30
            )
            self.fields[f"line{n}_qty"] = forms.IntegerField(
                label=_("Quantity"), required=False, min_value=1, max_value=999, initial=1
            )

    def product_fields(self):
        return [(product, self[f"qty_{product.pk}"]) for product in self.products]

    def free_lines(self):
        return [
            (self[f"line{n}_name"], self[f"line{n}_price"], self[f"line{n}_qty"])
            for n in range(1, FREE_LINES + 1)
        ]

    def _money(self, name: str, *, blank_is_zero: bool = True) -> int | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text and blank_is_zero:
            return 0
        try:
            return parse_money(text, self.currency)
        except AppError as exc:
            self.add_error(name, str(exc.message))
            return None

    def clean(self):
        data = super().clean()
        lines = []
        for product in self.products:
            quantity = data.get(f"qty_{product.pk}")
            if quantity:
                lines.append({"product_id": product.pk, "quantity": quantity})
        for n in range(1, FREE_LINES + 1):
            name = (data.get(f"line{n}_name") or "").strip()
            price_text = (data.get(f"line{n}_price") or "").strip()
            if not name and not price_text:
                continue
            if not name:
                self.add_error(f"line{n}_name", _("Name this item."))
                continue
            price = self._money(f"line{n}_price", blank_is_zero=False)
            if price is not None:
                lines.append(
                    {"name": name, "unit_price": price, "quantity": data.get(f"line{n}_qty") or 1}
                )
        data["shipping"] = self._money("shipping")
        data["discount"] = self._money("discount")
        data["lines"] = lines
        return data
