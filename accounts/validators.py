import functools
import re
import zoneinfo

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

_MARKUP = re.compile(r"<\s*[a-zA-Z/!?]|javascript:", re.IGNORECASE)


def validate_no_markup(value: str) -> None:
    """Plain text only: we escape on output anyway, but refuse markup outright."""
    if value and _MARKUP.search(value):
        raise ValidationError(
            _("Use plain text here: HTML tags and scripts are not allowed."), code="markup"
        )


validate_http_url = URLValidator(
    schemes=["http", "https"], message=_("Enter a web address starting with http:// or https://.")
)


def normalize_phone(value: str, region: str = "BR") -> str:
    """A phone number in E.164 (``+5511987654321``), or a ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid phone number."), code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number."), code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if value and normalize_phone(value) != value:
        raise ValidationError(
            _("Enter the phone number in international format, e.g. +5511987654321.")
        )


# Walks the whole tz database on disk (~30 ms): once per process is enough.
_available_timezones = functools.cache(zoneinfo.available_timezones)


def validate_timezone(value: str) -> None:
    if value not in _available_timezones():
        raise ValidationError(_("Unknown time zone."), code="timezone")
