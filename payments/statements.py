"""The statement export: every posting to a payable account (a business's merchant
payable, or a user's wallet) in a period, as CSV written with Python's ``csv``
module. Amounts are decimal strings in major units ("12.34", never a float) next to
the currency; ``balance`` is the running balance after each line, starting from the
opening balance on the first line."""

import csv
import datetime

from django.utils.translation import gettext as _

from core.errors import AppError
from core.money import from_minor

# ``gross`` and ``fee``: what the customer paid and the processing fee, on a card
# payment's line (its ``amount`` is the net); last, so earlier columns keep their places.
COLUMNS = ["date", "posting", "kind", "description", "order", "payout", "amount", "balance",
           "currency", "gross", "fee"]  # fmt: skip
# Cells a spreadsheet would run as a formula (CSV injection): prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_statement(out, *, opening: int, entries, currency: str, tz) -> int:
    """Write the header, an opening line and one line per entry to ``out`` (a text
    file); returns the number of entry lines."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    balance = opening
    writer.writerow(["", "", "opening_balance", "", "", "", "", from_minor(balance, currency),
                     currency, "", ""])  # fmt: skip
    count = 0
    for entry in entries:
        balance += entry.amount
        posting = entry.transaction
        payment = posting.payment if posting.payment_id else None
        order = payment.order if payment is not None and payment.order_id else None
        card = posting.kind == "card_payment" and payment is not None
        writer.writerow(
            [
                entry.created_at.astimezone(tz).isoformat(timespec="seconds"),
                posting.pk,
                posting.kind,
                _cell(posting.description),
                f"#{order.number}" if order else "",
                posting.payout_id or "",
                from_minor(entry.amount, currency),
                from_minor(balance, currency),
                currency,
                from_minor(payment.amount, currency) if card else "",
                from_minor(payment.fee, currency) if card else "",
            ]
        )
        count += 1
    return count


def parse_period(start, end, *, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Validate a statement period (dates already parsed): start ≤ end, not in the
    future beyond today, within 2000–today. AppError naming the field otherwise."""
    if start is None or end is None:
        raise AppError(_("Enter both dates."), code="period_invalid", field="start")
    if start < datetime.date(2000, 1, 1) or end < datetime.date(2000, 1, 1):
        raise AppError(_("Choose dates from 2000 on."), code="period_invalid", field="start")
    if end < start:
        raise AppError(
            _("The end date must not be before the start date."), code="period_invalid", field="end"
        )
    if start > today:
        raise AppError(_("The start date is in the future."), code="period_invalid", field="start")
    return start, min(end, today)
