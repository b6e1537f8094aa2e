"""Hooks higher apps register into, so that chats can tell them that something
happened without importing them (the same pattern as :mod:`chats.kinds`).

Each hook is called inside the transaction of the event, with the conversation row
locked, so whatever a handler writes commits or rolls back with the event. A
handler that raises aborts the event: handlers check their input and do not fail on
what they do not care about.

- ``customer_text(conversation=, message=)``: a customer sent a text message in a
  business conversation (marketing: the STOP / SAIR / PARAR opt-out).
- ``consent_withdrawn(contact=)``: a contact withdrew their marketing consent
  (marketing: cancel the offers not sent yet).
"""

from collections.abc import Callable

_customer_text: list[Callable[..., None]] = []
_consent_withdrawn: list[Callable[..., None]] = []


def on_customer_text(handler: Callable[..., None]) -> None:
    if handler not in _customer_text:
        _customer_text.append(handler)


def on_consent_withdrawn(handler: Callable[..., None]) -> None:
    if handler not in _consent_withdrawn:
        _consent_withdrawn.append(handler)


def customer_text(*, conversation, message) -> None:
    for handler in _customer_text:
        handler(conversation=conversation, message=message)


def consent_withdrawn(*, contact) -> None:
    for handler in _consent_withdrawn:
        handler(contact=contact)
