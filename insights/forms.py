"""Forms of the campaign pages: they parse; the services validate and decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import AppError
from core.money import parse_money
from insights.models import CODE_MAX, LINK_TEXT_MAX, AttributionSettings, Campaign, Channel

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MoneyField(forms.CharField):
    """An amount typed the viewer's way ("1.234,56" in pt-BR) → minor units."""

    def __init__(self, *, currency: str = "BRL", **kwargs):
        self.currency = currency
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return 0 if not self.required else None
        try:
            return parse_money(value, self.currency)
        except AppError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from None


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    code = forms.CharField(
        label=_("Code"),
        max_length=CODE_MAX,
        required=False,
        help_text=_(
            "What the links carry (letters, digits, - and _). Left empty: made from the name."
        ),
    )
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=DATE)
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=DATE)
    cost_mode = forms.ChoiceField(
        label=_("Cost"), choices=Campaign.CostMode.choices, widget=forms.RadioSelect,
        initial=Campaign.CostMode.TOTAL,
    )  # fmt: skip
    total_cost = MoneyField(
        label=_("Total cost"), required=False,
        help_text=_("With one total: what the whole campaign cost."),
    )  # fmt: skip
    link_text = forms.CharField(
        label=_("Prefilled message"), max_length=LINK_TEXT_MAX, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Typed into the customer's message box by the click-to-chat link."),
    )  # fmt: skip
    utm_source = forms.CharField(label=_("Source (utm_source)"), max_length=60, required=False)
    utm_medium = forms.CharField(label=_("Medium (utm_medium)"), max_length=60, required=False)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["total_cost"].currency = currency


class RenameForm(forms.Form):
    name = forms.CharField(label=_("New name"), max_length=120)


class MergeForm(forms.Form):
    into = forms.TypedChoiceField(label=_("Merge into"), coerce=int)

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].choices = [(c.pk, c.name) for c in targets]


class SpendLineForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=DATE)
    amount = MoneyField(label=_("Amount"))

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency


class SpendImportForm(forms.Form):
    NUMBERS = [("pt-br", "1.234,56"), ("en", "1,234.56"), ("fr", "1 234,56")]

    file = forms.FileField(
        label=_("Spend file (CSV)"),
        help_text=_(
            "Columns: date, campaign (name or code), amount. Exports of Meta Ads and "
            "Google Ads are read as they are."
        ),
    )
    numbers = forms.ChoiceField(label=_("Amounts are written like"), choices=NUMBERS)


class WindowForm(forms.Form):
    window_days = forms.TypedChoiceField(
        label=_("Attribution window"), coerce=int, choices=AttributionSettings.Window.choices,
        help_text=_("How long after a touch a paid order is still credited to its campaign."),
    )  # fmt: skip
