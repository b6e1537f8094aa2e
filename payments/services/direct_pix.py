"""Direct Pix (docs/pix.md, "Direct Pix"): the customer pays the business's own Pix
key with the static BR Code on the order's card; the money never touches the
platform, so nothing is posted to the ledger and no fee is taken. The merchant sees
the Pix arrive in their bank and records it here ("Pix received"): the order becomes
paid through the order's transition map, the stock is taken, and the chat gets a
receipt live, as after a card payment.

The order records it as an outside payment (``Order.paid_outside = "pix_direct"``),
not as a ``Payment`` row: a ``Payment`` is money the platform moved (its ledger
posting, its refunds through the gateway, the nightly reconciliation all assume
so). The reports count such an order's total as revenue with no fee
(``insights.services.rollups`` and ``insights.services.attribution`` read
``paid_outside``).
"""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, PixMode, User
from accounts.services import require_role
from catalog.services import take_stock
from chats.selectors import staff_membership
from chats.services.messages import post_message
from core.errors import AppError, forbidden
from payments.models import AuditEvent, Order, Payment
from payments.pix.direct import pix_key_of, txid_for, unavailable_reason
from payments.services import orders, paying

RECEIPT_KIND = "pix_direct_receipt"


def mark_pix_received(*, actor: User, order: Order) -> Order:
    """Record that the customer paid ``order`` by direct Pix: → processing, stock
    taken, a receipt in the chat (after the commit), no ledger posting, no fee.

    Who: the business's staff who can see the order's conversation (owners, admins,
    and agents on their conversations: whoever may cancel it); its customer gets
    ``forbidden`` (403), anyone else "not found". Refused (409) unless the business is
    in direct Pix mode with a Pix key, and the order is pending with no card payment
    under way or made. Atomic: locks the order, then (stock) the business and
    products, then (receipt) the conversation — the paying service's order. Not
    idempotent by itself: a second call is ``already_paid`` (the API adds
    ``Idempotency-Key``).
    """
    conversation = order.conversation
    if staff_membership(actor, conversation) is None:
        if order.customer_id == actor.pk:
            raise forbidden()
        raise orders.order_not_found()
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(no_key=True, of=("self",))
            .select_related("business", "conversation", "message__sender")
            .get(pk=order.pk)
        )
        if locked.paid_outside:
            raise AppError(
                _("This order is already marked as paid by Pix."),
                code="already_paid",
                status_code=409,
            )
        if locked.status != Order.Status.PENDING:
            raise AppError(
                _("Only an order awaiting payment can be marked as paid."),
                code="not_payable",
                status_code=409,
            )
        business = locked.business
        if reason := unavailable_reason(business, pix_key_of(business)):
            raise AppError(reason, code="direct_pix_off", status_code=409)
        if locked.payments.filter(status__in=Payment.LIVE).exists():
            raise AppError(
                _("A card payment of this order is under way or done."),
                code="already_paying",
                status_code=409,
            )
        take_stock(business_id=business.pk, quantities=paying.quantities(locked))
        txid = txid_for(locked)
        locked.paid_outside = Order.OutsideMethod.PIX_DIRECT
        orders.transition_order(
            order=locked,
            to=Order.Status.PROCESSING,
            actor=actor,
            data={"method": Order.OutsideMethod.PIX_DIRECT, "txid": txid},
            order_locked=True,
            audit=[
                AuditEvent(
                    order=locked,
                    actor=actor,
                    action="pix_direct_received",
                    from_status=Order.Status.PENDING,
                    to_status=Order.Status.PROCESSING,
                    data={"amount": locked.total, "currency": locked.currency, "txid": txid},
                )
            ],
        )
        # After the transition, which stamps paid_at (order_paid_outside_is_paid).
        Order.objects.filter(pk=locked.pk).update(paid_outside=locked.paid_outside)
        _post_receipt(locked, actor)
    order.status, order.paid_at, order.paid_outside = (
        locked.status,
        locked.paid_at,
        locked.paid_outside,
    )
    return locked


def _post_receipt(order: Order, actor: User) -> None:
    """The receipt card in both sides' chat, live (kind ``pix_direct_receipt``)."""
    post_message(
        conversation=order.conversation,
        sender=paying.business_side(order),
        author=actor,
        kind=RECEIPT_KIND,
        payload={
            "order_id": order.pk,
            "number": order.number,
            "amount": order.total,
            "currency": order.currency,
            "method": Order.OutsideMethod.PIX_DIRECT,
        },
        attached={"order": order},
    )


def set_pix_mode(*, actor: User, business: Business, mode: str) -> Business:
    """Choose how the business's customers pay by Pix: ``collected`` (through the
    platform's provider) or ``direct`` (to the business's own Pix key). Owners only
    (``forbidden`` for other members). Direct mode without a Pix key is allowed (the
    settings page says why customers are not offered it yet)."""
    require_role(actor, business, Membership.Role.OWNER)
    if mode not in PixMode.values:
        raise AppError(_("Choose how customers pay by Pix."), code="invalid", field="pix_mode")
    Business.objects.filter(pk=business.pk).update(pix_mode=mode)
    business.pix_mode = mode
    return business
