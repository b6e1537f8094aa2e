"""Every write of the payments app, one module per area (as Zulip's ``actions``
package): ``cards`` (wallet cards through the gateway), ``pins`` (payment PIN),
``webauthn`` (fingerprints and payment challenges), ``orders`` (payment requests and
their one map of transitions), ``ledger`` (double-entry postings) and ``paying``
(confirm, charge once, post, tell the chat). Import the module you need:
``from payments.services import ledger``.
"""
