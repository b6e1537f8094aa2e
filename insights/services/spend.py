"""A campaign's daily spend: lines entered by hand, and the import of a CSV file
(Meta Ads and Google Ads exports, or a plain ``date,campaign,amount`` file).

The import is all or nothing: every bad line is listed with its number and reason,
and nothing is saved unless every line is good. Lines of one campaign and day are
summed; an imported day replaces that day's line. Admins and owners (docs/insights.md).
"""

import csv
import datetime
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from accounts.services import require_role
from core.errors import AppError
from core.money import check_minor, parse_money
from insights.models import MAX_COST, Campaign, SpendLine
from insights.services.campaigns import FIRST_DAY, LAST_DAY

ROLE = Membership.Role
MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 10_000
MAX_PROBLEMS = 200  # listed; the count says how many more
HEADER_SEARCH = 10  # exports may open with a title and a date range (Google Ads)

# Header names, lower-cased, of the three columns, as the exports write them in
# English and Portuguese. An amount header may end with its currency: "(BRL)".
DATE_HEADERS = {
    "date", "day", "reporting starts", "dia", "data", "início dos relatórios",
    "inicio dos relatorios",
}  # fmt: skip
CAMPAIGN_HEADERS = {"campaign", "campaign name", "campanha", "nome da campanha", "code", "código"}
AMOUNT_HEADERS = {
    "amount", "cost", "spend", "amount spent", "custo", "valor", "valor usado", "valor gasto",
    "gasto",
}  # fmt: skip
_CURRENCY_SUFFIX = re.compile(r"^(.*?)\s*\(([A-Za-z]{3})\)$")
_NEGATIVE = re.compile(r"^-\s*[0-9R$]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _check_line(actor: User, campaign: Campaign) -> None:
    require_role(actor, campaign.business, ROLE.ADMIN)
    if campaign.is_automatic:
        raise AppError(
            _("An automatic campaign has no cost: merge it into one of yours."),
            code="automatic_campaign",
        )


def _clean_spend(day: Any, amount: Any) -> tuple[datetime.date, int]:
    if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
        raise AppError(_("Enter a valid date."), code="invalid_date", field="day")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise AppError(_("Enter a valid date."), code="invalid_date", field="day")
    check_minor(amount, field="amount")
    if amount > MAX_COST:
        raise AppError(_("That amount is too large."), code="money_too_large", field="amount")
    return day, amount


def _day_taken() -> AppError:
    return AppError(
        _("There is already a line for that day: change it instead."),
        code="day_taken",
        field="day",
    )


def add_spend_line(*, actor: User, campaign: Campaign, day: Any, amount: Any) -> SpendLine:
    """What ``campaign`` cost on ``day`` (one line a day). Admins and owners."""
    _check_line(actor, campaign)
    day, amount = _clean_spend(day, amount)
    if SpendLine.objects.filter(campaign=campaign, day=day).exists():
        raise _day_taken()
    try:
        with transaction.atomic():
            return SpendLine.objects.create(campaign=campaign, day=day, amount=amount)
    except IntegrityError:
        raise _day_taken() from None


def update_spend_line(*, actor: User, line: SpendLine, day: Any, amount: Any) -> SpendLine:
    _check_line(actor, line.campaign)
    day, amount = _clean_spend(day, amount)
    if SpendLine.objects.filter(campaign_id=line.campaign_id, day=day).exclude(pk=line.pk).exists():
        raise _day_taken()
    line.day, line.amount, line.source = day, amount, SpendLine.Source.MANUAL
    try:
        with transaction.atomic():
            line.save(update_fields=["day", "amount", "source"])
    except IntegrityError:
        raise _day_taken() from None
    return line


def delete_spend_line(*, actor: User, line: SpendLine) -> None:
    _check_line(actor, line.campaign)
    SpendLine.objects.filter(pk=line.pk).delete()


# --- CSV import -----------------------------------------------------------------------


@dataclass
class ImportResult:
    lines: int  # spend lines written (a campaign and a day each)
    campaigns: int
    total: int  # the sum of what was imported, minor units


class SpendImportError(AppError):
    """The file was refused: ``problems`` lists each bad line as (line number, reason),
    ``more`` how many bad lines were left out of it; both empty when the file as a whole
    was refused (encoding, size, header)."""

    def __init__(self, message: str, *, problems=(), more: int = 0, code: str = "bad_file"):
        super().__init__(message, code=code, field="file")
        self.problems = list(problems)
        self.more = more


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise SpendImportError(
            _("The file is larger than %(mb)d MB: split it in parts.") % {"mb": MAX_BYTES // 2**20},
            code="file_too_large",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, Excel's "Unicode text"
        data = b"\x00"  # fall through to the encoding error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise SpendImportError(
            _(
                "The file is not in UTF-8. Save it as “CSV UTF-8” (in Excel: Save As → "
                "CSV UTF-8) and try again."
            ),
            code="file_encoding",
        )
    if not text.strip():
        raise SpendImportError(_("The file is empty."), code="file_empty")
    return text


def _column(header: str) -> tuple[str | None, str | None]:
    """Which of our columns a header names, and the currency it says, if any."""
    name = " ".join(header.strip().lower().split())
    currency = None
    match = _CURRENCY_SUFFIX.match(name)
    if match:
        name, currency = match.group(1), match.group(2).upper()
    if name in DATE_HEADERS:
        return "date", currency
    if name in CAMPAIGN_HEADERS:
        return "campaign", currency
    if name in AMOUNT_HEADERS:
        return "amount", currency
    return None, None


def _find_header(rows: list[list[str]]) -> tuple[int, dict[str, int], str | None] | None:
    for index, row in enumerate(rows[:HEADER_SEARCH]):
        columns: dict[str, int] = {}
        currency = None
        for position, cell in enumerate(row):
            kind, cell_currency = _column(cell)
            if kind and kind not in columns:
                columns[kind] = position
                currency = currency or cell_currency
        if len(columns) == 3:
            return index, columns, currency
    return None


def _read_rows(text: str) -> tuple[list[list[str]], list[int], int, dict[str, int], str | None]:
    """The rows with their line numbers, parsed with the delimiter (, ; or tab) that
    yields a header we know."""
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows, numbers = [], []
        try:
            for row in reader:
                rows.append(row)
                numbers.append(reader.line_num)
                if len(rows) > MAX_LINES + HEADER_SEARCH:
                    raise SpendImportError(
                        _("The file has more than %(n)s lines: split it in parts.")
                        % {"n": f"{MAX_LINES:,}"},
                        code="too_many_lines",
                    )
        except csv.Error:
            continue
        found = _find_header(rows)
        if found:
            index, columns, currency = found
            if len(rows) - index - 1 > MAX_LINES:
                raise SpendImportError(
                    _("The file has more than %(n)s lines: split it in parts.")
                    % {"n": f"{MAX_LINES:,}"},
                    code="too_many_lines",
                )
            return rows, numbers, index, columns, currency
    raise SpendImportError(
        _(
            "No header line found. The file needs columns for the date, the campaign and "
            "the amount (for example “Day”, “Campaign name” and “Amount spent (BRL)”)."
        ),
        code="no_header",
    )


def _parse_date(text: str) -> datetime.date | None:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        return day if FIRST_DAY <= day <= LAST_DAY else None
    return None


def _is_formula(text: str, *, amount: bool) -> bool:
    if not text.startswith(_FORMULA_START):
        return False
    # "-5" in the amount column is a negative amount (a bad amount), not a formula.
    return not (amount and _NEGATIVE.match(text))


def _campaigns_by_key(business: Business) -> dict[str, list[Campaign]]:
    keys: dict[str, list[Campaign]] = defaultdict(list)
    for campaign in Campaign.objects.filter(
        business=business, is_automatic=False, merged_into__isnull=True
    ):
        keys[campaign.code.lower()].append(campaign)
        name = " ".join(campaign.name.lower().split())
        if name != campaign.code.lower():
            keys[name].append(campaign)
    return keys


def import_spend_csv(
    *, actor: User, business: Business, data: bytes, language: str | None = None
) -> ImportResult:
    """Import daily spend from a CSV file (``data``, its bytes). ``language`` says how
    the amounts are written ("1.234,56" in pt-BR, "1,234.56" in English; the active
    language when None). Campaigns are matched by name or code among the business's
    own (not automatic ones). All or nothing: any bad line raises SpendImportError
    listing every bad line, and nothing is saved. Admins and owners. Atomic."""
    require_role(actor, business, ROLE.ADMIN)
    rows, numbers, header_index, columns, currency = _read_rows(_decode(data))
    if currency and currency != business.currency:
        raise SpendImportError(
            _("The amounts are in %(file)s but this business counts in %(ours)s.")
            % {"file": currency, "ours": business.currency},
            code="wrong_currency",
        )
    campaigns = _campaigns_by_key(business)
    problems: list[tuple[int, str]] = []
    sums: dict[tuple[int, datetime.date], int] = defaultdict(int)
    by_id: dict[int, Campaign] = {}
    for row, number in zip(rows[header_index + 1 :], numbers[header_index + 1 :], strict=True):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        cells += [""] * (max(columns.values()) + 1 - len(cells))
        date_text = cells[columns["date"]]
        name = cells[columns["campaign"]]
        amount_text = cells[columns["amount"]]
        # Google Ads ends its exports with "Total: ..." lines.
        if cells[0].lower().startswith("total") and _parse_date(date_text) is None:
            continue
        reasons = []
        for text, is_amount in ((date_text, False), (name, False), (amount_text, True)):
            if _is_formula(text, amount=is_amount):
                reasons.append(
                    _("a cell starts with = + - or @ (a formula): “%(cell)s”") % {"cell": text[:40]}
                )
                break
        if reasons:
            problems.append((number, reasons[0]))
            continue
        day = _parse_date(date_text)
        if day is None:
            reasons.append(
                _("“%(value)s” is not a date (use 2026-03-31 or 31/03/2026)")
                % {"value": date_text[:40]}
                if date_text
                else _("the date is missing")
            )
        matches = campaigns.get(" ".join(name.lower().split()), []) if name else []
        if not name:
            reasons.append(_("the campaign is missing"))
        elif not matches:
            reasons.append(_("no campaign named “%(name)s”") % {"name": name[:80]})
        elif len(matches) > 1:
            reasons.append(
                _("“%(name)s” names more than one campaign: use its code") % {"name": name[:80]}
            )
        elif matches[0].cost_mode != Campaign.CostMode.DAILY:
            reasons.append(
                _("the campaign “%(name)s” counts its cost as one total: switch it to daily spend")
                % {"name": matches[0].name}
            )
        amount = None
        try:
            amount = parse_money(amount_text, business.currency, language=language)
        except AppError as exc:
            reasons.append(
                str(exc.message).rstrip(".").lower() if amount_text else _("the amount is missing")
            )
        if reasons:
            problems.append((number, "; ".join(str(r) for r in reasons)))
            continue
        campaign = matches[0]
        by_id[campaign.pk] = campaign
        sums[(campaign.pk, day)] += amount
        if sums[(campaign.pk, day)] > MAX_COST:
            problems.append((number, _("the day's total is too large")))
    if not problems and not sums:
        raise SpendImportError(_("The file has no spend lines."), code="file_empty")
    if problems:
        shown = problems[:MAX_PROBLEMS]
        raise SpendImportError(
            _("Nothing was imported: fix these lines and try again."),
            problems=shown,
            more=len(problems) - len(shown),
            code="bad_lines",
        )
    with transaction.atomic():
        # Lock the campaigns (id order) so two imports of the same days queue.
        list(Campaign.objects.select_for_update().filter(pk__in=by_id).order_by("pk"))
        replaced = Q()
        for campaign_id, day in sums:
            replaced |= Q(campaign_id=campaign_id, day=day)
        SpendLine.objects.filter(replaced).delete()
        SpendLine.objects.bulk_create(
            SpendLine(
                campaign_id=campaign_id, day=day, amount=amount, source=SpendLine.Source.IMPORT
            )
            for (campaign_id, day), amount in sorted(sums.items())
        )
    return ImportResult(lines=len(sums), campaigns=len(by_id), total=sum(sums.values()))
