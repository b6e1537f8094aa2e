"""HTML views of the payments app, one module per area; ``payments/urls.py`` joins
their ``urlpatterns``: ``wallet`` (cards, the sandbox's 3-D Secure page),
``security`` (PIN and fingerprints), ``orders`` (payment requests, the merchant's
orders, the customer's review page), ``order_page`` (the merchant's order page that
``orders`` and ``shipping`` both render), ``paying``, ``cart``, ``balance`` (Balance &
payouts), ``payouts`` (destinations, the wallet's balance and withdrawals), ``p2p``
and ``shipping``."""
