"""HTML views of the merchant inbox: the conversation list, a thread with the
customer panel, and the staff's actions on a conversation.

Each view authorizes through ``accounts.selectors.get_business_for`` (404 for a
missing or forbidden business) and ``get_conversation_for``, calls one service and
renders.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from catalog.picks import render_picks
from catalog.selectors import list_picks
from chats import selectors
from chats.forms import (
    InboxFilterForm,
    NoteForm,
)
from chats.models import ContactNote, Conversation
from chats.rows import inbox_rows
from chats.services import inbox as chat_inbox
from chats.services import messages as chat_messages
from chats.services import receipts
from chats.views.threads import error_response, list_moment, thread_context
from core.errors import AppError

ROLE = Membership.Role
PREFILL_MAX = 1000


@login_required
def inbox(request, slug: str, conversation_id: int | None = None):
    """The inbox: conversation list with filters; with a conversation, its thread and
    the customer panel beside it."""
    business = get_business_for(user=request.user, slug=slug)
    form = InboxFilterForm(request.GET or None, business=business)
    filters = form.cleaned_data if form.is_valid() else {}
    before = _moment(request.GET.get("before"))
    since = list_moment()
    rows = selectors.list_inbox_rows(
        business=business,
        user=request.user,
        membership=business.membership,
        status=filters.get("status") or "",
        scope=filters.get("scope") or "all",
        label=filters.get("label"),
        q=filters.get("q") or "",
        before=before,
        before_id=request.GET.get("before_id") if before else None,
    )
    query = request.GET.urlencode()
    context = {"filter_form": form, "query": query, "since": since}
    if len(rows) == selectors.PAGE:
        older = request.GET.copy()
        older["before"] = rows[-1].last_message_at.isoformat()
        older["before_id"] = str(rows[-1].pk)
        context["older_url"] = f"{reverse('inbox', args=[slug])}?{older.urlencode()}"
    if conversation_id is not None:
        conversation = selectors.get_conversation_for(
            user=request.user, conversation_id=conversation_id, as_staff_of=business
        )
        receipts.mark_read(actor=request.user, conversation=conversation)
        context |= thread_context(request, conversation)
        context |= selectors.get_contact_panel(conversation=conversation)
        context |= {
            "note_form": NoteForm(),
            "labels": selectors.list_labels(business=business),
            "team": selectors.list_team(business=business),
            "quick_replies": selectors.list_quick_replies(business=business),
            "statuses": Conversation.Status.choices,
            "products": _shareable_products(business),
        }
        context["product_picks"] = render_picks(
            "chats/_product_picks.html", business=business, products=context["products"]
        )
        for row in rows:
            if row.pk == conversation.pk:
                row.unread = 0
    current = conversation_id if conversation_id is not None else None
    context["rows_html"] = inbox_rows(rows, slug=slug, query=query, current=current)
    return render_dashboard(request, business, "inbox", "chats/inbox.html", context)


def _moment(value):
    """An ISO moment from a query string, or None when absent or malformed."""
    try:
        moment = parse_datetime((value or "")[:40])
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        return None
    return moment


def _shareable_products(business):
    return list_picks(business=business)


@login_required
def inbox_row(request, slug: str, conversation_id: int):
    """One row of the inbox list, for the live list (static/js/chat.js)."""
    business = get_business_for(user=request.user, slug=slug)
    row = selectors.get_inbox_row(
        business=business,
        user=request.user,
        membership=business.membership,
        conversation_id=conversation_id,
    )
    [html] = inbox_rows([row], slug=slug, current=request.GET.get("current"))
    return HttpResponse(html)


INBOX_ACTIONS = {"status", "assign", "labels", "notes", "block", "unblock", "products"}


@login_required
@require_POST
def inbox_action(request, slug: str, conversation_id: int, action: str):
    """Status, assignment, labels, notes, block/unblock and product lists, each one
    service; all answer by going back to the thread with a flash message."""
    if action not in INBOX_ACTIONS:
        raise Http404
    business = get_business_for(user=request.user, slug=slug)
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id, as_staff_of=business
    )
    back = reverse("inbox_thread", args=[slug, conversation.pk])
    actor, post = request.user, request.POST
    try:
        if action == "status":
            chat_inbox.set_status(
                actor=actor, conversation=conversation, status=post.get("status", "")
            )
            done = _("Status changed.")
        elif action == "assign":
            assignee = post.get("assignee") or None
            chat_inbox.assign(actor=actor, conversation=conversation, assignee_id=assignee)
            done = _("Assignment changed.")
            if (
                assignee
                and str(assignee) != str(actor.pk)
                and business.membership.role == ROLE.AGENT
            ):
                back = reverse("inbox", args=[slug])
        elif action == "labels":
            chat_inbox.set_labels(
                actor=actor, conversation=conversation, label_ids=post.getlist("labels")
            )
            done = _("Labels saved.")
        elif action == "notes":
            form = NoteForm(post)
            body = form.data.get("body", "")
            chat_inbox.add_note(actor=actor, conversation=conversation, body=body)
            done = _("Note added.")
        elif action in ("block", "unblock"):
            chat_inbox.block_contact(
                actor=actor, conversation=conversation, blocked=action == "block"
            )
            done = _("Customer blocked.") if action == "block" else _("Customer unblocked.")
        else:
            chat_messages.share_products(
                actor=actor,
                conversation=conversation,
                sections=[
                    {"title": post.get("title", ""), "product_ids": post.getlist("products")}
                ],
                body=post.get("body", ""),
                client_id=post.get("client_id") or None,
            )
            done = _("Products sent.")
    except AppError as exc:
        return error_response(request, exc, back)
    messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def note_delete(request, slug: str, conversation_id: int, note_id: int):
    business = get_business_for(user=request.user, slug=slug)
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id, as_staff_of=business
    )
    note = get_object_or_404(ContactNote, pk=note_id, contact_id=conversation.contact_id)
    chat_inbox.delete_note(actor=request.user, note=note)
    messages.success(request, _("Note deleted."))
    return redirect("inbox_thread", slug=slug, conversation_id=conversation.pk)
