"""Small input and output serializers for the chats API, one per shape.

Input serializers only parse and bound what a client sends (types, lengths, id
ranges); who may do what and the rules of a conversation live in
:mod:`chats.services`. Output serializers read what the selectors loaded
(``me``, ``other``, prefetched labels and sides) and run no query of their own,
so a list costs the same number of queries whatever its length.

A *side* names who speaks: ``u<user id>`` for a customer or a direct peer,
``b<business id>`` for a business (any of its staff), ``system`` for the platform.
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chats import kinds
from chats.models import MAX_TEXT, Conversation, Label, QuickReply
from core.ids import MAX_ID

MAX_SEQ = 2_147_483_647  # PositiveIntegerField's range on every database we run
MAX_LABELS = 100
PAGE = 50
MAX_PAGE = 200
# A string, not an enum: a second enum named "kind" (messages have one) would make
# drf-spectacular warn about the name collision, and the schema check fails on warnings.
CONVERSATION_KIND = _("`business` (a customer and a shop) or `direct` (two people).")


def _absolute(request, file) -> str | None:
    if not file:
        return None
    return request.build_absolute_uri(file.url) if request else file.url


def _party_name(participant) -> str:
    if participant.business_id:
        return participant.business.name
    return participant.user.get_short_name()


def _message_side(message, sides: dict[int, str]) -> str:
    """The side of ``message`` from the sides already loaded (participant pk → side)."""
    if message.sender_id is None:
        return "system"
    return sides.get(message.sender_id, "")


# --- Output: small parts ---------------------------------------------------------------


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.get_short_name()


class BusinessRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = fields


class PartySerializer(serializers.Serializer):
    """The other side of a conversation: a business, or a user."""

    side = serializers.CharField(help_text=_("`b<business id>` or `u<user id>`."))
    name = serializers.SerializerMethodField()
    business = serializers.SerializerMethodField(help_text=_("The business's slug, if a business."))
    user_id = serializers.IntegerField(allow_null=True)

    def get_name(self, obj) -> str:
        return _party_name(obj)

    def get_business(self, obj) -> str | None:
        return obj.business.slug if obj.business_id else None


class ReadStateSerializer(serializers.Serializer):
    """One side's positions: read and delivered up to ``seq``; unread count."""

    side = serializers.CharField()
    last_read_seq = serializers.IntegerField()
    last_delivered_seq = serializers.IntegerField()
    unread = serializers.IntegerField()


class LastMessageSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    side = serializers.CharField()
    preview = serializers.CharField(help_text=_("One line of text for lists."))
    created_at = serializers.DateTimeField()


def _last_message(message, sides: dict[int, str]) -> dict | None:
    if message is None:
        return None
    return LastMessageSerializer(
        {
            "seq": message.seq,
            "kind": message.kind,
            "side": _message_side(message, sides),
            "preview": kinds.get(message.kind).preview(message),
            "created_at": message.created_at,
        }
    ).data


# --- Output: conversations -------------------------------------------------------------


class StaffViewSerializer(serializers.Serializer):
    """What only the business's team sees of a conversation."""

    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    assignee = UserRefSerializer(allow_null=True)
    customer = UserRefSerializer()
    labels = LabelSerializer(many=True)
    blocked = serializers.BooleanField()
    first_touch = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("How the customer first reached the chat: ref, UTM fields, referrer."),
    )


class ConversationSerializer(serializers.Serializer):
    """A conversation as the viewer sees it. Expects ``me`` and ``other`` (the two
    sides) and ``membership`` attached by the view; ``staff`` is null unless the
    viewer speaks for the business."""

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=CONVERSATION_KIND)
    business = BusinessRefSerializer(allow_null=True)
    me = ReadStateSerializer(help_text=_("The side the viewer speaks for."))
    other = PartySerializer()
    other_read_seq = serializers.IntegerField(source="other.last_read_seq")
    other_delivered_seq = serializers.IntegerField(source="other.last_delivered_seq")
    last_seq = serializers.IntegerField(help_text=_("The newest message's seq; 0 when none."))
    last_message_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    staff = serializers.SerializerMethodField()

    @extend_schema_field(StaffViewSerializer(allow_null=True))
    def get_staff(self, obj) -> dict | None:
        if obj.membership is None:
            return None
        contact = obj.contact
        return StaffViewSerializer(
            {
                "status": obj.status,
                "assignee": obj.assignee,
                "customer": contact.user,
                "labels": contact.labels.all(),
                "blocked": contact.is_blocked,
                "first_touch": obj.first_touch,
            }
        ).data


class InboxConversationSerializer(serializers.Serializer):
    """A row of the business's inbox (from :func:`chats.selectors.list_inbox`)."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    customer = UserRefSerializer(source="contact.user")
    assignee = UserRefSerializer(allow_null=True)
    labels = LabelSerializer(source="contact.labels", many=True)
    unread = serializers.IntegerField(help_text=_("Messages the business has not read."))
    last_message = serializers.SerializerMethodField()
    last_message_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(LastMessageSerializer(allow_null=True))
    def get_last_message(self, obj) -> dict | None:
        message = obj.last_message
        sides = {obj.business_side_id: f"b{obj.business_id}"} if obj.business_side_id else {}
        if message is not None and message.sender_id not in (None, *sides):
            # Any other sender in a business conversation is its one customer.
            sides[message.sender_id] = f"u{obj.contact.user_id}"
        return _last_message(message, sides)


class InboxPageSerializer(serializers.Serializer):
    results = InboxConversationSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text=_("The next (older) page of the inbox, or null.")
    )


class MyConversationSerializer(serializers.Serializer):
    """One of the user's own conversations, as a customer or a direct peer (from
    the user's :class:`~chats.models.Participant`, with ``other`` loaded)."""

    id = serializers.IntegerField(source="conversation_id")
    kind = serializers.CharField(source="conversation.kind", help_text=CONVERSATION_KIND)
    business = BusinessRefSerializer(source="conversation.business", allow_null=True)
    other = PartySerializer(allow_null=True)
    unread = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    last_message = serializers.SerializerMethodField()
    last_message_at = serializers.DateTimeField(
        source="conversation.last_message_at", allow_null=True
    )

    @extend_schema_field(LastMessageSerializer(allow_null=True))
    def get_last_message(self, obj) -> dict | None:
        sides = {p.pk: p.side for p in obj.conversation.others} | {obj.pk: obj.side}
        return _last_message(obj.conversation.last_message, sides)


# --- Output: messages -------------------------------------------------------------------


class MessageSerializer(serializers.Serializer):
    """A message. Expects ``me`` (the viewer's side) in the context, and the
    message's ``sender`` loaded."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField(help_text=_("1, 2, 3 … in the conversation, in commit order."))
    kind = serializers.CharField(help_text=_("text, image, product, product_set, system …"))
    side = serializers.SerializerMethodField()
    mine = serializers.SerializerMethodField()
    body = serializers.CharField()
    payload = serializers.DictField(help_text=_("The kind's data, e.g. product_id for a product."))
    image = serializers.SerializerMethodField()
    image_thumb = serializers.SerializerMethodField()
    client_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_side(self, obj) -> str:
        return obj.sender.side if obj.sender_id else "system"

    def get_mine(self, obj) -> bool:
        """Sent by the viewer's side (for staff: by the business)."""
        return obj.sender_id is not None and obj.sender_id == self.context["me"].pk

    def get_image(self, obj) -> str | None:
        return _absolute(self.context.get("request"), obj.image)

    def get_image_thumb(self, obj) -> str | None:
        return _absolute(self.context.get("request"), obj.image_thumb)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True, help_text=_("Oldest first."))
    previous = serializers.URLField(
        allow_null=True, help_text=_("The page of older messages, or null at the first one.")
    )
    next = serializers.URLField(
        allow_null=True,
        help_text=_(
            "The page of newer messages, or null when this page reaches the newest "
            "(poll with `after=<last seq>` to catch up)."
        ),
    )


class QuickReplySerializer(serializers.ModelSerializer):
    class Meta:
        model = QuickReply
        fields = ["id", "shortcut", "text"]
        read_only_fields = fields


# --- Input --------------------------------------------------------------------------------


class StartConversationInputSerializer(serializers.Serializer):
    """Either ``business`` (chat with a shop) or ``peer`` (chat with a person)."""

    business = serializers.SlugField(
        max_length=60, required=False, help_text=_("The shop's slug: chat with a business.")
    )
    peer = serializers.CharField(
        max_length=254,
        required=False,
        help_text=_("An e-mail or E.164 phone number: chat with a person."),
    )
    ref = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_term = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_content = serializers.CharField(max_length=100, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs):
        if ("business" in attrs) == ("peer" in attrs):
            raise serializers.ValidationError(_("Send either business or peer."))
        return attrs


class MyConversationFilterSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=PAGE)


class InboxFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    scope = serializers.ChoiceField(
        choices=[
            ("all", pgettext_lazy("conversations", "All")),
            ("mine", _("Mine")),
            ("unassigned", _("Unassigned")),
        ],
        default="all",
    )
    label = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text=_("Only contacts with this label.")
    )
    q = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text=_("Search the customer's name and e-mail and the messages."),
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=PAGE)
    before = serializers.DateTimeField(
        required=False, help_text=_("Only conversations with activity before this moment.")
    )
    before_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text=_("With before: also those at that same moment with a smaller id."),
    )


class MessageFilterSerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SEQ,
        required=False,
        help_text=_("Messages after this seq, oldest first (catching up)."),
    )
    before = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SEQ,
        required=False,
        help_text=_("The page of messages just before this seq (scrolling back)."),
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=PAGE)

    def validate(self, attrs):
        if "after" in attrs and "before" in attrs:
            raise serializers.ValidationError(_("Send after or before, not both."))
        return attrs


class SendMessageInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[("text", _("Text")), ("product", _("Product"))], default="text"
    )
    body = serializers.CharField(
        max_length=MAX_TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("The text; required for text, an optional comment on a product."),
    )
    product_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text=_("For kind product.")
    )
    client_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=_(
            "Your id for the message (letters, digits, dashes): sending again with the same "
            "id returns the first message instead of making a second one."
        ),
    )

    def validate(self, attrs):
        if attrs["kind"] == "product" and "product_id" not in attrs:
            raise serializers.ValidationError({"product_id": _("Choose a product.")})
        return attrs


class MarkReadInputSerializer(serializers.Serializer):
    seq = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SEQ,
        required=False,
        allow_null=True,
        help_text=_("Read up to this seq; absent or null: everything."),
    )


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices)


class AssignInputSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        allow_null=True,
        help_text=_("A team member's user id; null leaves the conversation unassigned."),
    )


class LabelsInputSerializer(serializers.Serializer):
    label_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_LABELS,
        help_text=_("Every label of the contact (ids of the business's labels); [] clears."),
    )


class QuickReplyInputSerializer(serializers.Serializer):
    shortcut = serializers.CharField(
        max_length=31, help_text=_("Typed as /shortcut in the composer; letters, digits, dashes.")
    )
    text = serializers.CharField(max_length=MAX_TEXT)
