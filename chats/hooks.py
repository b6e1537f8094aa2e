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
- ``conversation_started(conversation=, contact=, touch=, client=)``: a customer's
  conversation with a business was just created (``start_conversation``), with
  the link's values it was started from (``touch``: ref, utm_*, click ids, as
  given: the handler cleans them) and, when it came from a web page,
  ``client={"ip", "user_agent"}`` of that request (never stored as such; insights
  hashes it into the day's visitor). insights: the conversation touch.
- ``chat_link_opened(request=, business_id=)``: a click-to-chat link (``/c/<slug>``)
  was opened (GET), once per visit (not again when the visitor comes back from
  signing in). Outside any transaction; handlers must be quick and not fail.
  insights: the click touch, when the link carries tracking parameters.
- ``scheduled_sent(rows=, conversations=, sent_at=)``: outbox rows are being
  delivered as chat messages at ``sent_at`` (``chats.services.outbox``, in the
  delivery's transaction; the rows as claimed, not yet marked sent), with their
  conversations (locked) by id. insights: the offer-delivered touches.
- ``conversation_changed(conversation=)``: a business conversation's status,
  assignee or contact's labels changed (``chats.services.inbox``, in the change's
  transaction). insights: the conversation's report rows are refreshed.
"""

from collections.abc import Callable

_customer_text: list[Callable[..., None]] = []
_consent_withdrawn: list[Callable[..., None]] = []
_conversation_started: list[Callable[..., None]] = []
_scheduled_sent: list[Callable[..., None]] = []
_chat_link_opened: list[Callable[..., None]] = []
_conversation_changed: list[Callable[..., None]] = []


def on_customer_text(handler: Callable[..., None]) -> None:
    if handler not in _customer_text:
        _customer_text.append(handler)


def on_consent_withdrawn(handler: Callable[..., None]) -> None:
    if handler not in _consent_withdrawn:
        _consent_withdrawn.append(handler)


def on_conversation_started(handler: Callable[..., None]) -> None:
    if handler not in _conversation_started:
        _conversation_started.append(handler)


def on_scheduled_sent(handler: Callable[..., None]) -> None:
    if handler not in _scheduled_sent:
        _scheduled_sent.append(handler)


def on_chat_link_opened(handler: Callable[..., None]) -> None:
    if handler not in _chat_link_opened:
        _chat_link_opened.append(handler)


def on_conversation_changed(handler: Callable[..., None]) -> None:
    if handler not in _conversation_changed:
        _conversation_changed.append(handler)


def conversation_changed(*, conversation) -> None:
    for handler in _conversation_changed:
        handler(conversation=conversation)


def customer_text(*, conversation, message) -> None:
    for handler in _customer_text:
        handler(conversation=conversation, message=message)


def consent_withdrawn(*, contact) -> None:
    for handler in _consent_withdrawn:
        handler(contact=contact)


def conversation_started(*, conversation, contact, touch: dict, client: dict | None) -> None:
    for handler in _conversation_started:
        handler(conversation=conversation, contact=contact, touch=touch, client=client)


def scheduled_sent(*, rows: list, conversations: dict, sent_at) -> None:
    for handler in _scheduled_sent:
        handler(rows=rows, conversations=conversations, sent_at=sent_at)


def chat_link_opened(*, request, business_id: int) -> None:
    for handler in _chat_link_opened:
        handler(request=request, business_id=business_id)
