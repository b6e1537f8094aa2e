"""The catalog as a product feed: CSV in the columns Meta and Google Merchant Center
read (``id, title, description, availability, condition, price, sale_price, link,
image_link, brand``). Reading and writing only; no database writes happen here.

:func:`export_products` writes a business's catalog; :func:`parse_feed` reads an
uploaded file into validated rows plus every problem found, each with the line of
the file it is on. The rules are written up for merchants in docs/catalog-import.md.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Business
from accounts.validators import validate_no_markup
from catalog.models import Product
from catalog.selectors import PHOTOS
from core.errors import AppError
from core.money import MAX_MINOR, from_minor, minor_digits, to_minor

COLUMNS = [
    "id", "title", "description", "availability", "condition",
    "price", "sale_price", "link", "image_link", "brand",
]  # fmt: skip
REQUIRED_COLUMNS = ["id", "title", "price"]
# Written by the export for Meta/Google; read back but not stored: the link is ours,
# images are never fetched from a URL, the brand is the business name.
INFORMATIVE_COLUMNS = {"link", "image_link", "brand"}

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ERRORS = 1_000  # beyond this the merchant has a systematic problem, not typos

ID_MAX = Product._meta.get_field("retailer_id").max_length
TITLE_MAX = Product._meta.get_field("name").max_length
DESCRIPTION_MAX = Product._meta.get_field("description").max_length

IN_STOCK, OUT_OF_STOCK = "in stock", "out of stock"
# preorder and backorder can be ordered now and ship later: for Conversa, orderable.
AVAILABILITY = {IN_STOCK: True, "preorder": True, "backorder": True, OUT_OF_STOCK: False}
CONDITIONS = {"new"}

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ASCII digits only: \d and Decimal() also take "١٢٣" or "１２３".
_PRICE = re.compile(r"(?P<amount>[0-9]+(?:\.[0-9]+)?)\s*(?P<currency>[A-Za-z]{3})", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# --- Export -----------------------------------------------------------------------


def escape_formula(value: str) -> str:
    """``=SUM(A1)`` → ``'=SUM(A1)``: spreadsheets show the text instead of running it.
    :func:`parse_feed` removes the quote again, so an exported file imports as is."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def format_feed_price(minor: int, currency: str) -> str:
    """1990, "BRL" → ``19.90 BRL``: the feed notation, the same in every language."""
    return f"{from_minor(minor, currency):.{minor_digits(currency)}f} {currency}"


def _absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else settings.SITE_URL + url


def feed_row(product: Product, business: Business) -> list[str]:
    """One product as feed cells. With a compare-at price the product is on sale:
    Meta and Google want the regular price in ``price`` and the current one in
    ``sale_price``."""
    if product.on_sale:
        price, sale_price = product.compare_at_price, product.price
    else:
        price, sale_price = product.price, None
    cover = product.cover
    link = reverse("product_detail", kwargs={"slug": business.slug, "product_id": product.pk})
    return [
        product.retailer_id,
        product.name,
        product.description,
        IN_STOCK if product.in_stock else OUT_OF_STOCK,
        "new",
        format_feed_price(price, product.currency),
        format_feed_price(sale_price, product.currency) if sale_price else "",
        _absolute(link),
        _absolute(cover.image.url) if cover else "",
        business.name,
    ]


def write_feed(products: Iterable[Product], business: Business) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for product in products:
        writer.writerow([escape_formula(cell) for cell in feed_row(product, business)])
    return out.getvalue()


def export_products(business: Business) -> str:
    """Every product of ``business`` (hidden ones too: the file is also the backup
    that re-imports), in shop order, as CSV text. Two queries."""
    products = business.products.prefetch_related(PHOTOS).order_by("position", "id")
    return write_feed(products, business)


# --- Import -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedError:
    """A problem with the file. ``line`` is the line in the file as a text editor
    or spreadsheet numbers it (the header is line 1); None for the file as a whole."""

    line: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class FeedRow:
    """One valid product line. ``None`` means "the file does not say": the import
    then leaves that field of an existing product alone."""

    line: int
    retailer_id: str
    name: str
    price: int  # what the customer pays now, minor units
    compare_at_price: int | None  # the regular price while on sale
    description: str | None = None
    in_stock: bool | None = None


@dataclass
class ParsedFeed:
    rows: list[FeedRow] = field(default_factory=list)
    errors: list[FeedError] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ","
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


class FeedRejected(AppError):
    """The file cannot be imported; ``errors`` lists every problem with its line."""

    def __init__(self, errors: list[FeedError]):
        super().__init__(
            _("Nothing was imported: fix the problems listed and upload the file again."),
            code="feed_rejected",
            field="file",
        )
        self.errors = errors


def size_error(size: int) -> FeedError | None:
    """The error for a file of ``size`` bytes, if it is over the limit. The upload view
    asks before reading the file."""
    if size <= MAX_BYTES:
        return None
    return FeedError(
        None,
        "",
        _("The file is %(size)s MB; the limit is %(max)s MB. Split it into smaller files.")
        % {"size": f"{size / 1024 / 1024:.1f}", "max": MAX_BYTES // 1024 // 1024},
    )


def _file_error(message: str) -> ParsedFeed:
    return ParsedFeed(errors=[FeedError(None, "", message)])


def _decode(data: bytes) -> tuple[str, str] | FeedError:
    """UTF-8 (with or without BOM) first; Windows-1252/Latin-1 only when the bytes are
    not UTF-8 at all (every byte string is valid Latin-1, so that order matters)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export.
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            return FeedError(None, "", _("The file is damaged: it is not valid UTF-16 text."))
    if data.startswith(b"PK\x03\x04"):
        return FeedError(
            None,
            "",
            _(
                "This is a spreadsheet workbook, not a CSV file. In your spreadsheet choose "
                "File → Save as / Download → CSV, and upload that file."
            ),
        )
    if b"\x00" in data:
        return FeedError(None, "", _("This is not a CSV file: it contains binary data."))
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        if data.startswith(b"\xef\xbb\xbf"):
            line = data[: exc.start].count(b"\n") + 1
            return FeedError(
                line,
                "",
                _(
                    "The file is marked as UTF-8 but this line has bytes that are not UTF-8. "
                    "Save it again as “CSV UTF-8”."
                ),
            )
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _sniff_delimiter(text: str) -> tuple[str, bool]:
    """Comma, semicolon (spreadsheets in Portuguese) or tab: whichever the header
    line uses most (column names never contain any of them), unless the file starts
    with Excel's ``sep=;`` line. Returns the delimiter and whether that line is there."""
    header = text.split("\n", 1)[0].strip()
    if len(header) == 5 and header.lower().startswith("sep=") and header[4] in ",;\t":
        return header[4], True
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return (best if counts[best] else ","), False


def _normalize_column(name: str) -> str:
    """``Sale Price`` → ``sale_price`` (Google accepts both spellings)."""
    return re.sub(r"[\s\-]+", "_", name.strip().strip("'\"").lower())


def _unescape(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def parse_price(text: str, currency: str) -> int:
    """``19.90 BRL`` → 1990. The feed notation only: a dot for decimals, no thousands
    separator, and the shop's currency code."""
    text = text.strip()
    example = format_feed_price(1990, currency)
    if text.startswith("-"):
        raise AppError(_("A price cannot be negative."), code="negative")
    match = _PRICE.fullmatch(text)
    if not match:
        if re.fullmatch(r"[\d.,]+\s*[A-Za-z]{3}", text) and "," in text:
            raise AppError(
                _("Use a dot for decimals and no thousands separator: %(example)s.")
                % {"example": example},
                code="comma",
            )
        raise AppError(
            _("Write the price as a number and the currency code, e.g. %(example)s.")
            % {"example": example},
            code="format",
        )
    code = match["currency"].upper()
    if code != currency:
        raise AppError(
            _("The price is in %(got)s but this shop sells in %(currency)s.")
            % {"got": code, "currency": currency},
            code="currency",
        )
    try:
        minor = to_minor(Decimal(match["amount"]), currency)
    except InvalidOperation:
        raise AppError(_("That is not a price."), code="format") from None
    if minor <= 0:
        raise AppError(_("The price must be more than zero."), code="zero")
    if minor > MAX_MINOR:
        raise AppError(_("That price is too large."), code="too_large")
    return minor


def _text(value: str, *, max_length: int, required: bool) -> str:
    if required and not value:
        raise AppError(_("This column cannot be empty."), code="required")
    if len(value) > max_length:
        raise AppError(
            _("Too long: %(n)s characters, at most %(max)s.")
            % {"n": len(value), "max": max_length},
            code="too_long",
        )
    if _CONTROL.search(value):
        raise AppError(_("Contains invisible control characters."), code="control")
    try:
        validate_no_markup(value)
    except ValidationError as exc:
        raise AppError(exc.messages[0], code="markup") from None
    return value


def _parse_row(cells: dict[str, str], line: int, currency: str) -> tuple[FeedRow | None, list]:
    errors: list[FeedError] = []

    def check(column: str, fn: Callable[[], object]):
        try:
            return fn()
        except AppError as exc:
            errors.append(FeedError(line, column, str(exc.message)))
            return None

    retailer_id = check("id", lambda: _text(cells["id"], max_length=ID_MAX, required=True))
    name = check("title", lambda: _text(cells["title"], max_length=TITLE_MAX, required=True))
    description = None
    if "description" in cells:
        description = check(
            "description",
            lambda: _text(cells["description"], max_length=DESCRIPTION_MAX, required=False),
        )
    in_stock = None
    if cells.get("availability"):
        value = cells["availability"].lower().replace("_", " ")
        if value in AVAILABILITY:
            in_stock = AVAILABILITY[value]
        else:
            errors.append(
                FeedError(
                    line,
                    "availability",
                    _("Use one of: %(values)s.") % {"values": ", ".join(AVAILABILITY)},
                )
            )
    if cells.get("condition") and cells["condition"].lower() not in CONDITIONS:
        errors.append(
            FeedError(line, "condition", _("Conversa lists new products only: use “new”."))
        )
    price = check("price", lambda: parse_price(cells["price"], currency))
    sale_price = None
    if cells.get("sale_price"):
        sale_price = check("sale_price", lambda: parse_price(cells["sale_price"], currency))
        if price and sale_price and sale_price >= price:
            errors.append(
                FeedError(
                    line,
                    "sale_price",
                    _("The sale price must be lower than the price (%(price)s).")
                    % {"price": cells["price"]},
                )
            )
    if errors:
        return None, errors
    if sale_price:
        price, compare_at = sale_price, price
    else:
        compare_at = None
    return (
        FeedRow(
            line=line,
            retailer_id=retailer_id,
            name=name,
            price=price,
            compare_at_price=compare_at,
            description=description,
            in_stock=in_stock,
        ),
        [],
    )


def parse_feed(
    data: bytes, *, currency: str, on_progress: Callable[[int], None] | None = None
) -> ParsedFeed:
    """Read and check a whole feed file; never raises for bad input.

    The result has either rows and no errors, or errors (and possibly rows, which the
    import must not use: the rule is all or nothing). ``on_progress(n)`` is called
    every 500 products with the number read so far.
    """
    too_large = size_error(len(data))
    if too_large:
        return ParsedFeed(errors=[too_large])
    if not data.strip():
        return _file_error(_("The file is empty."))
    decoded = _decode(data)
    if isinstance(decoded, FeedError):
        return ParsedFeed(errors=[decoded])
    text, encoding = decoded
    delimiter, sep_line = _sniff_delimiter(text)
    result = ParsedFeed(encoding=encoding, delimiter=delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        if sep_line:
            next(reader)
        columns = [_normalize_column(c) for c in next(reader)]
        header_error = _check_header(columns)
        if header_error:
            result.errors.append(FeedError(reader.line_num, "", header_error))
            return result
        result.ignored_columns = [c for c in columns if c and c not in COLUMNS]
        _read_rows(reader, columns, currency, result, on_progress)
    except StopIteration:
        return _file_error(_("The file is empty."))
    except csv.Error as exc:
        result.errors.append(
            FeedError(
                reader.line_num or 1,
                "",
                _(
                    "The file cannot be read from here on (%(why)s). Check that every quote "
                    '(") is closed and that quotes inside a cell are doubled ("").'
                )
                % {"why": exc},
            )
        )
    if not result.rows and not result.errors:
        result.errors.append(FeedError(None, "", _("The file has column names but no products.")))
    return result


def _read_rows(reader, columns: list[str], currency: str, result: ParsedFeed, on_progress) -> None:
    seen: dict[str, int] = {}  # id → the line it first appeared on
    # csv counts physical lines; a quoted cell may span several, so a record starts
    # one line after the previous record ended.
    next_start = reader.line_num + 1
    count = 0
    for cells in reader:
        line, next_start = next_start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            result.errors.append(
                FeedError(
                    line,
                    "",
                    _("A file can hold at most %(n)s products. Split it into smaller files.")
                    % {"n": f"{MAX_ROWS:,}"},
                )
            )
            return
        if on_progress and count % 500 == 0:
            on_progress(count)
        if len(cells) > len(columns):
            result.errors.append(
                FeedError(
                    line,
                    "",
                    _(
                        "This line has %(got)s cells but the header has %(want)s: a cell "
                        "probably contains a “%(sep)s” without quotes around it."
                    )
                    % {"got": len(cells), "want": len(columns), "sep": _sep_name(result)},
                )
            )
            continue
        # Some tools drop empty cells at the end of a line: they read as empty.
        cells = cells + [""] * (len(columns) - len(cells))
        values = {
            column: _unescape(value).strip()
            for column, value in zip(columns, cells, strict=True)
            if column in COLUMNS
        }
        row, errors = _parse_row(values, line, currency)
        result.errors.extend(errors)
        if row:
            first = seen.setdefault(row.retailer_id, line)
            if first == line:
                result.rows.append(row)
            else:
                result.errors.append(
                    FeedError(
                        line,
                        "id",
                        _("The id “%(id)s” is already used on line %(line)s.")
                        % {"id": row.retailer_id, "line": first},
                    )
                )
        if len(result.errors) >= MAX_ERRORS:
            result.errors.append(
                FeedError(
                    None,
                    "",
                    _("Stopped after %(n)s problems; the rest of the file was not checked.")
                    % {"n": MAX_ERRORS},
                )
            )
            return


def _sep_name(result: ParsedFeed) -> str:
    return {"\t": "tab"}.get(result.delimiter, result.delimiter)


def _check_header(columns: list[str]) -> str | None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return _(
            "The first line must name the columns, with at least %(required)s; "
            "missing: %(missing)s. Found: %(found)s."
        ) % {
            "required": ", ".join(REQUIRED_COLUMNS),
            "missing": ", ".join(missing),
            "found": ", ".join(c for c in columns if c)[:200] or "—",
        }
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        return _("These columns appear more than once: %(columns)s.") % {
            "columns": ", ".join(repeated)
        }
    return None
