"""Payout destinations: a Pix key or a bank account."""

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.banks import bank_choices


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
        super().__init__(*args, **kwargs)
        self.fields["bank_code"].choices = [("", _("Choose the bank")), *bank_choices()]
