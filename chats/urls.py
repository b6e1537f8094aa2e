from django.urls import path, re_path

from chats import views, views_consent, views_settings

urlpatterns = [
    # Customers and direct chats.
    path("c/<slug:slug>", views.click_to_chat, name="click_to_chat"),
    path("chats/", views.my_chats, name="my_chats"),
    path("chats/new/", views.direct_start, name="direct_start"),
    path("chats/settings/", views.chat_settings, name="chat_settings"),
    path("chats/<int:conversation_id>/", views.thread, name="chat_thread"),
    path("chats/<int:conversation_id>/send/", views.send, name="chat_send"),
    path("chats/<int:conversation_id>/messages/", views.messages_partial, name="chat_messages"),
    path("chats/<int:conversation_id>/read/", views.mark_read, name="chat_read"),
    path("chats/<int:conversation_id>/report/", views.report, name="chat_report"),
    path("chats/<int:conversation_id>/block/", views.block, name="chat_block"),
    path("chats/<int:conversation_id>/offers/", views_consent.offers_consent, name="chat_offers"),
    # The merchant inbox.
    path("dashboard/<slug:slug>/inbox/", views.inbox, name="inbox"),
    path("dashboard/<slug:slug>/inbox/<int:conversation_id>/", views.inbox, name="inbox_thread"),
    path(
        "dashboard/<slug:slug>/inbox/<int:conversation_id>/row/",
        views.inbox_row,
        name="inbox_row",
    ),
    # Only the inbox's own actions: other apps add pages beside them (payments:
    # ``…/request-payment/``).
    re_path(
        r"^dashboard/(?P<slug>[-a-zA-Z0-9_]+)/inbox/(?P<conversation_id>[0-9]+)/"
        rf"(?P<action>{'|'.join(sorted(views.INBOX_ACTIONS))})/$",
        views.inbox_action,
        name="inbox_action",
    ),
    path(
        "dashboard/<slug:slug>/inbox/<int:conversation_id>/notes/<int:note_id>/delete/",
        views.note_delete,
        name="inbox_note_delete",
    ),
    # Inbox settings (greeting, away, quick replies, labels) and the click-to-chat link.
    path(
        "dashboard/<slug:slug>/chat-settings/", views_settings.inbox_settings, name="inbox_settings"
    ),
    path(
        "dashboard/<slug:slug>/chat-settings/quick-replies/<int:reply_id>/",
        views_settings.quick_reply_edit,
        name="quick_reply_edit",
    ),
    path(
        "dashboard/<slug:slug>/chat-settings/quick-replies/<int:reply_id>/delete/",
        views_settings.quick_reply_delete,
        name="quick_reply_delete",
    ),
    path(
        "dashboard/<slug:slug>/chat-settings/labels/<int:label_id>/delete/",
        views_settings.label_delete,
        name="label_delete",
    ),
    path("dashboard/<slug:slug>/chat-link/", views_settings.chat_link, name="chat_link"),
    path(
        "dashboard/<slug:slug>/chat-link/qr.svg", views_settings.chat_link_qr, name="chat_link_qr"
    ),
]
