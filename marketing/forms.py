"""Forms of the marketing dashboard: they parse; the services validate and decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from marketing.models import MAX_DELAY_DAYS, MAX_TEMPLATE, Broadcast, FollowUpRule


class RuleForm(forms.Form):
    trigger = forms.ChoiceField(label=_("After the order is"), choices=FollowUpRule.Trigger.choices)
    delay_days = forms.IntegerField(
        label=_("Days later"), min_value=0, max_value=MAX_DELAY_DAYS, initial=3
    )
    text = forms.CharField(
        label=_("Message"),
        max_length=MAX_TEMPLATE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Placeholders: {first_name}, {product}, {order_number}, {business}."),
    )
    ask_rating = forms.BooleanField(label=_("Ask for a 1–5 satisfaction rating"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class BroadcastForm(forms.Form):
    text = forms.CharField(
        label=_("Message"),
        max_length=MAX_TEMPLATE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Placeholders: {first_name}, {business}. An opt-out link is added."),
    )
    products = forms.TypedMultipleChoiceField(
        label=_("Product cards"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    audience = forms.ChoiceField(
        label=_("Send to"), choices=Broadcast.Audience.choices, widget=forms.RadioSelect,
        initial=Broadcast.Audience.ALL,
    )  # fmt: skip
    label = forms.TypedChoiceField(label=_("Label"), coerce=int, required=False, empty_value=None)
    product = forms.TypedChoiceField(
        label=_("Bought the product"), coerce=int, required=False, empty_value=None
    )
    before = forms.DateField(
        label=_("Last purchase before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        help_text=_("Leave empty to send now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, labels, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].choices = [("", "—")] + [(lb.pk, lb.name) for lb in labels]
        product_choices = [(p.pk, p.name) for p in products]
        self.fields["product"].choices = [("", "—"), *product_choices]
        self.fields["products"].choices = product_choices
