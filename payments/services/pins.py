"""The payment PIN: 6 digits, weak ones refused, stored as a memory-hard hash (scrypt,
``payments.hashers.PinScryptHasher``, ~4 ms) of an HMAC keyed with
``settings.PAYMENT_PIN_PEPPER`` (a secret outside the database), and a strict attempt
counter changed only under a lock on the ``PaymentPin`` row. PINs stored with the
former hash (Django's PBKDF2) still verify and are rehashed at their next right use.

3 wrong PINs lock it for 15 minutes; 5 consecutive wrong PINs lock it until
:func:`reset_pin` with the account password. A correct PIN resets the counter.

The counter must outlive the request that failed: :func:`check_pin` runs in its own
transaction and *returns* the outcome, so the increment is committed before anybody
raises. :func:`verify_pin` raises after that commit; call it outside any
``transaction.atomic()`` block (an enclosing block that rolls back would undo the
count). See docs/payments.md, "PIN and fingerprints".
"""

import datetime
import hashlib
import hmac
import itertools
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import AppError
from payments.hashers import PinScryptHasher
from payments.models import PaymentPin

PIN_LENGTH = 6
LOCK_AFTER = 3  # wrong PINs in a row before a temporary lock
LOCK_FOR = datetime.timedelta(minutes=15)
RESET_AFTER = 5  # wrong PINs in a row before only a reset with the password unlocks
# Wrong account passwords on the reset form: a few per window, then a pause.
PASSWORD_FAILURES_ALLOWED = 5
PASSWORD_FAILURE_WINDOW = 15 * 60

# The most chosen 6-digit PINs (besides repeats and runs, refused by rule).
COMMON_PINS = frozenset(
    {
        "121212", "112233", "123123", "000000", "111111", "159753", "147258", "102030",
        "202020", "131313", "696969", "007007", "777777", "101010", "123321", "654321",
        "666666", "999999", "100000", "200000", "112211", "121314", "123654", "123789",
        "147852", "159357", "252525", "258369", "258258", "332211", "369369", "456789",
        "456456", "520520", "741852", "753951", "789456", "789789", "852456", "963852",
        "101112", "110011", "111222", "222333", "123000", "000123", "098765", "314159",
        "123412", "124578", "212121", "232323", "246810", "135790", "142536", "147147",
        "159159", "010203", "112358", "121121", "123456", "111000", "000111", "232425",
    }
)  # fmt: skip


def is_weak_pin(pin: str) -> bool:
    """All one digit, an ascending or descending run (with wrap-around: 890123), or
    one of :data:`COMMON_PINS`."""
    if len(set(pin)) == 1 or pin in COMMON_PINS:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})


def validate_new_pin(pin: str, pin_again: str) -> None:
    """The policy for a new PIN; AppError ``pin_format``, ``pin_weak`` or ``pin_mismatch``."""
    pin, pin_again = (pin or "").strip(), (pin_again or "").strip()
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise AppError(_("The PIN must be exactly 6 digits."), code="pin_format", field="pin")
    if is_weak_pin(pin):
        raise AppError(
            _("This PIN is too easy to guess. Avoid repeated digits, runs and common PINs."),
            code="pin_weak",
            field="pin",
        )
    if pin != pin_again:
        raise AppError(_("The two PINs do not match."), code="pin_mismatch", field="pin_again")


def _keyed(pin: str) -> str:
    # The pepper lives in the environment, never in the database: a copy of the
    # database alone does not allow an offline search of the 10^6 PINs.
    return hmac.new(settings.PAYMENT_PIN_PEPPER.encode(), pin.encode(), hashlib.sha256).hexdigest()


PIN_HASHER = PinScryptHasher()


def hash_pin(pin: str) -> str:
    """scrypt (:class:`~payments.hashers.PinScryptHasher`) of HMAC-SHA256(pepper, PIN)."""
    return PIN_HASHER.encode(_keyed(pin), PIN_HASHER.salt())


def _is_current(pin_hash: str) -> bool:
    """Hashed by :func:`hash_pin` with today's parameters (else: rehash at next use)."""
    return pin_hash.startswith(PIN_HASHER.algorithm + "$") and not PIN_HASHER.must_update(pin_hash)


def _pin_matches(pin: str, pin_hash: str) -> bool:
    keyed = _keyed((pin or "").strip())
    if pin_hash.startswith(PIN_HASHER.algorithm + "$"):
        return PIN_HASHER.verify(keyed, pin_hash)
    # A PIN from before the scrypt hash: Django's password hash (PBKDF2) of the same
    # HMAC, checked by the hasher named in it (PASSWORD_HASHERS).
    return check_password(keyed, pin_hash)


def has_pin(user) -> bool:
    return PaymentPin.objects.filter(user=user).exists()


def get_pin_status(user) -> PaymentPin | None:
    """The user's PaymentPin row (counter and lock state) or None; read-only."""
    return PaymentPin.objects.filter(user=user).first()


# --- Checking a PIN ---------------------------------------------------------------------


@dataclass(frozen=True)
class PinCheck:
    """The outcome of :func:`check_pin`: ``ok``, or the error to show."""

    ok: bool
    error: AppError | None = None

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error


def _missing() -> AppError:
    return AppError(_("Set a payment PIN first."), code="pin_missing", field="pin")


def _locked(until: datetime.datetime, now: datetime.datetime) -> AppError:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    at = timezone.localtime(until).strftime("%H:%M")
    return AppError(
        ngettext(
            "Too many wrong PINs. Try again in %(minutes)d minute (at %(time)s).",
            "Too many wrong PINs. Try again in %(minutes)d minutes (at %(time)s).",
            minutes,
        )
        % {"minutes": minutes, "time": at},
        code="pin_locked",
        field="pin",
    )


def _reset_needed() -> AppError:
    return AppError(
        _("Your PIN is blocked after too many wrong attempts. Reset it with your password."),
        code="pin_reset_needed",
        field="pin",
    )


def _wrong(failed: int) -> AppError:
    if failed < LOCK_AFTER:
        left = LOCK_AFTER - failed
        text = ngettext(
            "Wrong PIN. %(left)d attempt left before it is locked for 15 minutes.",
            "Wrong PIN. %(left)d attempts left before it is locked for 15 minutes.",
            left,
        )
    else:
        left = RESET_AFTER - failed
        text = ngettext(
            "Wrong PIN. %(left)d attempt left before it must be reset with your password.",
            "Wrong PIN. %(left)d attempts left before it must be reset with your password.",
            left,
        )
    return AppError(text % {"left": left}, code="pin_wrong", field="pin")


def check_pin(*, user, pin: str) -> PinCheck:
    """Check ``pin`` and count the attempt; never raises for a wrong PIN.

    The hash runs first, *outside* any transaction (a former PBKDF2 hash, about a
    second of CPU, with this thread's database connection handed back to the pool
    meanwhile, so that a few such payers do not hold every pooled connection). A right
    PIN whose hash is not the current one (:func:`_is_current`) is rehashed, also
    outside, and stored with the verdict. The verdict then
    counts under ``SELECT … FOR UPDATE`` on the user's PaymentPin row, re-reading its
    state: an attempt that reaches the lock after the PIN got locked is refused even
    if it was right, so a flood of concurrent guesses still gets only as many tries as
    the counter allows. A locked or blocked PIN is refused before hashing. When called
    outside another atomic block, the counter is committed on return.
    """
    state = PaymentPin.objects.filter(user=user).first()
    if state is None:
        return PinCheck(ok=False, error=_missing())
    early = _refusal(state, timezone.now())
    if early is not None:
        return PinCheck(ok=False, error=early)
    if not connection.in_atomic_block and not state.pin_hash.startswith(PIN_HASHER.algorithm):
        connection.close()  # back to the pool during the slow, former hash
    matches = _pin_matches(pin, state.pin_hash)
    rehashed = hash_pin(pin.strip()) if matches and not _is_current(state.pin_hash) else None
    with transaction.atomic():
        row = PaymentPin.objects.select_for_update(no_key=True).filter(user=user).first()
        if row is None:
            return PinCheck(ok=False, error=_missing())
        now = timezone.now()
        refused = _refusal(row, now)
        if refused is not None:
            return PinCheck(ok=False, error=refused)
        if row.pin_hash != state.pin_hash:  # changed meanwhile: check the new one
            matches = _pin_matches(pin, row.pin_hash)
            rehashed = None if _is_current(row.pin_hash) else rehashed
        if matches:
            fields = []
            if row.failed_attempts or row.locked_until:
                row.failed_attempts, row.locked_until = 0, None
                fields += ["failed_attempts", "locked_until"]
            if rehashed is not None:
                row.pin_hash = rehashed
                fields.append("pin_hash")
            if fields:
                row.updated_at = now
                row.save(update_fields=[*fields, "updated_at"])
            return PinCheck(ok=True)
        row.failed_attempts += 1
        row.updated_at = now
        if row.failed_attempts >= RESET_AFTER:
            row.needs_reset, row.locked_until = True, None
            error = _reset_needed()
        elif row.failed_attempts == LOCK_AFTER:
            row.locked_until = now + LOCK_FOR
            error = _locked(row.locked_until, now)
        else:
            error = _wrong(row.failed_attempts)
        row.save(update_fields=["failed_attempts", "locked_until", "needs_reset", "updated_at"])
    return PinCheck(ok=False, error=error)


def _refusal(row: PaymentPin, now) -> AppError | None:
    if row.needs_reset:
        return _reset_needed()
    if row.locked_until and row.locked_until > now:
        return _locked(row.locked_until, now)
    return None


def verify_pin(*, user, pin: str) -> None:
    """Check ``pin`` (counting the attempt, see :func:`check_pin`) and raise AppError
    ``pin_wrong`` (attempts left), ``pin_locked`` (until when), ``pin_reset_needed`` or
    ``pin_missing``.

    Call it *outside* any ``transaction.atomic()`` block — e.g. before the paying
    service opens the payment's transaction — so the counted attempt is committed
    before the error propagates. Code that must check inside its own transaction
    calls :func:`check_pin`, lets that transaction commit, then calls
    ``result.raise_for_error()``.
    """
    check_pin(user=user, pin=pin).raise_for_error()


# --- Setting, changing and resetting ------------------------------------------------------


def set_pin(*, user, pin: str, pin_again: str) -> PaymentPin:
    """Set the first PIN; AppError ``pin_exists`` when there already is one."""
    validate_new_pin(pin, pin_again)
    try:
        with transaction.atomic():
            return PaymentPin.objects.create(user=user, pin_hash=hash_pin(pin.strip()))
    except IntegrityError:
        raise AppError(
            _("You already have a payment PIN. Change it instead."), code="pin_exists"
        ) from None


def change_pin(*, user, old_pin: str, pin: str, pin_again: str) -> PaymentPin:
    """Replace the PIN; the old PIN is checked (and counted) like a payment's.

    Not atomic as a whole: the check commits its attempt first (see :func:`check_pin`).
    """
    validate_new_pin(pin, pin_again)
    check = check_pin(user=user, pin=old_pin)
    if check.error is not None:
        error = check.error
        if error.code == "pin_wrong":
            error.field = "old_pin"
        raise error
    if (old_pin or "").strip() == pin.strip():
        raise AppError(
            _("The new PIN must differ from the current one."), code="pin_same", field="pin"
        )
    with transaction.atomic():
        row = PaymentPin.objects.select_for_update(no_key=True).get(user=user)
        row.pin_hash = hash_pin(pin.strip())
        row.failed_attempts, row.locked_until, row.needs_reset = 0, None, False
        row.updated_at = timezone.now()
        row.save()
    return row


def _password_key(user) -> str:
    return f"payments:pin-reset-password-failures:{user.pk}"


def _check_password_not_limited(user) -> None:
    if (cache.get(_password_key(user)) or 0) >= PASSWORD_FAILURES_ALLOWED:
        raise AppError(
            _("Too many wrong passwords. Wait 15 minutes and try again."),
            code="rate_limited",
            status_code=429,
        )


def _check_password(user, password: str) -> None:
    key = _password_key(user)
    if not password or not user.check_password(password):
        if not cache.add(key, 1, timeout=PASSWORD_FAILURE_WINDOW):
            cache.incr(key)
        raise AppError(_("Wrong password."), code="password_wrong", field="password")
    cache.delete(key)


def verify_account_password(*, user, password: str) -> None:
    """Confirm a sensitive action (a payout on request) with the account password.
    Wrong passwords share the PIN reset's limit: a few per 15 minutes, whichever
    action they were typed for (AppError ``rate_limited``, ``password_wrong``)."""
    _check_password_not_limited(user)
    _check_password(user, password)


def reset_pin(*, user, password: str, pin: str, pin_again: str) -> PaymentPin:
    """Set a new PIN with the account password; clears any lock and the counter.

    Wrong passwords are limited to a few per 15 minutes (AppError ``rate_limited``).
    """
    _check_password_not_limited(user)
    validate_new_pin(pin, pin_again)
    _check_password(user, password)
    with transaction.atomic():
        row, _created = PaymentPin.objects.select_for_update(no_key=True).update_or_create(
            user=user,
            defaults={
                "pin_hash": hash_pin(pin.strip()),
                "failed_attempts": 0,
                "locked_until": None,
                "needs_reset": False,
                "updated_at": timezone.now(),
            },
        )
    return row
