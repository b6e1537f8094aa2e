"""Small input and output serializers for the payments API, one per shape, one module
per area (the areas of ``payments/api/``): ``cards``, ``orders``, ``paying``,
``refunds``, ``shipping``, ``p2p``, ``destinations``, ``payouts``; ``common`` holds the
shared fields. Import from the area module: ``from payments.serializers.orders import
OrderSerializer``.

Input serializers only parse and bound what a client sends; the rules (card checks,
PIN policy, order totals, who may pay) live in :mod:`payments.services`. Two
API-wide rules are enforced here:

- **Money** is an integer number of minor units
  (:class:`~payments.serializers.common.MoneyField`): a float, a bool, a string (even
  ``"100"``), a negative number or anything above ``core.money.MAX_MINOR`` is refused.
- **No card numbers in free text** (:class:`~payments.serializers.common.FreeTextField`):
  a holder name, a note or an item name containing a run of 13–19 digits that passes
  the Luhn check is refused, so a pasted card number is never stored.

Output serializers never carry a card number or CVC: a card is its brand, last four
digits, expiry and holder name.
"""
