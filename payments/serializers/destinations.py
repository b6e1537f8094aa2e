"""Payout destinations (bank accounts and Pix keys), shown masked."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from payments.serializers.common import FreeTextField


class DestinationSerializer(serializers.Serializer):
    """A payout destination, masked: never the full account number, document or key."""

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=_("bank_account or pix"))
    label = serializers.CharField(source="masked", help_text=_("The masked destination."))
    bank_code = serializers.CharField(help_text=_("3-digit COMPE code (bank accounts)."))
    account_type = serializers.CharField(help_text=_("checking or savings (bank accounts)."))
    holder_name = serializers.CharField()
    holder_document = serializers.CharField(source="holder_masked", help_text=_("Masked."))
    pix_key_type = serializers.CharField(help_text=_("cpf, cnpj, email, phone or random."))
    pix_key = serializers.CharField(source="masked_key_or_blank", help_text=_("Masked."))
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DestinationInputSerializer(serializers.Serializer):
    """A bank account (``kind`` = ``bank_account``: ``bank_code``, ``branch``,
    ``branch_digit``?, ``account_number``, ``account_digit``, ``account_type``,
    ``holder_name``, ``holder_document``) or a Pix key (``kind`` = ``pix``:
    ``pix_key_type``, ``pix_key``). The rules are checked by the service."""

    kind = serializers.ChoiceField(choices=["bank_account", "pix"])
    bank_code = serializers.CharField(max_length=3, required=False, allow_blank=True)
    branch = serializers.CharField(max_length=6, required=False, allow_blank=True)
    branch_digit = serializers.CharField(max_length=1, required=False, allow_blank=True)
    account_number = serializers.CharField(max_length=24, required=False, allow_blank=True)
    account_digit = serializers.CharField(max_length=1, required=False, allow_blank=True)
    account_type = serializers.CharField(max_length=10, required=False, allow_blank=True)
    holder_name = FreeTextField(max_length=100, required=False, allow_blank=True)
    holder_document = serializers.CharField(max_length=18, required=False, allow_blank=True)
    pix_key_type = serializers.CharField(max_length=10, required=False, allow_blank=True)
    pix_key = serializers.CharField(max_length=77, required=False, allow_blank=True)
    make_default = serializers.BooleanField(default=False)
