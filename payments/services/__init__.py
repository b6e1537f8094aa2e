"""Every write of the payments app, one module per area (as Zulip's ``actions`` package):
``cards`` (wallet cards through the gateway), ``pins`` (payment PIN, and the account
password an owner's payout asks for), ``webauthn`` (fingerprints and payment
challenges), ``orders`` (payment requests and their one map of transitions), ``paying``
(confirm, charge once, post, tell the chat), ``refunds``, ``p2p`` (person-to-person
payments and money requests), ``ledger`` (double-entry postings), ``destinations``
(payout bank accounts and Pix keys), ``payouts`` (the payout job, payouts on request,
withdrawals), ``reconciliation`` (the nightly checks), ``recovery`` (payments and
payouts a dead process left half done) and ``shipping``. Import the module you need:
``from payments.services import ledger``.

A service enqueues the app's Celery tasks by name after commit
(``core.events.enqueue_on_commit("payments.tasks.…", …)``): no module here imports
``payments.tasks``, which imports them.
"""
