"""Forms of the payments app: they parse what a person typed; the services decide.
One section per area."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.errors import AppError
from core.money import parse_money

# --- Cards ----------------------------------------------------------------------------


class CardForm(forms.Form):
    """Add a card. The number and CVC are never rendered back (``render_value`` off):
    after an error the customer types them again, and no page ever echoes them.
    ``cleaned_data`` holds the :class:`CardDetails` fields plus ``make_default``."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.PasswordInput(
            render_value=False,
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
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "cc-csc", "inputmode": "numeric", "placeholder": "123"},
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
        from payments.gateway import CardDetails

        month, year = self.cleaned_data["expiry"]
        return CardDetails(
            number=self.cleaned_data["number"],
            exp_month=month,
            exp_year=year,
            cvc=self.cleaned_data["cvc"],
            holder_name=self.cleaned_data["holder_name"].strip(),
        )


# --- Orders ---------------------------------------------------------------------------

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


# --- PIN ------------------------------------------------------------------------------


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


# --- Paying -----------------------------------------------------------------------------


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


# --- Payouts ------------------------------------------------------------------------------


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


class PixKeyForm(forms.Form):
    """A Pix key; ``services.destinations`` validates it for its type."""

    pix_key_type = forms.ChoiceField(
        label=_("Type of key"),
        choices=[
            ("cpf", "CPF"),
            ("cnpj", "CNPJ"),
            ("email", _("E-mail")),
            ("phone", _("Mobile phone")),
            ("random", _("Random key")),
        ],
    )
    pix_key = forms.CharField(
        label=_("Pix key"),
        max_length=77,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    make_default = forms.BooleanField(label=_("Send payouts here"), required=False)


class BankAccountForm(forms.Form):
    """A Brazilian bank account; ``services.destinations`` validates it."""

    bank_code = forms.ChoiceField(label=_("Bank"))
    branch = forms.CharField(
        label=_("Branch (agência)"),
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    branch_digit = forms.CharField(label=_("Branch check digit"), max_length=1, required=False)
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    account_digit = forms.CharField(label=_("Account check digit"), max_length=1)
    account_type = forms.ChoiceField(
        label=_("Account type"),
        choices=[("checking", _("Checking")), ("savings", _("Savings"))],
        widget=forms.RadioSelect,
        initial="checking",
    )
    holder_name = forms.CharField(label=_("Account holder's name"), max_length=100)
    holder_document = forms.CharField(
        label=_("Account holder's CPF or CNPJ"),
        max_length=18,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    make_default = forms.BooleanField(label=_("Send payouts here"), required=False)

    def __init__(self, *args, **kwargs):
        from payments.banks import bank_choices

        super().__init__(*args, **kwargs)
        self.fields["bank_code"].choices = [("", _("Choose the bank")), *bank_choices()]


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
        from payments.models import PayoutControl

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


# --- Refunds and person-to-person -------------------------------------------------------


class RefundForm(AmountForm, forms.Form):
    """A merchant refunds part or all of an order: the amount typed the local way,
    a reason, and the form's one-time token (a double submit refunds once)."""

    amount = forms.CharField(label=_("Amount to refund"), max_length=30)
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64)


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


# --- Shipping -------------------------------------------------------------------------


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
