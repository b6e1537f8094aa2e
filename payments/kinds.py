"""The chat message kinds payments adds: ``payment_request`` (an order's card),
``payment_receipt`` (the receipt once it is paid), ``refund`` (money given back),
``p2p_payment`` (money sent to a friend), ``money_request`` (a friend asks), ``cart``,
and the outbox's ``shipping_update`` (shipped / delivered) and ``payment_reminder``.

Registered from ``PaymentsConfig.ready``; chats renders them by name without
importing payments (docs/payments.md, "Orders").
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Business
from catalog.models import Product
from chats import kinds
from core.fragments import row_key
from core.money import format_money
from payments.models import MoneyRequest, Order, Payment, Refund
from payments.pix.direct import attach_direct_pix


def _attach(messages, *, key: str, attr: str, queryset, conversation_of) -> None:
    """Set ``message.<attr>`` to the row of ``queryset`` whose id the message's payload
    holds under ``key`` (one query for all the messages), or None when there is no such
    row or it belongs to another conversation (``conversation_of(row)``): a forged
    payload never shows someone else's order or payment.

    A message that already carries the row its payload names (a service that has
    just read that row under its lock and re-renders the card, see
    ``orders._refresh_card``) keeps it, checked the same way, and costs no query."""
    given = {}
    for message in messages:
        row = message.__dict__.get(attr)
        if row is not None and row.pk == message.payload.get(key):
            given[id(message)] = row
    wanted = [
        pk for pk in {m.payload.get(key) for m in messages if id(m) not in given} if type(pk) is int
    ]
    rows = queryset.in_bulk(wanted) if wanted else {}
    for message in messages:
        row = given.get(id(message)) or rows.get(message.payload.get(key))
        if row is not None and conversation_of(row) != message.conversation_id:
            row = None
        setattr(message, attr, row)


def _with_amount(text: str, amount, currency) -> str:
    """A chat-list preview, with `` — R$12.00`` when the payload's amount is sound."""
    if type(amount) is int and isinstance(currency, str) and currency:
        return f"{text} — {format_money(amount, currency)}"
    return text


def _prefetch_orders(messages) -> None:
    """Attach ``message.order`` (with its items and business): two queries for any
    number of messages; plus, for pending orders of businesses in direct Pix mode,
    their static BR Code (``order.direct_pix``: one query for the Pix keys)."""
    _attach(
        messages, key="order_id", attr="order",
        queryset=Order.objects.select_related("business").prefetch_related("items"),
        conversation_of=lambda order: order.conversation_id,
    )  # fmt: skip
    attach_direct_pix(message.order for message in messages)


def _order_card_key(message) -> tuple | None:
    """What an order's card (a payment request, a reminder) reads besides its
    message: the order's row (its status among it), its items, its shop's slug and
    Pix mode, and the direct Pix it offers (``MessageKind.render_key``). None (drawn,
    not kept) for an order a service passed without its shop and items loaded, as
    reading them here would cost queries the drawing may not need."""
    order = message.order
    if order is None:
        return (None,)
    if not Order.business.is_cached(order) or "items" not in getattr(
        order, "_prefetched_objects_cache", {}
    ):
        return None
    return (
        row_key(order),
        tuple((item.pk, item.quantity, item.name, item.line_total) for item in order.items.all()),
        order.business.slug,
        order.business.pix_mode,
        repr(order.direct_pix),
    )


def _prefetch_direct_receipts(messages) -> None:
    """Attach ``message.order`` of a direct Pix receipt: one query."""
    _attach(
        messages, key="order_id", attr="order", queryset=Order.objects.all(),
        conversation_of=lambda order: order.conversation_id,
    )  # fmt: skip


def _preview_direct_receipt(message) -> str:
    payload = message.payload
    text = _("✅ Pix received for order #%(number)s") % {"number": payload.get("number", "")}
    return _with_amount(text, payload.get("amount"), payload.get("currency"))


def _preview_payment_request(message) -> str:
    payload = message.payload
    text = _("💳 Payment request #%(number)s") % {"number": payload.get("number", "")}
    return _with_amount(text, payload.get("total"), payload.get("currency"))


def _prefetch_receipts(messages) -> None:
    """Attach ``message.payment`` (with its order and card): one query."""
    _attach(
        messages, key="payment_id", attr="payment",
        queryset=Payment.objects.select_related("order", "card"),
        conversation_of=lambda payment: payment.order and payment.order.conversation_id,
    )  # fmt: skip


def _preview_receipt(message) -> str:
    payload = message.payload
    text = _("✅ Payment received for order #%(number)s") % {"number": payload.get("number", "")}
    return _with_amount(text, payload.get("amount"), payload.get("currency"))


def _prefetch_carts(messages) -> None:
    """Attach ``message.lines`` (live products, quantities, totals) and
    ``message.business_slug``: two queries for any number of carts."""
    wanted = {
        item.get("product_id")
        for m in messages
        for item in m.payload.get("items", [])
        if isinstance(item, dict)
    }
    products = {
        p.pk: p for p in Product.objects.filter(pk__in={pk for pk in wanted if type(pk) is int})
    }
    slugs = dict(
        Business.objects.filter(
            pk__in={m.payload.get("business_id") for m in messages}
        ).values_list("pk", "slug")
    )
    for message in messages:
        business_id = message.payload.get("business_id")
        message.business_slug = slugs.get(business_id, "")
        message.lines, message.cart_total = [], 0
        for item in message.payload.get("items", []):
            product = products.get(item.get("product_id")) if isinstance(item, dict) else None
            quantity = item.get("quantity") if isinstance(item, dict) else None
            if product is None or product.business_id != business_id or type(quantity) is not int:
                continue
            line_total = product.price * quantity
            message.lines.append({"product": product, "quantity": quantity, "total": line_total})
            message.cart_total += line_total
        message.cart_currency = message.lines[0]["product"].currency if message.lines else ""


def _preview_cart(message) -> str:
    count = sum(
        item.get("quantity", 0)
        for item in message.payload.get("items", [])
        if isinstance(item, dict) and type(item.get("quantity")) is int
    )
    return ngettext("🛒 Cart with %(count)d item", "🛒 Cart with %(count)d items", count) % {
        "count": count
    }


def _prefetch_refunds(messages) -> None:
    """Attach ``message.refund`` (with its order): one query."""
    _attach(
        messages, key="refund_id", attr="refund",
        queryset=Refund.objects.select_related("order"),
        conversation_of=lambda refund: refund.order.conversation_id,
    )  # fmt: skip


def _preview_refund(message) -> str:
    payload = message.payload
    text = _("↩️ Refund for order #%(number)s") % {"number": payload.get("number", "")}
    return _with_amount(text, payload.get("amount"), payload.get("currency"))


def _prefetch_p2p(messages) -> None:
    """Attach ``message.payment`` (with payer and payee): one query."""
    _attach(
        messages, key="payment_id", attr="payment",
        queryset=Payment.objects.filter(payee__isnull=False).select_related("payer", "payee"),
        conversation_of=lambda payment: payment.conversation_id,
    )  # fmt: skip


def _preview_p2p(message) -> str:
    amount, currency = message.payload.get("amount"), message.payload.get("currency")
    if type(amount) is int and isinstance(currency, str) and currency:
        return _("💸 Sent %(amount)s") % {"amount": format_money(amount, currency)}
    return _("💸 Money sent")


def _prefetch_money_requests(messages) -> None:
    """Attach ``message.money_request`` (with requester and payer): one query."""
    _attach(
        messages, key="money_request_id", attr="money_request",
        queryset=MoneyRequest.objects.select_related("requester", "payer"),
        conversation_of=lambda request: request.conversation_id,
    )  # fmt: skip


def _preview_money_request(message) -> str:
    amount, currency = message.payload.get("amount"), message.payload.get("currency")
    if type(amount) is int and isinstance(currency, str) and currency:
        return _("🙏 Asked for %(amount)s") % {"amount": format_money(amount, currency)}
    return _("🙏 Money request")


def _prefetch_shipping(messages) -> None:
    """A shipping card is a snapshot (a shipment never changes): only its link is
    checked again, so that nothing but an http(s) address is ever rendered as one."""
    for message in messages:
        url = message.payload.get("tracking_url")
        ok = isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 500
        message.tracking_link = url if ok else ""
        items = message.payload.get("items")
        message.shipped_items = [
            item
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and type(item.get("quantity")) is int
        ]


def _preview_shipping(message) -> str:
    payload = message.payload
    number = payload.get("number", "")
    if payload.get("event") == "delivered":
        return _("📬 Order #%(number)s was delivered") % {"number": number}
    return _("📦 Order #%(number)s shipped: %(carrier)s %(code)s") % {
        "number": number,
        "carrier": payload.get("carrier", ""),
        "code": payload.get("tracking_code", ""),
    }


def _preview_reminder(message) -> str:
    return _("⏰ Reminder: payment request #%(number)s is waiting") % {
        "number": message.payload.get("number", "")
    }


def register() -> None:
    kinds.register(
        kinds.MessageKind(
            "refund", "payments/messages/refund.html", _preview_refund, _prefetch_refunds
        )
    )
    kinds.register(
        kinds.MessageKind(
            "p2p_payment", "payments/messages/p2p_payment.html", _preview_p2p, _prefetch_p2p
        )
    )
    kinds.register(
        kinds.MessageKind(
            "money_request",
            "payments/messages/money_request.html",
            _preview_money_request,
            _prefetch_money_requests,
        )
    )
    kinds.register(
        kinds.MessageKind(
            "payment_request",
            "payments/messages/payment_request.html",
            _preview_payment_request,
            _prefetch_orders,
            render_key=_order_card_key,
        )
    )
    kinds.register(
        kinds.MessageKind("cart", "payments/messages/cart.html", _preview_cart, _prefetch_carts)
    )
    kinds.register(
        kinds.MessageKind(
            "payment_receipt",
            "payments/messages/payment_receipt.html",
            _preview_receipt,
            _prefetch_receipts,
        )
    )
    kinds.register(
        kinds.MessageKind(
            "pix_direct_receipt",
            "payments/messages/pix_direct_receipt.html",
            _preview_direct_receipt,
            _prefetch_direct_receipts,
        )
    )
    kinds.register(
        kinds.MessageKind(
            "shipping_update",
            "payments/messages/shipping_update.html",
            _preview_shipping,
            _prefetch_shipping,
        )
    )
    kinds.register(
        kinds.MessageKind(
            "payment_reminder",
            "payments/messages/payment_reminder.html",
            _preview_reminder,
            _prefetch_orders,
            render_key=_order_card_key,
        )
    )
