"""Direct Pix reads (docs/pix.md, "Direct Pix"): which Pix key of a business its
customers pay, and the static BR Code a pending order's card shows. Writes are in
``payments.services.direct_pix``.

A business in ``pix_mode = direct`` is paid straight to one of its own payout
destinations of kind Pix key — its default destination when that is a Pix key, else
its newest Pix key. The code carries the order's amount and a txid derived from the
order (``PEDIDO<number>``), so the merchant finds the payment in their bank statement.
No provider ever reports such a payment: the merchant records it ("Pix received").
"""

from dataclasses import dataclass

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accounts.models import Business, PixMode
from payments.models import Order, PayoutDestination
from payments.pix import brcode

NAME_FALLBACK = "LOJA"
CITY_FALLBACK = "BRASIL"


@dataclass(frozen=True)
class DirectPix:
    """What a pending order's card shows for direct Pix."""

    code: str  # the static BR Code ("Pix Copia e Cola")
    payee: str  # the name and city the payer's bank shows, as in the code
    city: str
    key_masked: str  # the key as people may see it (never in full on a page)
    txid: str
    amount: int
    currency: str

    def qr_svg(self) -> SafeString:
        return brcode.qr_svg(self.code)


def txid_for(order: Order) -> str:
    """The static code's txid (``[A-Za-z0-9]{1,25}``): stable per order, readable in
    the merchant's bank statement."""
    return f"PEDIDO{order.number}"


def pix_key_of(business: Business) -> PayoutDestination | None:
    """The Pix key customers of ``business`` pay in direct mode, or None (one query)."""
    return (
        PayoutDestination.objects.filter(
            business=business, kind=PayoutDestination.Kind.PIX, removed_at__isnull=True
        )
        .order_by("-is_default", "-created_at", "-pk")
        .first()
    )


def unavailable_reason(business: Business, key: PayoutDestination | None) -> str:
    """Why direct Pix is not offered to this business's customers ("" when it is)."""
    if business.pix_mode != PixMode.DIRECT:
        return _("Customers pay by Pix through the platform (collected Pix).")
    if key is None:
        return _(
            "Add a Pix key as a payout destination: until then customers are not offered "
            "direct Pix."
        )
    if business.currency != "BRL":
        return _("Pix is paid in Brazilian reais only; this business sells in another currency.")
    return ""


def direct_pix(
    order: Order, *, business: Business, key: PayoutDestination | None
) -> DirectPix | None:
    """The card's direct Pix for ``order`` (pending, of a business in direct mode with a
    Pix key), or None."""
    if order.status != Order.Status.PENDING or unavailable_reason(business, key) or key is None:
        return None
    name = brcode.clean_text(business.name, brcode.NAME_MAX) or NAME_FALLBACK
    city = brcode.clean_text(business.city, brcode.CITY_MAX) or CITY_FALLBACK
    txid = txid_for(order)
    code = brcode.build_static(key=key.pix_key, amount=order.total, name=name, city=city, txid=txid)
    return DirectPix(
        code=code,
        payee=name,
        city=city,
        key_masked=key.masked(),
        txid=txid,
        amount=order.total,
        currency=order.currency,
    )


def attach_direct_pix(orders) -> None:
    """Set ``order.direct_pix`` (a :class:`DirectPix` or None) on each order, for the
    chat's cards. No query unless an order is pending at a business in direct mode
    (then one for their Pix keys); an order whose business is not loaded with it
    costs one query for all such businesses."""
    orders = [o for o in orders if o is not None]
    for order in orders:
        order.direct_pix = None
    pending = [o for o in orders if o.status == Order.Status.PENDING]
    if not pending:
        return
    businesses = {o.business_id: o.business for o in pending if Order.business.is_cached(o)}
    missing = {o.business_id for o in pending} - set(businesses)
    if missing:
        businesses.update(Business.objects.in_bulk(missing))
    direct = {pk for pk, b in businesses.items() if b.pix_mode == PixMode.DIRECT}
    if not direct:
        return
    keys: dict[int, PayoutDestination] = {}
    for key in PayoutDestination.objects.filter(
        business_id__in=direct, kind=PayoutDestination.Kind.PIX, removed_at__isnull=True
    ).order_by("-is_default", "-created_at", "-pk"):
        keys.setdefault(key.business_id, key)
    for order in pending:
        if order.business_id in direct:
            order.direct_pix = direct_pix(
                order, business=businesses[order.business_id], key=keys.get(order.business_id)
            )
