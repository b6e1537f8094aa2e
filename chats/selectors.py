"""Reads of conversations and messages, scoped to the acting user.

:func:`get_conversation_for` is the permission check for a conversation: it
answers "not found" alike for a conversation that does not exist and for one
the user may not see (another customer's, another business's, or, for an agent,
a colleague's assignment).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy

from accounts.models import Business, Membership, User
from chats import sql
from chats.models import (
    ConsentRecord,
    Contact,
    ContactNote,
    Conversation,
    InboxSettings,
    Label,
    Message,
    Participant,
    QuickReply,
)
from core.errors import AppError
from core.ids import get_by_id_or_404, parse_int

ROLE = Membership.Role
PAGE = 50
MAX_PAGE = 200


# --- Who may see a conversation -----------------------------------------------------
# The checks every chats service makes first. A conversation someone may not see is
# "not found" to them, the same answer as for one that does not exist.


def not_found() -> AppError:
    return AppError(gettext_lazy("Conversation not found."), code="not_found", status_code=404)


def staff_membership(user: User, conversation: Conversation) -> Membership | None:
    """The user's membership on the business side, if it lets them see ``conversation``.

    Agents see conversations assigned to them and unassigned ones; admins and
    owners see all of their business's.
    """
    if conversation.business_id is None or not user.is_authenticated:
        return None
    membership = Membership.objects.filter(
        user=user, business_id=conversation.business_id, business__is_active=True
    ).first()
    return if_it_sees(membership, user, conversation)


def if_it_sees(membership: Membership | None, user: User, conversation: Conversation):
    """``membership`` if it lets ``user`` see ``conversation`` (agents: theirs and
    unassigned ones), else None."""
    if membership is None:
        return None
    if membership.role == ROLE.AGENT and conversation.assignee_id not in (None, user.pk):
        return None
    return membership


def participant_for(user: User, conversation: Conversation) -> Participant:
    """The side ``user`` speaks for in ``conversation``, or a "not found" error.

    A customer speaks for themselves; a staff member for the business.
    """
    if not user.is_authenticated:
        raise not_found()
    if conversation.business_id is not None and staff_membership(user, conversation):
        return Participant.objects.get(
            conversation=conversation, business_id=conversation.business_id
        )
    side = Participant.objects.filter(conversation=conversation, user=user).first()
    if side is None:
        raise not_found()
    return side


def staff_or_not_found(actor: User, conversation: Conversation) -> Membership:
    membership = staff_membership(actor, conversation)
    if membership is None:
        raise not_found()
    return membership


# --- Reads -------------------------------------------------------------------------


def get_conversation_for(
    *, user: User, conversation_id, as_staff_of: Business | None = None
) -> Conversation:
    """The conversation if ``user`` may see it, with ``me`` (their side) and
    ``membership`` (their staff membership, or None when they are the customer).

    ``as_staff_of``: only as a member of that business (the inbox's pages, payment
    requests); a conversation they see as its customer, or of another business, is
    "not found" like any other they may not see.
    """
    pk = parse_int(conversation_id)
    if pk is None or not user.is_authenticated:
        raise Http404
    conversation = (
        Conversation.objects.select_related("business", "contact__user", "assignee")
        .filter(pk=pk)
        .first()
    )
    if conversation is None:
        raise Http404
    if as_staff_of is not None and conversation.business_id != as_staff_of.pk:
        raise Http404
    membership = staff_membership(user, conversation)
    if membership is None and as_staff_of is not None:
        raise Http404
    if membership is not None:
        me = Participant.objects.get(
            conversation=conversation, business_id=conversation.business_id
        )
    else:
        me = Participant.objects.filter(conversation=conversation, user=user).first()
        if me is None:
            raise Http404
    conversation.me, conversation.membership = me, membership
    conversation.viewer_id = user.pk  # whom ``me`` is for (``receipts.mark_read``)
    return conversation


def find_customer_conversation(*, customer: User, business: Business) -> Conversation | None:
    """``customer``'s own conversation with ``business``, if they have one."""
    if not customer.is_authenticated:
        return None
    return Conversation.objects.filter(
        kind=Conversation.Kind.BUSINESS, business=business, contact__user=customer
    ).first()


def get_other_side(conversation: Conversation) -> Participant:
    return (
        Participant.objects.select_related("user", "business")
        .exclude(pk=conversation.me.pk)
        .get(conversation=conversation)
    )


def list_messages(
    *, conversation: Conversation, after=None, before=None, limit: int = PAGE
) -> list[Message]:
    """Messages in ``seq`` order: the newest page, or those after/before a seq."""
    limit = max(1, min(parse_int(limit) or PAGE, MAX_PAGE))
    qs = Message.objects.filter(conversation=conversation).select_related("sender", "author")
    after, before = parse_int(after), parse_int(before)
    if after is not None:
        return list(qs.filter(seq__gt=after).order_by("seq")[:limit])
    if before is not None:
        qs = qs.filter(seq__lt=before)
    return list(reversed(qs.order_by("-seq")[:limit]))


def list_viewer_languages(conversation_ids) -> list[str]:
    """The languages of everyone who may open these conversations' threads: their
    users (customers, direct peers) and the members of their businesses, in the form a
    socket uses (``ChatConsumer.connect``: the user's language, else the site's). One
    statement. Not scoped to an actor: it says which renderings a pushed message needs
    (``chats.events.render_pushed``), and a socket whose language is missing reads the
    message from the database instead. (Raw SQL: the ORM's version cost more than the
    renderings it saves.)"""
    languages = sql.viewer_languages(list(conversation_ids))
    return sorted({language or settings.LANGUAGE_CODE for language in languages})


def inbox_queryset(*, business: Business, user: User, membership: Membership) -> QuerySet:
    """The business's conversations this staff member may see."""
    qs = Conversation.objects.filter(business=business, kind=Conversation.Kind.BUSINESS)
    if membership.role == ROLE.AGENT:
        qs = qs.filter(Q(assignee__isnull=True) | Q(assignee=user))
    return qs


def _inbox_filtered(
    *,
    business: Business,
    user: User,
    membership: Membership,
    status: str = "",
    scope: str = "all",
    label=None,
    q: str = "",
    before=None,
    before_id=None,
) -> QuerySet:
    """The inbox's conversations with at least one message, filtered, in the list's
    order, each annotated with ``unread`` for the business (and ``business_side_id``):
    no side model per row."""
    qs = inbox_queryset(business=business, user=user, membership=membership)
    if status in Conversation.Status.values:
        qs = qs.filter(status=status)
    if scope == "mine":
        qs = qs.filter(assignee=user)
    elif scope == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    label_id = parse_int(label)
    if label_id:
        qs = qs.filter(contact__labels__id=label_id)
    q = (q or "").replace("\x00", "").strip()[:100]
    if q:
        matches = Message.objects.filter(conversation=OuterRef("pk"), body__icontains=q)
        qs = qs.filter(
            Q(contact__user__display_name__icontains=q)
            | Q(contact__user__email__icontains=q)
            | Exists(matches)
        )
    if before:
        older = Q(last_message_at__lt=before)
        if parse_int(before_id):
            older |= Q(last_message_at=before, pk__lt=parse_int(before_id))
        qs = qs.filter(older)
    return _with_unread(qs.exclude(last_message__isnull=True), business).order_by(
        "-last_message_at", "-pk"
    )


def _with_unread(qs: QuerySet, business: Business) -> QuerySet:
    side = Participant.objects.filter(conversation=OuterRef("pk"), business=business)
    return qs.annotate(
        unread=Coalesce(Subquery(side.values("unread")[:1]), 0),
        business_side_id=Subquery(side.values("pk")[:1]),
    )


def _limit(limit) -> int:
    return max(1, min(parse_int(limit) or PAGE, MAX_PAGE))


def list_inbox(*, limit: int = PAGE, **filters) -> list[Conversation]:
    """The inbox list, newest activity first; each with ``unread`` for the business.
    ``filters``: ``business``, ``user`` and ``membership`` (required), ``status``,
    ``scope``, ``label``, ``q``, ``before`` and ``before_id``.

    Pages with ``before`` (a moment) and ``before_id``: the rows after the last one
    shown, in (last_message_at, id) order, so conversations active at the same moment
    are neither skipped nor repeated. A fixed number of queries whatever their number.
    The inbox page reads the same rows as values (:func:`list_inbox_rows`).
    """
    qs = (
        _inbox_filtered(**filters)
        .select_related("contact__user", "last_message", "assignee")
        .prefetch_related(Prefetch("contact__labels", queryset=Label.objects.order_by("name")))
    )
    return list(qs[: _limit(limit)])


@dataclass
class InboxRow:
    """What a row of the inbox shows (``chats.rows.inbox_rows``)."""

    pk: int
    status: str
    name: str
    last_message: Message | None  # kind, body and payload only: enough for its preview
    last_message_at: datetime | None
    unread: int
    labels: tuple[tuple[str, str], ...]  # (color, name), by name
    assignee: str | None
    assignee_id: int | None


_ROW_COLUMNS = (
    "pk", "status", "contact_id", "contact__user__display_name", "contact__user__email",
    "last_message__kind", "last_message__body", "last_message__payload", "last_message_at",
    "unread", "assignee_id", "assignee__display_name", "assignee__email",
)  # fmt: skip


def list_inbox_rows(*, limit: int = PAGE, **filters) -> list[InboxRow]:
    """:func:`list_inbox`'s rows (same filters, order and pages) as the inbox page
    shows them, read as values: two queries, no model per conversation, contact,
    user, message and assignee."""
    return _inbox_rows(_inbox_filtered(**filters)[: _limit(limit)])


def _inbox_rows(qs: QuerySet) -> list[InboxRow]:
    found = list(qs.values_list(*_ROW_COLUMNS))
    labels: dict[int, list[tuple[str, str]]] = {}
    tagged = (
        Contact.labels.through.objects.filter(contact_id__in={row[2] for row in found})
        .order_by("label__name", "label_id")
        .values_list("contact_id", "label__color", "label__name")
    )
    for contact_id, color, name in tagged:
        labels.setdefault(contact_id, []).append((color, name))
    rows = []
    for (pk, status, contact_id, display_name, email, kind, body, payload, at, unread,
         assignee_id, assignee_name, assignee_email) in found:  # fmt: skip
        rows.append(
            InboxRow(
                pk=pk,
                status=status,
                name=_short_name(display_name, email),
                last_message=None
                if kind is None
                else Message(kind=kind, body=body, payload=payload),
                last_message_at=at,
                unread=unread,
                labels=tuple(labels.get(contact_id, ())),
                assignee=_short_name(assignee_name, assignee_email) if assignee_id else None,
                assignee_id=assignee_id,
            )
        )
    return rows


def _short_name(display_name: str, email: str) -> str:
    """``User.get_short_name`` from a row's two columns, without loading the user."""
    return User(display_name=display_name, email=email).get_short_name()


def get_inbox_row(
    *, business: Business, user: User, membership: Membership, conversation_id
) -> InboxRow:
    """One row of the inbox (the live list redraws a changed one), or "not found"."""
    pk = parse_int(conversation_id)
    qs = inbox_queryset(business=business, user=user, membership=membership).filter(pk=pk)
    rows = _inbox_rows(_with_unread(qs, business)) if pk is not None else []
    if not rows:
        raise Http404
    return rows[0]


def list_my_conversations(*, user: User, limit: int = PAGE) -> list[Participant]:
    """The user's own sides (as customer or direct peer), newest activity first.

    Each has ``other`` (the other participant, with its user or business).
    """
    others = Participant.objects.exclude(user=user).select_related("user", "business")
    sides = list(
        Participant.objects.filter(user=user)
        .exclude(conversation__last_message__isnull=True)
        .select_related("conversation__last_message", "conversation__business")
        .prefetch_related(Prefetch("conversation__participants", queryset=others, to_attr="others"))
        .order_by("-conversation__last_message_at")[:limit]
    )
    for side in sides:
        side.other = side.conversation.others[0] if side.conversation.others else None
    return sides


@dataclass(frozen=True)
class ChatRow:
    """What a row of a user's chat list shows (``chats.rows.chat_rows``)."""

    conversation_id: int
    name: str
    last_message: Message | None  # kind, body and payload only: enough for its preview
    last_message_at: datetime | None
    unread: int


def list_chat_rows(*, user: User, limit: int = PAGE) -> list[ChatRow]:
    """:func:`list_my_conversations` as the chat list pages show it: the same rows in
    the same order, read as values (two queries, no model per side, conversation,
    business and user), for the HTML lists; the API keeps the full sides."""
    sides = list(
        Participant.objects.filter(user=user)
        .exclude(conversation__last_message__isnull=True)
        .order_by("-conversation__last_message_at")
        .values_list(
            "conversation_id",
            "unread",
            "conversation__last_message_at",
            "conversation__last_message__kind",
            "conversation__last_message__body",
            "conversation__last_message__payload",
        )[:limit]
    )
    names: dict[int, str] = {}
    others = (
        Participant.objects.filter(conversation_id__in=[side[0] for side in sides])
        .exclude(user=user)
        .order_by("pk")
        .values_list("conversation_id", "business_id", "business__name", "user_id",
                     "user__display_name", "user__email")
    )  # fmt: skip
    for conversation_id, business_id, business_name, user_id, display_name, email in others:
        if conversation_id in names:
            continue  # the first, as ``list_my_conversations``' ``others[0]``
        if business_id:
            names[conversation_id] = business_name
        elif user_id:
            names[conversation_id] = _short_name(display_name, email)
        else:
            names[conversation_id] = ""
    return [
        ChatRow(
            conversation_id=conversation_id,
            name=names.get(conversation_id, ""),
            last_message=Message(kind=kind, body=body, payload=payload),
            last_message_at=last_message_at,
            unread=unread,
        )
        for conversation_id, unread, last_message_at, kind, body, payload in sides
    ]


# A list page is read, then its socket subscribes: a message committed in between
# sends its list update to no one. The page carries the moment it was read (``since``)
# and the subscription asks whether anything moved from then on — less this margin,
# for a transaction that stamped its message before the page was read and committed
# after. A false "yes" costs the page one refresh.
LIST_GAP_MARGIN = timedelta(seconds=10)


def lists_changed_since(
    *, since: datetime, user: User, business: Business | None = None, membership=None
) -> bool:
    """Whether the user's chat list (or, with ``business`` and the user's
    ``membership``, the business's inbox as they see it) may have changed at or after
    ``since``: a conversation that began or had a message from then on."""
    after = since - LIST_GAP_MARGIN
    if business is None:
        qs = Conversation.objects.filter(participants__user=user)
    else:
        qs = inbox_queryset(business=business, user=user, membership=membership)
    return qs.filter(Q(last_message_at__gte=after) | Q(created_at__gte=after)).exists()


def count_unread_for(*, user: User) -> int:
    return sum(Participant.objects.filter(user=user, unread__gt=0).values_list("unread", flat=True))


def find_user(*, query: str) -> User | None:
    """An active user by exact e-mail (any case) or E.164 phone number."""
    query = (query or "").replace("\x00", "").strip()
    if not query or len(query) > 254:
        return None
    lookup = Q(email__iexact=query) if "@" in query else Q(phone=query.replace(" ", ""))
    return User.objects.filter(lookup, is_active=True).first()


def get_contact_panel(*, conversation: Conversation) -> dict:
    contact = (
        Contact.objects.select_related("user")
        .prefetch_related("labels")
        .get(pk=conversation.contact_id)
    )
    notes = ContactNote.objects.filter(contact=contact).select_related("author")[:50]
    consents = ConsentRecord.objects.filter(contact=contact).select_related("actor")
    return {
        "contact": contact,
        "notes": notes,
        "consents": consents.order_by("-created_at", "-id")[:50],
    }


def list_labels(*, business: Business) -> QuerySet[Label]:
    return Label.objects.filter(business=business)


def get_label_for(*, business: Business, label_id) -> Label:
    return get_by_id_or_404(list_labels(business=business), label_id)


def list_quick_replies(*, business: Business) -> QuerySet[QuickReply]:
    return QuickReply.objects.filter(business=business)


def get_quick_reply_for(*, business: Business, reply_id) -> QuickReply:
    return get_by_id_or_404(list_quick_replies(business=business), reply_id)


def get_inbox_settings(*, business: Business) -> InboxSettings:
    return InboxSettings.objects.filter(business=business).first() or InboxSettings(
        business=business
    )


def list_team(*, business: Business) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(business=business).select_related("user").order_by("user__email")
    )
