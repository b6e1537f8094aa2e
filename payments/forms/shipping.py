"""Ship some or all of a paid order's items."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ShipForm(forms.Form):
    """Mark (some items of) a paid order shipped: carrier, tracking code, an optional
    http(s) tracking link, and how many of each item left (by default, all that
    remain). ``cleaned_data["items"]`` is ``{order item id: quantity}``."""

    carrier = forms.CharField(label=_("Carrier"), max_length=60)
    tracking_code = forms.CharField(label=_("Tracking code"), max_length=60)
    tracking_url = forms.CharField(
        label=_("Tracking link"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def __init__(self, *args, items=(), remaining=None, **kwargs):
        super().__init__(*args, **kwargs)
        remaining = remaining or {}
        self.order_items = [item for item in items if remaining.get(item.pk, 0) > 0]
        for item in self.order_items:
            left = remaining[item.pk]
            self.fields[f"ship_{item.pk}"] = forms.IntegerField(
                label=item.name, min_value=0, max_value=left, initial=left, required=False
            )

    def item_fields(self):
        return [self[f"ship_{item.pk}"] for item in self.order_items]

    def clean(self):
        data = super().clean()
        data["items"] = {
            item.pk: data.get(f"ship_{item.pk}") or 0
            for item in self.order_items
            if f"ship_{item.pk}" not in self.errors
        }
        return data
