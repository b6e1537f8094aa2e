"""The chat message kinds payments adds: ``payment_request`` (an order's card),
``payment_receipt`` (the receipt once it is paid), ``refund`` (money given back),
``p2p_payment`` (money sent to a friend), ``money_request`` (a friend asks), ``cart``,
and the outbox's ``shipping_update`` (shipped / delivered) and ``payment_reminder``.

Registered from ``PaymentsConfig.ready``; chats renders them by name without
importing payments (docs/payments.md, "Orders").
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chats import kinds
from core.money import format_money


def _prefetch_orders(messages) -> None:
    """Attach ``message.order`` (with its items) to each message: two queries for any
    number of messages. An order from another conversation never shows."""
    from payments.models import Order

    wanted = {m.payload.get("order_id") for m in messages}
    wanted = {pk for pk in wanted if type(pk) is int}
    orders = {
        order.pk: order for order in Order.objects.filter(pk__in=wanted).prefetch_related("items")
    }
    for message in messages:
        order = orders.get(message.payload.get("order_id"))
        if order is not None and order.conversation_id != message.conversation_id:
            order = None
        message.order = order


def _preview_payment_request(message) -> str:
    payload = message.payload
    total, currency = payload.get("total"), payload.get("currency")
    text = _("💳 Payment request #%(number)s") % {"number": payload.get("number", "")}
    if type(total) is int and isinstance(currency, str) and currency:
        text += f" — {format_money(total, currency)}"
    return text


def _prefetch_receipts(messages) -> None:
    """Attach ``message.payment`` (with its order and card): one query."""
    from payments.models import Payment

    wanted = {m.payload.get("payment_id") for m in messages}
    wanted = {pk for pk in wanted if type(pk) is int}
    payments = {
        p.pk: p for p in Payment.objects.filter(pk__in=wanted).select_related("order", "card")
    }
    for message in messages:
        payment = payments.get(message.payload.get("payment_id"))
        if payment is not None and (
            payment.order is None or payment.order.conversation_id != message.conversation_id
        ):
            payment = None
        message.payment = payment


def _preview_receipt(message) -> str:
    payload = message.payload
    total, currency = payload.get("amount"), payload.get("currency")
    text = _("✅ Payment received for order #%(number)s") % {"number": payload.get("number", "")}
    if type(total) is int and isinstance(currency, str) and currency:
        text += f" — {format_money(total, currency)}"
    return text


def _prefetch_carts(messages) -> None:
    """Attach ``message.lines`` (live products, quantities, totals) and
    ``message.business_slug``: two queries for any number of carts."""
    from accounts.models import Business
    from catalog.models import Product

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
    from payments.models import Refund

    wanted = {m.payload.get("refund_id") for m in messages}
    wanted = {pk for pk in wanted if type(pk) is int}
    refunds = {r.pk: r for r in Refund.objects.filter(pk__in=wanted).select_related("order")}
    for message in messages:
        refund = refunds.get(message.payload.get("refund_id"))
        if refund is not None and refund.order.conversation_id != message.conversation_id:
            refund = None
        message.refund = refund


def _preview_refund(message) -> str:
    payload = message.payload
    amount, currency = payload.get("amount"), payload.get("currency")
    text = _("↩️ Refund for order #%(number)s") % {"number": payload.get("number", "")}
    if type(amount) is int and isinstance(currency, str) and currency:
        text += f" — {format_money(amount, currency)}"
    return text


def _prefetch_p2p(messages) -> None:
    """Attach ``message.payment`` (with payer and payee): one query."""
    from payments.models import Payment

    wanted = {m.payload.get("payment_id") for m in messages}
    wanted = {pk for pk in wanted if type(pk) is int}
    payments = {
        p.pk: p
        for p in Payment.objects.filter(pk__in=wanted, payee__isnull=False).select_related(
            "payer", "payee"
        )
    }
    for message in messages:
        payment = payments.get(message.payload.get("payment_id"))
        if payment is not None and payment.conversation_id != message.conversation_id:
            payment = None
        message.payment = payment


def _preview_p2p(message) -> str:
    amount, currency = message.payload.get("amount"), message.payload.get("currency")
    if type(amount) is int and isinstance(currency, str) and currency:
        return _("💸 Sent %(amount)s") % {"amount": format_money(amount, currency)}
    return _("💸 Money sent")


def _prefetch_money_requests(messages) -> None:
    """Attach ``message.money_request`` (with requester and payer): one query."""
    from payments.models import MoneyRequest

    wanted = {m.payload.get("money_request_id") for m in messages}
    wanted = {pk for pk in wanted if type(pk) is int}
    found = {
        r.pk: r
        for r in MoneyRequest.objects.filter(pk__in=wanted).select_related("requester", "payer")
    }
    for message in messages:
        request = found.get(message.payload.get("money_request_id"))
        if request is not None and request.conversation_id != message.conversation_id:
            request = None
        message.money_request = request


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
        )
    )
