"""BR Codes: the EMV MPM payload of a Pix QR code, also pasted as "Pix Copia e Cola"
(Bacen, "Manual de Padrões para Iniciação do Pix"). See docs/pix.md, "BR Code".

Each field is ``ID`` (2 digits) ``length`` (2 digits) ``value``; field 26 (the Pix
merchant account) and 62 (additional data) hold sub-fields of the same shape; field
63 closes the code with a CRC16-CCITT-FALSE over everything before its value,
"6304" included. No dependency: a few dozen lines, pure functions.
"""

import re
import unicodedata
from dataclasses import dataclass

import segno
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from core.errors import AppError

GUI = "br.gov.bcb.pix"
MAX_LENGTH = 512  # the EMV QR payload limit; anything longer is not a BR Code
NAME_MAX = 25
CITY_MAX = 15
STATIC_TXID_PATTERN = re.compile(r"^(\*\*\*|[A-Za-z0-9]{1,25})$")
_FIELD_ID = re.compile(r"^\d{2}$")


class BRCodeError(AppError):
    """Not a valid Pix BR Code (code ``brcode_invalid``)."""

    def __init__(self, message):
        super().__init__(message, code="brcode_invalid", field="code")


@dataclass(frozen=True)
class BRCode:
    key: str  # the payee's Pix key (static codes); "" for a dynamic one
    location: str  # the payload URL without scheme (dynamic codes); "" for a static one
    amount: int | None  # centavos; None when the payer types the amount
    name: str
    city: str
    txid: str  # "***" when the code carries none
    description: str = ""  # field 26/02, static codes only
    dynamic: bool = False  # field 01 = 12 (a code for one payment)


def crc16(data: str | bytes) -> str:
    """CRC16-CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR), as
    four upper-case hex digits: ``crc16("123456789") == "29B1"``."""
    crc = 0xFFFF
    for byte in data.encode() if isinstance(data, str) else data:
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def clean_text(text: str, limit: int) -> str:
    """Accents removed, only printable ASCII kept, spaces collapsed, cut at ``limit``
    characters (the payer's bank shows these fields; many reject anything else)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    printable = "".join(ch for ch in ascii_text if " " <= ch <= "~")
    return " ".join(printable.split())[:limit].rstrip()


def _field(field_id: str, value: str) -> str:
    if not 0 < len(value) <= 99:
        raise BRCodeError(
            _("The field %(id)s of a BR Code must hold 1 to 99 characters.") % {"id": field_id}
        )
    return f"{field_id}{len(value):02d}{value}"


def format_amount(amount: int) -> str:
    """Centavos as the ``"12.34"`` a BR Code (and the Bacen API) carries."""
    if amount <= 0:
        raise BRCodeError(_("A BR Code amount must be positive."))
    return f"{amount // 100}.{amount % 100:02d}"


def parse_amount(text: str) -> int:
    """``"12.34"`` (also ``"12"``, ``"12.3"``) as centavos, without floats."""
    match = re.fullmatch(r"([0-9]{1,10})(?:\.([0-9]{1,2}))?", text)
    if not match:
        raise BRCodeError(_("The amount of this Pix code is not a valid amount."))
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    value = int(whole) * 100 + int(cents)
    if value <= 0:
        raise BRCodeError(_("The amount of this Pix code must be positive."))
    return value


def _assemble(account: str, *, dynamic: bool, amount, name, city, txid) -> str:
    clean_name, clean_city = clean_text(name, NAME_MAX), clean_text(city, CITY_MAX)
    if not clean_name or not clean_city:
        raise BRCodeError(_("A BR Code needs the payee's name and city."))
    payload = (
        _field("00", "01")
        + (_field("01", "12") if dynamic else "")
        + _field("26", account)
        + _field("52", "0000")
        + _field("53", "986")
        + (_field("54", format_amount(amount)) if amount is not None else "")
        + _field("58", "BR")
        + _field("59", clean_name)
        + _field("60", clean_city)
        + _field("62", _field("05", txid))
        + "6304"
    )
    return payload + crc16(payload)


def build_static(
    *, key: str, amount: int | None, name: str, city: str, txid: str = "***", description: str = ""
) -> str:
    """A static BR Code paying ``key``: any number of payments; ``amount`` in centavos
    (None lets the payer type it); ``txid`` ``[A-Za-z0-9]{1,25}`` or ``"***"``. The
    payee's bank never reports a payment of it to us (direct Pix)."""
    if not STATIC_TXID_PATTERN.match(txid):
        raise BRCodeError(_("The txid of a static BR Code is 1 to 25 letters and digits."))
    if not key or len(key) > 77:
        raise BRCodeError(_("A Pix key is 1 to 77 characters."))
    account = _field("00", GUI) + _field("01", key)
    description = clean_text(description, max(0, 99 - len(account) - 4))
    if description:
        account += _field("02", description)
    return _assemble(account, dynamic=False, amount=amount, name=name, city=city, txid=txid)


def build_dynamic(*, location: str, name: str, city: str, amount: int | None = None) -> str:
    """A dynamic BR Code (field 01 = 12): the payer's bank fetches the charge at
    ``location`` (a URL; its scheme is dropped, as the standard wants)."""
    location = re.sub(r"^https?://", "", location)
    if not location or len(location) > 77:
        raise BRCodeError(_("A Pix location URL is 1 to 77 characters."))
    account = _field("00", GUI) + _field("25", location)
    return _assemble(account, dynamic=True, amount=amount, name=name, city=city, txid="***")


def _fields(text: str) -> dict[str, str]:
    """ID-length-value triples, strictly: no trailing bytes, no repeated ID."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not header.isdigit() or not header.isascii():
            raise BRCodeError(_("This Pix code is malformed (a field has no valid length)."))
        field_id, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if length == 0 or len(value) != length:
            raise BRCodeError(_("This Pix code is malformed (a field is cut short)."))
        if field_id in fields:
            raise BRCodeError(_("This Pix code is malformed (a field appears twice)."))
        fields[field_id] = value
        position += 4 + length
    return fields


def parse(code: str) -> BRCode:
    """Validate and read a BR Code. Raises :class:`BRCodeError` (``brcode_invalid``)
    on anything but a well-formed Pix code with a correct CRC."""
    if not isinstance(code, str):
        raise BRCodeError(_("This is not a Pix code."))
    code = code.strip()
    if len(code) > MAX_LENGTH:
        raise BRCodeError(_("This Pix code is too long."))
    if not code.isascii() or not code.isprintable():
        raise BRCodeError(_("This Pix code has characters a Pix code cannot hold."))
    if len(code) < 8 or code[-8:-4] != "6304":
        raise BRCodeError(_("This Pix code has no checksum at its end."))
    if crc16(code[:-4]) != code[-4:].upper():
        raise BRCodeError(_("This Pix code is damaged (its checksum does not match)."))
    fields = _fields(code)
    for required in ("00", "26", "52", "53", "58", "59", "60", "63"):
        if required not in fields:
            raise BRCodeError(_("This Pix code misses its field %(id)s.") % {"id": required})
    if fields["00"] != "01":
        raise BRCodeError(_("This Pix code has an unknown format version."))
    if fields["53"] != "986":
        raise BRCodeError(_("This Pix code is not in Brazilian reais."))
    account = _fields(fields["26"])
    if account.get("00", "").lower() != GUI:
        raise BRCodeError(_("This code is not a Pix code."))
    key, location = account.get("01", ""), account.get("25", "")
    if bool(key) == bool(location):
        raise BRCodeError(_("A Pix code holds either a Pix key or a location, not both or none."))
    if len(fields["59"]) > NAME_MAX or len(fields["60"]) > CITY_MAX:
        raise BRCodeError(_("The payee's name or city in this Pix code is too long."))
    extra = _fields(fields["62"]) if "62" in fields else {}
    return BRCode(
        key=key,
        location=location,
        amount=parse_amount(fields["54"]) if "54" in fields else None,
        name=fields["59"],
        city=fields["60"],
        txid=extra.get("05", "***"),
        description=account.get("02", ""),
        dynamic=fields.get("01") == "12",
    )


def qr_svg(code: str) -> SafeString:
    """``code`` as a QR code, an inline SVG sized by its viewBox (no script and no style
    attribute: the pages' Content-Security-Policy allows neither)."""
    svg = segno.make(code, error="m", micro=False).svg_inline(
        scale=5, border=2, omitsize=True, title=str(_("Pix QR code"))
    )
    return mark_safe(svg)  # noqa: S308 (segno's own markup; it escapes the title)
