"""How a business's customers pay by Pix (its payment settings)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import PixMode


class PixModeForm(forms.Form):
    pix_mode = forms.ChoiceField(
        label=_("How customers pay by Pix"),
        choices=PixMode.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Collected: the platform receives the Pix (with its Pix fee) and pays you out "
            "with your balance. Direct: customers pay your own Pix key, with no fee, and "
            "you mark each order paid when the Pix reaches your bank."
        ),
    )
