"""REST endpoints of the payments app, one module per area (the areas of
``payments/services/``): ``cards`` (the wallet: cards, PIN status, fingerprints),
``orders`` (payment requests), ``paying``, ``refunds``, ``shipping`` (shipped and
delivered), ``p2p``, ``destinations`` and
``payouts`` (balances, payouts, statements, withdrawals); ``common`` holds what they
share. ``payments/api_urls.py`` routes them. Import the module you need:
``from payments.api import refunds``.

Thin: parse, authorize through the selectors, call one service, serialize.

Scoped like the pages: a business is loaded with
:func:`accounts.selectors.get_business_for` at the role the operation needs, an order
with :func:`payments.selectors.get_order_for` and a card with
:func:`payments.selectors.get_card_for` — 404 alike for missing and forbidden. A
customer who sees an order but tries a staff operation (cancel) gets 403, and so
does staff trying the customer's (pay).

Operations that move money, create a payment request or ship an order need an
``Idempotency-Key`` header (:mod:`payments.idempotency`).
"""
