"""REST endpoints for conversations, messages and quick replies. Thin: parse,
authorize through the selectors, call one service, serialize.

Scoped like the pages. A conversation is loaded with
:func:`chats.selectors.get_conversation_for`, which answers 404 alike for a
missing conversation and for one the user may not see (another customer's,
another business's, a colleague's assignment for an agent). The inbox and quick
replies hang under ``businesses/<slug>/`` and load the business with
:func:`accounts.selectors.get_business_for` at the role the operation needs. A
customer who sees a conversation but tries a staff operation (status, assign,
labels) gets 403.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.models import Membership
from accounts.selectors import get_business_for, get_public_business
from chats import selectors
from chats.serializers import (
    AssignInputSerializer,
    ConversationSerializer,
    InboxFilterSerializer,
    InboxPageSerializer,
    LabelsInputSerializer,
    MarkReadInputSerializer,
    MessageFilterSerializer,
    MessagePageSerializer,
    MessageSerializer,
    MyConversationFilterSerializer,
    MyConversationSerializer,
    QuickReplyInputSerializer,
    QuickReplySerializer,
    ReadStateSerializer,
    SendMessageInputSerializer,
    StartConversationInputSerializer,
    StatusInputSerializer,
)
from chats.services import conversations as chat_conversations
from chats.services import inbox as chat_inbox
from chats.services import messages as chat_messages
from chats.services import receipts
from chats.services import settings as chat_settings
from core.api import input_data, query_data
from core.errors import AppError, forbidden

ROLE = Membership.Role
CHATS = ["chats"]
INBOX = ["chats (business inbox)"]
DELETED = {204: OpenApiResponse(description=gettext_lazy("Deleted."))}
TOUCH_FIELDS = chat_conversations.FIRST_TOUCH_FIELDS


def _conversation(request, conversation_id):
    """The conversation, with both sides, if the user may see it; else 404."""
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    conversation.other = selectors.get_other_side(conversation)
    return conversation


def _staff_conversation(request, conversation_id):
    """The conversation if the user speaks for its business (404 if they may not
    see it at all, 403 if they see it as the customer or a direct peer)."""
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    if conversation.membership is None:
        raise forbidden()
    return conversation


def _detail(request, conversation_id, *, status_code=status.HTTP_200_OK) -> Response:
    conversation = _conversation(request, conversation_id)
    return Response(ConversationSerializer(conversation).data, status=status_code)


# --- Conversations -------------------------------------------------------------------


class MyConversationListView(APIView):
    @extend_schema(
        tags=CHATS,
        summary="List my conversations",
        description=(
            "The user's own conversations, as a customer of a business or with another "
            "person, newest activity first; only those with at least one message."
        ),
        parameters=[MyConversationFilterSerializer],
        responses=MyConversationSerializer(many=True),
    )
    def get(self, request):
        params = query_data(request, MyConversationFilterSerializer)
        sides = selectors.list_my_conversations(user=request.user, limit=params["limit"])
        return Response(MyConversationSerializer(sides, many=True).data)

    @extend_schema(
        tags=CHATS,
        summary="Start (or resume) a conversation",
        description=(
            "With `business`: the user's conversation with that shop, with the first "
            "touch (ref, UTM fields, referrer) kept from the first contact only. With "
            "`peer` (an e-mail or phone number): the direct conversation with that person. "
            "There is one conversation per pair: 201 when it is new, 200 when it existed."
        ),
        request=StartConversationInputSerializer,
        responses={201: ConversationSerializer, 200: ConversationSerializer},
    )
    def post(self, request):
        data = input_data(request, StartConversationInputSerializer)
        if "business" in data:
            business = get_public_business(slug=data["business"])
            touch = {key: data[key] for key in TOUCH_FIELDS if key in data}
            conversation, created = chat_conversations.start_conversation(
                customer=request.user, business=business, first_touch=touch
            )
        else:
            peer = selectors.find_user(query=data["peer"])
            if peer is None:
                raise AppError(
                    _("No one with that e-mail or phone uses Conversa."),
                    code="not_found",
                    field="peer",
                )
            conversation, created = chat_conversations.start_direct_conversation(
                user=request.user, peer=peer
            )
        return _detail(
            request,
            conversation.pk,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class InboxListView(APIView):
    @extend_schema(
        tags=INBOX,
        summary="List the business's inbox (agent+)",
        description=(
            "Conversations with customers, newest activity first, each with the business's "
            "unread count. Agents see those assigned to them and unassigned ones. Page "
            "with `next` (or `before=<last_message_at of the last row>&before_id=<its id>`)."
        ),
        parameters=[InboxFilterSerializer],
        responses=InboxPageSerializer,
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        params = query_data(request, InboxFilterSerializer)
        conversations = selectors.list_inbox(
            business=business,
            user=request.user,
            membership=business.membership,
            status=params.get("status", ""),
            scope=params["scope"],
            label=params.get("label"),
            q=params.get("q", ""),
            limit=params["limit"],
            before=params.get("before"),
            before_id=params.get("before_id"),
        )
        next_url = None
        if len(conversations) == params["limit"]:
            last = conversations[-1]
            url = request.build_absolute_uri()
            url = replace_query_param(url, "before", last.last_message_at.isoformat())
            next_url = replace_query_param(url, "before_id", last.pk)
        page = {"results": conversations, "next": next_url}
        return Response(InboxPageSerializer(page).data)


class ConversationDetailView(APIView):
    @extend_schema(
        tags=CHATS,
        summary="A conversation",
        description=(
            "For its customer or direct peers, and for the business's team (agents: when "
            "unassigned or assigned to them). `staff` is filled for the team only."
        ),
        responses=ConversationSerializer,
    )
    def get(self, request, conversation_id):
        return _detail(request, conversation_id)


class ConversationStatusView(APIView):
    @extend_schema(
        tags=INBOX,
        summary="Set a conversation's status (team)",
        request=StatusInputSerializer,
        responses=ConversationSerializer,
    )
    def post(self, request, conversation_id):
        conversation = _staff_conversation(request, conversation_id)
        data = input_data(request, StatusInputSerializer)
        chat_inbox.set_status(actor=request.user, conversation=conversation, status=data["status"])
        return _detail(request, conversation.pk)


class ConversationAssignView(APIView):
    @extend_schema(
        tags=INBOX,
        summary="Assign a conversation (team)",
        description=(
            "Admins and owners assign to any team member or to nobody; agents take an "
            "unassigned conversation (their own id) or leave theirs (null)."
        ),
        request=AssignInputSerializer,
        responses=ConversationSerializer,
    )
    def post(self, request, conversation_id):
        conversation = _staff_conversation(request, conversation_id)
        data = input_data(request, AssignInputSerializer)
        chat_inbox.assign(
            actor=request.user, conversation=conversation, assignee_id=data["assignee"]
        )
        return _detail(request, conversation.pk)


class ConversationLabelsView(APIView):
    @extend_schema(
        tags=INBOX,
        summary="Set the customer's labels (team)",
        request=LabelsInputSerializer,
        responses=ConversationSerializer,
    )
    def post(self, request, conversation_id):
        conversation = _staff_conversation(request, conversation_id)
        data = input_data(request, LabelsInputSerializer)
        chat_inbox.set_labels(
            actor=request.user, conversation=conversation, label_ids=data["label_ids"]
        )
        return _detail(request, conversation.pk)


# --- Messages -------------------------------------------------------------------------


class MessageListView(APIView):
    @extend_schema(
        tags=CHATS,
        summary="List a conversation's messages",
        description=(
            "Pages by `seq`, oldest first within a page. No parameter: the newest page. "
            "`before=<seq>`: the page just before (scrolling back; follow `previous`). "
            "`after=<seq>`: the messages after it (catching up; follow `next`). Messages "
            "are numbered in commit order, so following the cursors neither skips nor "
            "repeats one."
        ),
        parameters=[MessageFilterSerializer],
        responses=MessagePageSerializer,
    )
    def get(self, request, conversation_id):
        conversation = selectors.get_conversation_for(
            user=request.user, conversation_id=conversation_id
        )
        params = query_data(request, MessageFilterSerializer)
        messages = selectors.list_messages(
            conversation=conversation,
            after=params.get("after"),
            before=params.get("before"),
            limit=params["limit"],
        )
        url = request.build_absolute_uri()
        previous_url = next_url = None
        # Seqs start at 1 and messages are never deleted one by one, so a page that
        # starts above 1 has older messages before it.
        if messages and messages[0].seq > 1:
            previous_url = replace_query_param(
                remove_query_param(url, "after"), "before", messages[0].seq
            )
        if messages and messages[-1].seq < conversation.last_seq:
            next_url = replace_query_param(
                remove_query_param(url, "before"), "after", messages[-1].seq
            )
        page = {"results": messages, "previous": previous_url, "next": next_url}
        context = {"request": request, "me": conversation.me}
        return Response(MessagePageSerializer(page, context=context).data)

    @extend_schema(
        tags=CHATS,
        summary="Send a message",
        description=(
            "A text (`body`) or a product card (`kind: product`, `product_id` of the "
            "conversation's business, optional `body`), as the user's side: the customer, "
            "or the business for its team. Idempotent per `client_id`: 201 with the new "
            "message, 200 with the first one when the same id was sent before."
        ),
        request=SendMessageInputSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer},
    )
    def post(self, request, conversation_id):
        conversation = selectors.get_conversation_for(
            user=request.user, conversation_id=conversation_id
        )
        data = input_data(request, SendMessageInputSerializer)
        if data["kind"] == "product":
            message, created = chat_messages.share_product(
                actor=request.user,
                conversation=conversation,
                product_id=data["product_id"],
                body=data["body"],
                client_id=data.get("client_id"),
            )
        else:
            message, created = chat_messages.send_text(
                actor=request.user,
                conversation=conversation,
                body=data["body"],
                client_id=data.get("client_id"),
            )
        context = {"request": request, "me": conversation.me}
        return Response(
            MessageSerializer(message, context=context).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MarkReadView(APIView):
    @extend_schema(
        tags=CHATS,
        summary="Mark messages read",
        description=(
            "The user's side has read up to `seq` (default: everything). Never goes back; "
            "a seq beyond the newest message counts as the newest."
        ),
        request=MarkReadInputSerializer,
        responses=ReadStateSerializer,
    )
    def post(self, request, conversation_id):
        conversation = selectors.get_conversation_for(
            user=request.user, conversation_id=conversation_id
        )
        data = input_data(request, MarkReadInputSerializer)
        side = receipts.mark_read(
            actor=request.user, conversation=conversation, seq=data.get("seq")
        )
        return Response(ReadStateSerializer(side).data)


# --- Quick replies ---------------------------------------------------------------------


class QuickReplyListView(APIView):
    @extend_schema(
        tags=INBOX,
        summary="List quick replies (agent+)",
        responses=QuickReplySerializer(many=True),
    )
    def get(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.AGENT)
        replies = selectors.list_quick_replies(business=business)
        return Response(QuickReplySerializer(replies, many=True).data)

    @extend_schema(
        tags=INBOX,
        summary="Create a quick reply (admin+)",
        request=QuickReplyInputSerializer,
        responses={201: QuickReplySerializer},
    )
    def post(self, request, slug):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        data = input_data(request, QuickReplyInputSerializer)
        reply = chat_settings.save_quick_reply(actor=request.user, business=business, **data)
        return Response(QuickReplySerializer(reply).data, status=status.HTTP_201_CREATED)


class QuickReplyDetailView(APIView):
    @extend_schema(
        tags=INBOX,
        summary="Change a quick reply (admin+)",
        description="Only the fields sent change.",
        request=QuickReplyInputSerializer(partial=True),
        responses=QuickReplySerializer,
    )
    def patch(self, request, slug, reply_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        reply = selectors.get_quick_reply_for(business=business, reply_id=reply_id)
        data = {"shortcut": reply.shortcut, "text": reply.text} | input_data(
            request, QuickReplyInputSerializer, partial=True
        )
        reply = chat_settings.save_quick_reply(
            actor=request.user, business=business, reply=reply, **data
        )
        return Response(QuickReplySerializer(reply).data)

    @extend_schema(tags=INBOX, summary="Delete a quick reply (admin+)", responses=DELETED)
    def delete(self, request, slug, reply_id):
        business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
        reply = selectors.get_quick_reply_for(business=business, reply_id=reply_id)
        chat_settings.delete_quick_reply(actor=request.user, reply=reply)
        return Response(status=status.HTTP_204_NO_CONTENT)
