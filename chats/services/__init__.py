"""Every write of the chats app, one module per area (as ``payments.services``):

- ``access``: who may see a conversation and as which side (the checks the others
  make first);
- ``conversations``: starting conversations; blocking the other person, reporting;
- ``messages``: the batch writer (``append_messages``, the one place messages are
  created), ``post_message`` for other apps' kinds, and the sends (``send_many``,
  ``send_text``, ``send_image``, ``share_product`` …) with the automatic replies;
- ``receipts``: read and delivered marks;
- ``unread_email``: the unread-replies e-mail;
- ``inbox``: the merchant inbox's administration (status, assignee, labels, notes,
  blocking a contact);
- ``settings``: labels, quick replies, automatic replies, a user's chat preferences;
- ``consent``: a contact's consent to offers;
- ``outbox`` and ``outbox_bulk``: scheduled messages, one or many at a time
  (docs/outbox.md).

Import the module you need: ``from chats.services import messages`` or
``from chats.services.messages import post_message``. Services enqueue their tasks by
name (``core.events.enqueue_on_commit("chats.tasks.…")``): only ``chats.tasks``
imports services, never the other way round.
"""
