"""Forms of the payments app: they parse what a person typed; the services decide.
One module per area (the areas of ``payments/services/`` and ``payments/views/``):
``cards`` (cards, PIN, fingerprints), ``orders``, ``paying``, ``refunds``, ``p2p``,
``destinations``, ``payouts`` and ``shipping``; ``common`` holds the amount mixin.
Import from the area module: ``from payments.forms.orders import PaymentRequestForm``."""
