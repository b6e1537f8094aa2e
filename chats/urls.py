from django.urls import path, re_path

from chats.views import consent, inbox, threads
from chats.views import settings as settings_views

urlpatterns = [
    # Customers and direct chats.
    path("c/<slug:slug>", threads.click_to_chat, name="click_to_chat"),
    path("chats/", threads.my_chats, name="my_chats"),
    path("chats/new/", threads.direct_start, name="direct_start"),
    path("chats/settings/", threads.chat_settings, name="chat_settings"),
    path("chats/<int:conversation_id>/", threads.thread, name="chat_thread"),
    path("chats/<int:conversation_id>/send/", threads.send, name="chat_send"),
    path("chats/<int:conversation_id>/messages/", threads.messages_partial, name="chat_messages"),
    path("chats/<int:conversation_id>/read/", threads.mark_read, name="chat_read"),
    path("chats/<int:conversation_id>/report/", threads.report, name="chat_report"),
    path("chats/<int:conversation_id>/block/", threads.block, name="chat_block"),
    path("chats/<int:conversation_id>/offers/", consent.offers_consent, name="chat_offers"),
    # The merchant inbox.
    path("dashboard/<slug:slug>/inbox/", inbox.inbox, name="inbox"),
    path("dashboard/<slug:slug>/inbox/<int:conversation_id>/", inbox.inbox, name="inbox_thread"),
    path(
        "dashboard/<slug:slug>/inbox/<int:conversation_id>/row/",
        inbox.inbox_row,
        name="inbox_row",
    ),
    # Only the inbox's own actions: other apps add pages beside them (payments:
    # ``…/request-payment/``).
    re_path(
        r"^dashboard/(?P<slug>[-a-zA-Z0-9_]+)/inbox/(?P<conversation_id>[0-9]+)/"
        rf"(?P<action>{'|'.join(sorted(inbox.INBOX_ACTIONS))})/$",
        inbox.inbox_action,
        name="inbox_action",
    ),
    path(
        "dashboard/<slug:slug>/inbox/<int:conversation_id>/notes/<int:note_id>/delete/",
        inbox.note_delete,
        name="inbox_note_delete",
    ),
    # Inbox settings (greeting, away, quick replies, labels) and the click-to-chat link.
    path(
        "dashboard/<slug:slug>/chat-settings/", settings_views.inbox_settings, name="inbox_settings"
    ),
    path(
        "dashboard/<slug:slug>/chat-settings/quick-replies/<int:reply_id>/",
        settings_views.quick_reply_edit,
        name="quick_reply_edit",
    ),
    path(
        "dashboard/<slug:slug>/chat-settings/quick-replies/<int:reply_id>/delete/",
        settings_views.quick_reply_delete,
        name="quick_reply_delete",
    ),
    path(
        "dashboard/<slug:slug>/chat-settings/labels/<int:label_id>/delete/",
        settings_views.label_delete,
        name="label_delete",
    ),
    path("dashboard/<slug:slug>/chat-link/", settings_views.chat_link, name="chat_link"),
    path(
        "dashboard/<slug:slug>/chat-link/qr.svg", settings_views.chat_link_qr, name="chat_link_qr"
    ),
]
