"""Chats API routes: the user's conversations and their messages under
``conversations/``, and the business's inbox and quick replies under
``businesses/<slug>/``."""

from django.urls import path

from chats import api

SHOP = "businesses/<slug:slug>/"
CONVERSATION = "conversations/<int:conversation_id>/"

urlpatterns = [
    path("conversations/", api.MyConversationListView.as_view(), name="api_my_conversations"),
    path(CONVERSATION, api.ConversationDetailView.as_view(), name="api_conversation_detail"),
    path(
        CONVERSATION + "status/",
        api.ConversationStatusView.as_view(),
        name="api_conversation_status",
    ),
    path(
        CONVERSATION + "assign/",
        api.ConversationAssignView.as_view(),
        name="api_conversation_assign",
    ),
    path(
        CONVERSATION + "labels/",
        api.ConversationLabelsView.as_view(),
        name="api_conversation_labels",
    ),
    path(CONVERSATION + "messages/", api.MessageListView.as_view(), name="api_message_list"),
    path(CONVERSATION + "read/", api.MarkReadView.as_view(), name="api_conversation_read"),
    path(SHOP + "conversations/", api.InboxListView.as_view(), name="api_inbox"),
    path(SHOP + "quick-replies/", api.QuickReplyListView.as_view(), name="api_quick_reply_list"),
    path(
        SHOP + "quick-replies/<int:reply_id>/",
        api.QuickReplyDetailView.as_view(),
        name="api_quick_reply_detail",
    ),
]
