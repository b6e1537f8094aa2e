"""Payout destinations: Brazilian bank accounts and Pix keys, of a business (only its
owners add, change, remove or choose the default one, and every change e-mails all
owners) or of a user (for withdrawing their wallet).

Validation is here, in one place, for the pages and the API: the bank is one of
:data:`payments.banks.BANKS`; branch 4 digits (+ optional check digit); account
number with its check digit; a holder CPF or CNPJ with valid check digits
(``stdnum.br``); a Pix key valid for its type (CPF, CNPJ, e-mail, +55 mobile phone,
random-key UUID). The stored values are normalized (digits only, lower-case e-mail,
E.164 phone, lower-case UUID). Nothing here logs or returns a full destination: use
``PayoutDestination.masked()``.
"""

import re
import uuid

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum.br import cnpj, cpf

from accounts.models import Business, Membership, User
from accounts.services import require_role
from core.errors import AppError
from core.mail import queue_email
from payments.banks import BANKS
from payments.models import PayoutDestination

Kind = PayoutDestination.Kind
PixKeyType = PayoutDestination.PixKeyType
BANK_FIELDS = (
    "bank_code", "branch", "branch_digit", "account_number", "account_digit", "account_type",
    "holder_name", "holder_document",
)  # fmt: skip
PIX_FIELDS = ("pix_key_type", "pix_key")
MAX_LIVE = 10  # destinations per holder
_DIGITS = re.compile(r"\d+")
_NAME_SEPARATORS = re.compile(r"[.\-/\s]")


def _valid_cpf(digits: str) -> bool:
    # stdnum accepts 111.111.111-11 (its check digits add up); the Receita does not.
    return len(digits) == 11 and digits.isdigit() and len(set(digits)) > 1 and cpf.is_valid(digits)


def _valid_cnpj(digits: str) -> bool:
    return len(digits) == 14 and digits.isdigit() and len(set(digits)) > 1 and cnpj.is_valid(digits)


def _digits(value: str, field: str, message: str) -> str:
    """``value`` without the usual separators (dots, dashes, slashes, spaces), which
    must leave only digits."""
    value = _NAME_SEPARATORS.sub("", str(value or ""))
    if not _DIGITS.fullmatch(value):
        raise AppError(message, code="invalid", field=field)
    return value


def clean_document(value: str, field: str = "holder_document") -> str:
    """A CPF (11 digits) or CNPJ (14 digits) with valid check digits, as digits."""
    digits = _digits(value, field, _("Enter a CPF or CNPJ (numbers only)."))
    if _valid_cpf(digits) or _valid_cnpj(digits):
        return digits
    raise AppError(
        _("This is not a valid CPF or CNPJ: check the digits."),
        code="document_invalid",
        field=field,
    )


def clean_bank_account(data: dict) -> dict:
    """The bank-account fields of ``data``, validated and normalized."""
    bank_code = str(data.get("bank_code") or "").strip()
    if bank_code not in BANKS:
        raise AppError(_("Choose the bank from the list."), code="bank_invalid", field="bank_code")
    branch = _digits(data.get("branch"), "branch", _("The branch is 4 digits."))
    if len(branch) != 4:
        raise AppError(_("The branch is 4 digits."), code="branch_invalid", field="branch")
    branch_digit = str(data.get("branch_digit") or "").strip().upper()
    if branch_digit and not re.fullmatch(r"[0-9X]", branch_digit):
        raise AppError(
            _("The branch check digit is one digit (or X)."),
            code="branch_invalid",
            field="branch_digit",
        )
    account_number = _digits(
        data.get("account_number"), "account_number", _("Enter the account number (digits).")
    )
    if not 1 <= len(account_number) <= 20 or int(account_number) == 0:
        raise AppError(
            _("Enter the account number (up to 20 digits)."),
            code="account_invalid",
            field="account_number",
        )
    account_digit = str(data.get("account_digit") or "").strip().upper()
    if not re.fullmatch(r"[0-9X]", account_digit):
        raise AppError(
            _("Enter the account's check digit (one digit or X)."),
            code="account_invalid",
            field="account_digit",
        )
    account_type = data.get("account_type")
    if account_type not in PayoutDestination.AccountType.values:
        raise AppError(
            _("Choose checking or savings."), code="account_type_invalid", field="account_type"
        )
    holder_name = " ".join(str(data.get("holder_name") or "").split())
    if not 2 <= len(holder_name) <= 100 or any(ch.isdigit() for ch in holder_name):
        raise AppError(
            _("Enter the account holder's name as the bank has it."),
            code="holder_name_invalid",
            field="holder_name",
        )
    return {
        "bank_code": bank_code,
        "branch": branch,
        "branch_digit": branch_digit,
        "account_number": account_number,
        "account_digit": account_digit,
        "account_type": account_type,
        "holder_name": holder_name,
        "holder_document": clean_document(data.get("holder_document")),
    }


def clean_pix_key(key_type: str, key: str) -> str:
    """``key`` validated for ``key_type`` and normalized."""
    key = str(key or "").strip()
    invalid = {
        PixKeyType.CPF: _("This is not a valid CPF: check the digits."),
        PixKeyType.CNPJ: _("This is not a valid CNPJ: check the digits."),
        PixKeyType.EMAIL: _("Enter a valid e-mail address."),
        PixKeyType.PHONE: _(
            "Enter a Brazilian mobile number with its area code, e.g. +55 11 98765-4321."
        ),
        PixKeyType.RANDOM: _("A random key looks like 123e4567-e89b-42d3-a456-426614174000."),
    }
    if key_type not in invalid:
        raise AppError(
            _("Choose the type of Pix key."), code="pix_type_invalid", field="pix_key_type"
        )
    error = AppError(invalid[key_type], code="pix_key_invalid", field="pix_key")
    if not key or len(key) > 77:
        raise error
    if key_type == PixKeyType.CPF:
        digits = _NAME_SEPARATORS.sub("", key)
        if not _valid_cpf(digits):
            raise error
        return digits
    if key_type == PixKeyType.CNPJ:
        digits = _NAME_SEPARATORS.sub("", key)
        if not _valid_cnpj(digits):
            raise error
        return digits
    if key_type == PixKeyType.EMAIL:
        try:
            validate_email(key)
        except ValidationError:
            raise error from None
        return key.lower()
    if key_type == PixKeyType.PHONE:
        try:
            number = phonenumbers.parse(key, "BR")
        except phonenumbers.NumberParseException:
            raise error from None
        if number.country_code != 55 or not phonenumbers.is_valid_number(number):
            raise error
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            raise error
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        raise error from None
    if str(parsed) != key.lower():  # the canonical 8-4-4-4-12 form only
        raise error
    return str(parsed)


def clean_destination(kind: str, data: dict) -> dict:
    """The model fields for a destination of ``kind`` from ``data`` (AppError naming the
    field otherwise); the other kind's fields are blank."""
    if kind == Kind.BANK_ACCOUNT:
        fields = clean_bank_account(data)
        return fields | dict.fromkeys(PIX_FIELDS, "")
    if kind == Kind.PIX:
        key_type = data.get("pix_key_type")
        fields = {"pix_key_type": key_type, "pix_key": clean_pix_key(key_type, data.get("pix_key"))}
        return fields | dict.fromkeys(BANK_FIELDS, "")
    raise AppError(_("Choose a bank account or a Pix key."), code="kind_invalid", field="kind")


# --- Writes --------------------------------------------------------------------------


def _authorize(actor: User, business: Business | None, destination=None) -> None:
    """Business destinations: owners only. A user's: that user only (404 alike)."""
    if destination is not None and (
        destination.business_id != (business.pk if business else None)
        or (business is None and destination.user_id != actor.pk)
        or destination.removed_at is not None
    ):
        raise AppError(_("Not found."), code="not_found", status_code=404)
    if business is not None:
        require_role(actor, business, Membership.Role.OWNER)


def _holder_filter(business: Business | None, user: User) -> dict:
    return {"business": business} if business is not None else {"user": user, "business": None}


def _live(business: Business | None, user: User):
    return PayoutDestination.objects.filter(
        removed_at__isnull=True, **_holder_filter(business, user)
    )


def _notify(destination: PayoutDestination, action: str, actor: User) -> None:
    queue_destination_emails(destination=destination, action=action, actor=actor)


def add_destination(
    *,
    actor: User,
    business: Business | None = None,
    kind: str,
    data: dict,
    make_default: bool = False,
) -> PayoutDestination:
    """Add a bank account or Pix key to ``business`` (owners only) or, without a
    business, to ``actor``'s own wallet. The first one, or ``make_default``, becomes
    the default. Atomic; owners are e-mailed after commit."""
    _authorize(actor, business)
    fields = clean_destination(kind, data)
    with transaction.atomic():
        live = list(
            _live(business, actor).select_for_update(no_key=True).values_list("pk", "is_default")
        )
        if len(live) >= MAX_LIVE:
            raise AppError(
                _("You can keep at most %(count)d payout destinations: remove one first.")
                % {"count": MAX_LIVE},
                code="too_many_destinations",
            )
        is_default = make_default or not any(default for _pk, default in live)
        if is_default:
            _live(business, actor).filter(is_default=True).update(is_default=False)
        destination = PayoutDestination.objects.create(
            **_holder_filter(business, actor),
            kind=kind,
            is_default=is_default,
            created_by=actor,
            **fields,
        )
        _notify(destination, "added", actor)
    return destination


def change_destination(
    *, actor: User, business: Business | None = None, destination: PayoutDestination, data: dict
) -> PayoutDestination:
    """Replace the details of ``destination`` (same kind), validated like a new one.
    Past payouts keep the masked label they were made with. Atomic; owners e-mailed."""
    _authorize(actor, business, destination)
    fields = clean_destination(destination.kind, data)
    with transaction.atomic():
        destination = PayoutDestination.objects.select_for_update(no_key=True).get(
            pk=destination.pk
        )
        for name, value in fields.items():
            setattr(destination, name, value)
        destination.updated_at = timezone.now()
        destination.save()
        _notify(destination, "changed", actor)
    return destination


def set_default_destination(
    *, actor: User, business: Business | None = None, destination: PayoutDestination
) -> PayoutDestination:
    """Make ``destination`` the one payouts go to. Atomic; owners e-mailed."""
    _authorize(actor, business, destination)
    with transaction.atomic():
        list(_live(business, actor).select_for_update(no_key=True).values_list("pk"))
        _live(business, actor).filter(is_default=True).update(is_default=False)
        PayoutDestination.objects.filter(pk=destination.pk).update(
            is_default=True, updated_at=timezone.now()
        )
        destination.is_default = True
        _notify(destination, "default", actor)
    return destination


def remove_destination(
    *, actor: User, business: Business | None = None, destination: PayoutDestination
) -> None:
    """Remove ``destination`` (kept for the payouts that point at it). A removed
    default passes to the newest other one. Atomic; owners e-mailed."""
    _authorize(actor, business, destination)
    with transaction.atomic():
        live = list(
            _live(business, actor).select_for_update(no_key=True).order_by("-created_at", "-pk")
        )
        now = timezone.now()
        PayoutDestination.objects.filter(pk=destination.pk).update(
            removed_at=now, is_default=False, updated_at=now
        )
        if destination.is_default:
            others = [d for d in live if d.pk != destination.pk]
            if others:
                PayoutDestination.objects.filter(pk=others[0].pk).update(is_default=True)
        destination.removed_at = now
        _notify(destination, "removed", actor)


# --- E-mail ----------------------------------------------------------------------------


def queue_destination_emails(
    *, destination: PayoutDestination, action: str, actor: User | None
) -> int:
    """Queue (``core.mail``) an e-mail to every owner of the destination's business (or
    the user, for a wallet destination) that it was ``action`` ("added", "changed",
    "default", "removed"), masked, each in its recipient's language. Call it in the
    change's transaction: the change and its e-mails commit together, and a worker or
    broker lost afterwards loses none (docs/outbox.md). Returns how many."""
    if destination.business_id:
        recipients = list(
            User.objects.filter(
                memberships__business_id=destination.business_id,
                memberships__role=Membership.Role.OWNER,
                is_active=True,
            )
            .distinct()
            .order_by("pk")
        )
    else:
        recipients = [destination.user]
    event = uuid.uuid4().hex
    for recipient in recipients:
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            context = {
                "recipient": recipient,
                "destination": destination.masked(),
                "action": action,
                "business": destination.business,
                "actor": actor,
                "when": timezone.now(),
            }
            subject = _("Your payout destinations changed")
            if destination.business is not None:
                subject = _("%(business)s: payout destinations changed") % {
                    "business": destination.business.name
                }
            body = render_to_string("payments/email/destination_changed.txt", context)
        queue_email(
            to=recipient.email,
            subject=subject,
            body=body,
            dedupe_key=f"payout-destination:{destination.pk}:{action}:{event}:{recipient.pk}",
        )
    return len(recipients)


def send_destination_email(*, destination_id: int, action: str, actor_id: int | None) -> int:
    """For the ``send_destination_email`` tasks enqueued before e-mails were queued as
    rows (still in a broker at the upgrade): queue them now. Returns how many."""
    destination = (
        PayoutDestination.objects.select_related("business", "user")
        .filter(pk=destination_id)
        .first()
    )
    if destination is None:
        return 0
    with transaction.atomic():
        return queue_destination_emails(
            destination=destination,
            action=action,
            actor=User.objects.filter(pk=actor_id).first(),
        )
