"""HTML views for chats: the customer's chats, direct chats, and the merchant inbox.

Each view parses, authorizes through a selector (``get_conversation_for`` for a
conversation, ``accounts.selectors.get_business_for`` for an inbox), calls one
service and renders. Everything works with plain form posts; the socket
(static/js/chat.js) and its polling fallback only make it live.
"""

import time
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for, get_public_business
from accounts.views import render_dashboard
from chats import events, selectors, services
from chats.forms import (
    ChatPreferencesForm,
    DirectChatForm,
    InboxFilterForm,
    NoteForm,
    ReportForm,
    SendForm,
    StartChatForm,
)
from chats.models import ChatPreferences, ContactNote, Conversation
from core.errors import AppError

ROLE = Membership.Role
PREFILL_MAX = 1000


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _error_response(request, exc: AppError, fallback_url: str):
    if _wants_json(request) or request.htmx:
        return JsonResponse(
            {"error": {"code": exc.code, "message": str(exc.message)}}, status=exc.status_code
        )
    messages.error(request, str(exc.message))
    return redirect(fallback_url)


def _thread_url(conversation: Conversation) -> str:
    if conversation.membership is not None:
        return reverse("inbox_thread", args=[conversation.business.slug, conversation.pk])
    return reverse("chat_thread", args=[conversation.pk])


def _thread_context(request, conversation: Conversation) -> dict:
    """What the thread (both the customer's page and the inbox) needs."""
    before = request.GET.get("before")
    page = selectors.list_messages(conversation=conversation, before=before)
    other = selectors.get_other_side(conversation)
    return {
        "conversation": conversation,
        "me": conversation.me,
        "other": other,
        "other_online": events.is_side_online(other.side),
        "messages_html": events.render_messages(page, me=conversation.me, other=other),
        "first_seq": page[0].seq if page else 0,
        "has_earlier": bool(page) and page[0].seq > 1,
        "last_seq": conversation.last_seq,
        "send_form": SendForm(initial={"body": request.GET.get("text", "")[:PREFILL_MAX]}),
        "ws_path": "/ws/chat/",
    }


# --- Customers ----------------------------------------------------------------------


TOUCH_SALT = "chats.click_to_chat.touch"
TOUCH_MAX_AGE = 7 * 24 * 3600  # a page left open for a week still attributes its click


def _sign_touch(touch: dict[str, str]) -> str:
    return signing.dumps({k: v for k, v in touch.items() if v}, salt=TOUCH_SALT, compress=True)


def _read_touch(value: str) -> dict[str, str]:
    """The touch signed by the GET; nothing if it is missing, altered or too old (a
    forged touch would skew attribution, never anything else)."""
    try:
        touch = signing.loads(value or "", salt=TOUCH_SALT, max_age=TOUCH_MAX_AGE)
    except signing.BadSignature:
        return {}
    if not isinstance(touch, dict):
        return {}
    return {k: str(touch[k]) for k in services.FIRST_TOUCH_FIELDS if k in touch}


def _asked_product(business_id: int, product_id):
    """The active product ``product_id`` of the business, if there is one (the
    product a link or a thread asks about)."""
    from catalog.models import Product

    if not str(product_id or "").isdigit():
        return None
    return (
        Product.objects.filter(pk=product_id, business_id=business_id, is_active=True)
        .prefetch_related("photos")
        .first()
    )


def _ask_about(product) -> str:
    return _("Hi! I'd like to know more about %(product)s.") % {"product": product.name}


@require_http_methods(["GET", "HEAD", "POST"])
def click_to_chat(request, slug: str):
    """``/c/<slug>?text=…&product=…&ref=…&utm_*=…``: the chat with the business.

    GET creates nothing (a link on another site must not drop a signed-in visitor
    into a merchant's inbox): a visitor who already has the conversation is taken to
    it, text prefilled; anyone else sees the shop's chat page with the text in the
    message box. The conversation starts with the first message, on POST (CSRF),
    which also records the click's touch (ref, UTM fields, referrer), carried from
    the GET in a signed field. Anonymous visitors sign in first and come back."""
    business = get_public_business(slug=slug)
    if request.method == "POST":
        return _start_chat(request, business)
    params = request.GET.copy()
    if "referrer" not in params:
        referrer = request.headers.get("Referer", "")
        host = urlsplit(referrer).netloc
        if referrer and host and host != request.get_host():
            params["referrer"] = referrer[:500]
    if not request.user.is_authenticated:
        return redirect_to_login(f"{request.path}?{params.urlencode()}")
    try:
        services.check_can_start_conversation(customer=request.user, business=business)
    except AppError as exc:
        messages.info(request, str(exc.message))
        return redirect("inbox", slug=business.slug)
    forward = {k: params[k][:PREFILL_MAX] for k in ("text", "product") if params.get(k)}
    existing = selectors.find_customer_conversation(customer=request.user, business=business)
    if existing is not None:
        url = reverse("chat_thread", args=[existing.pk])
        return redirect(f"{url}?{urlencode(forward)}" if forward else url)
    product = _asked_product(business.pk, params.get("product"))
    text = forward.get("text", "")
    if product is not None and not text:
        text = _ask_about(product)
    touch = {key: params.get(key, "") for key in services.FIRST_TOUCH_FIELDS}
    form = StartChatForm(initial={"body": text, "touch": _sign_touch(touch)})
    return _chat_page(request, business, form, product)


def _chat_page(request, business, form, product, *, status: int = 200):
    inbox = selectors.get_inbox_settings(business=business)
    greeting = inbox.greeting_text if inbox.greeting_enabled else ""
    context = {"business": business, "form": form, "product": product, "greeting": greeting}
    return render(request, "chats/click_to_chat.html", context, status=status)


def _start_chat(request, business):
    if not request.user.is_authenticated:
        return redirect_to_login(request.path)
    form = StartChatForm(request.POST)
    product = None
    if form.is_valid():
        data = form.cleaned_data
        product = _asked_product(business.pk, data["product"])
        try:
            conversation, message = services.start_conversation_with_message(
                customer=request.user,
                business=business,
                body=data["body"],
                first_touch=_read_touch(data["touch"]),
                product_id=data["product"],
                client_id=data["client_id"],
            )
        except AppError as exc:
            if exc.code == "own_business":
                messages.info(request, str(exc.message))
                return redirect("inbox", slug=business.slug)
            form.add_error("body", str(exc.message))
        else:
            url = reverse("chat_thread", args=[conversation.pk])
            return redirect(f"{url}#msg-{message.seq}")
    return _chat_page(request, business, form, product, status=400)


def _list_moment() -> int:
    """When a list page is read (milliseconds since the epoch), taken before its query:
    its socket's subscription asks what moved from then on
    (``selectors.lists_changed_since``)."""
    return int(time.time() * 1000)


def _my_chats(request, form, *, status: int = 200):
    since = _list_moment()
    sides = selectors.list_my_conversations(user=request.user)
    context = {"sides": sides, "direct_form": form, "since": since}
    return render(request, "chats/my_chats.html", context, status=status)


@login_required
def my_chats(request):
    return _my_chats(request, DirectChatForm())


@login_required
@require_POST
def direct_start(request):
    form = DirectChatForm(request.POST)
    if form.is_valid():
        peer = selectors.find_user(query=form.cleaned_data["who"])
        try:
            if peer is None:
                raise AppError(
                    _("No one with that e-mail or phone uses Conversa."), code="not_found"
                )
            conversation, _created = services.start_direct_conversation(
                user=request.user, peer=peer
            )
        except AppError as exc:
            form.add_error("who", str(exc.message))
        else:
            return redirect("chat_thread", conversation_id=conversation.pk)
    return _my_chats(request, form, status=400)


@login_required
def thread(request, conversation_id: int):
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    if conversation.membership is not None:
        return redirect(
            "inbox_thread", slug=conversation.business.slug, conversation_id=conversation.pk
        )
    context = _thread_context(request, conversation)
    product_id = request.GET.get("product")
    if product_id and conversation.business_id:
        context["ask_product"] = _asked_product(conversation.business_id, product_id)
        if context["ask_product"] and not request.GET.get("text"):
            context["send_form"] = SendForm(initial={"body": _ask_about(context["ask_product"])})
    services.mark_read(actor=request.user, conversation=conversation)
    context["report_form"] = ReportForm()
    return render(request, "chats/thread.html", context)


@login_required
@require_POST
def send(request, conversation_id: int):
    """Send from the composer: text, a product card (``product``) or a photo.

    Answers JSON to the script (``Accept: application/json``), else redirects back.
    """
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    back = _thread_url(conversation)
    form = SendForm(request.POST, request.FILES)
    if not form.is_valid():
        error = next(iter(form.errors.values()))[0]
        return _error_response(request, AppError(error, code="invalid"), back)
    data = form.cleaned_data
    try:
        if data.get("image"):
            message, created = services.send_image(
                actor=request.user,
                conversation=conversation,
                upload=data["image"],
                caption=data["body"],
                client_id=data["client_id"],
            )
        elif data.get("product"):
            message, created = services.share_product(
                actor=request.user,
                conversation=conversation,
                product_id=data["product"],
                body=data["body"],
                client_id=data["client_id"],
            )
        else:
            message, created = services.send_text(
                actor=request.user,
                conversation=conversation,
                body=data["body"],
                client_id=data["client_id"],
            )
    except AppError as exc:
        return _error_response(request, exc, back)
    if _wants_json(request):
        return JsonResponse(
            {"seq": message.seq, "created": created}, status=201 if created else 200
        )
    return redirect(f"{back}#msg-{message.seq}")


@login_required
def messages_partial(request, conversation_id: int):
    """Messages after (polling, catch-up) or before (earlier page) a seq, as HTML."""
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    page = selectors.list_messages(
        conversation=conversation,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    other = selectors.get_other_side(conversation)
    html = events.render_messages(page, me=conversation.me, other=other)
    response = render(request, "chats/_messages.html", {"messages_html": html})
    response["X-Last-Seq"] = str(conversation.last_seq)
    return response


@login_required
@require_POST
def mark_read(request, conversation_id: int):
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    try:
        services.mark_read(
            actor=request.user, conversation=conversation, seq=request.POST.get("seq")
        )
    except AppError as exc:
        return _error_response(request, exc, _thread_url(conversation))
    return HttpResponse(status=204)


@login_required
@require_POST
def report(request, conversation_id: int):
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    form = ReportForm(request.POST)
    back = _thread_url(conversation)
    if not form.is_valid():
        messages.error(request, _("Say what is wrong."))
        return redirect(back)
    try:
        services.report_conversation(
            actor=request.user, conversation=conversation, reason=form.cleaned_data["reason"]
        )
    except AppError as exc:
        return _error_response(request, exc, back)
    messages.success(request, _("Thank you. The platform's team will look at this conversation."))
    return redirect(back)


@login_required
@require_POST
def block(request, conversation_id: int):
    """Block (``blocked=1``) or unblock the other person of a direct conversation: no
    messages or money from them while blocked. They are not told."""
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    blocked = request.POST.get("blocked") == "1"
    back = _thread_url(conversation)
    try:
        services.block_peer(actor=request.user, conversation=conversation, blocked=blocked)
    except AppError as exc:
        return _error_response(request, exc, back)
    if blocked:
        messages.success(request, _("Blocked: they can no longer message you or send you money."))
    else:
        messages.success(request, _("Unblocked: they can message you again."))
    return redirect(back)


@login_required
def chat_settings(request):
    prefs = ChatPreferences.objects.filter(user=request.user).first()
    initial = {"email_unread": prefs.email_unread if prefs else True}
    # Unticking the only box posts nothing but the CSRF token: bind on the method.
    form = ChatPreferencesForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.set_chat_preferences(
            user=request.user, email_unread=form.cleaned_data["email_unread"]
        )
        messages.success(request, _("Chat settings saved."))
        return redirect("chat_settings")
    return render(request, "chats/settings.html", {"form": form})


# --- The merchant inbox ------------------------------------------------------------------


@login_required
def inbox(request, slug: str, conversation_id: int | None = None):
    """The inbox: conversation list with filters; with a conversation, its thread and
    the customer panel beside it."""
    business = get_business_for(user=request.user, slug=slug)
    form = InboxFilterForm(request.GET or None, business=business)
    filters = form.cleaned_data if form.is_valid() else {}
    before = _moment(request.GET.get("before"))
    since = _list_moment()
    rows = selectors.list_inbox(
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
    context = {"rows": rows, "filter_form": form, "query": request.GET.urlencode(), "since": since}
    if len(rows) == selectors.PAGE:
        older = request.GET.copy()
        older["before"] = rows[-1].last_message_at.isoformat()
        older["before_id"] = str(rows[-1].pk)
        context["older_url"] = f"{reverse('inbox', args=[slug])}?{older.urlencode()}"
    if conversation_id is not None:
        conversation = selectors.get_conversation_for(
            user=request.user, conversation_id=conversation_id
        )
        if conversation.membership is None or conversation.business_id != business.pk:
            raise Http404
        services.mark_read(actor=request.user, conversation=conversation)
        context |= _thread_context(request, conversation)
        context |= selectors.get_contact_panel(conversation=conversation)
        context |= {
            "note_form": NoteForm(),
            "labels": selectors.list_labels(business=business),
            "team": selectors.list_team(business=business),
            "quick_replies": selectors.list_quick_replies(business=business),
            "statuses": Conversation.Status.choices,
            "products": _shareable_products(business),
        }
        for row in rows:
            if row.pk == conversation.pk:
                row.unread = 0
    return render_dashboard(request, business, "inbox", "chats/inbox.html", context)


def _moment(value):
    """An ISO moment from a query string, or None when absent or malformed."""
    from django.utils.dateparse import parse_datetime

    try:
        moment = parse_datetime((value or "")[:40])
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        return None
    return moment


def _shareable_products(business):
    from catalog.models import Product

    return Product.objects.filter(business=business, is_active=True).order_by("position", "name")[
        :200
    ]


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
    return render(
        request,
        "chats/_inbox_row.html",
        {"row": row, "business": business, "query": "", "current": request.GET.get("current")},
    )


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
        user=request.user, conversation_id=conversation_id
    )
    if conversation.membership is None or conversation.business_id != business.pk:
        raise Http404
    back = reverse("inbox_thread", args=[slug, conversation.pk])
    actor, post = request.user, request.POST
    try:
        if action == "status":
            services.set_status(
                actor=actor, conversation=conversation, status=post.get("status", "")
            )
            done = _("Status changed.")
        elif action == "assign":
            assignee = post.get("assignee") or None
            services.assign(actor=actor, conversation=conversation, assignee_id=assignee)
            done = _("Assignment changed.")
            if (
                assignee
                and str(assignee) != str(actor.pk)
                and business.membership.role == ROLE.AGENT
            ):
                back = reverse("inbox", args=[slug])
        elif action == "labels":
            services.set_labels(
                actor=actor, conversation=conversation, label_ids=post.getlist("labels")
            )
            done = _("Labels saved.")
        elif action == "notes":
            form = NoteForm(post)
            body = form.data.get("body", "")
            services.add_note(actor=actor, conversation=conversation, body=body)
            done = _("Note added.")
        elif action in ("block", "unblock"):
            services.block_contact(
                actor=actor, conversation=conversation, blocked=action == "block"
            )
            done = _("Customer blocked.") if action == "block" else _("Customer unblocked.")
        else:
            services.share_products(
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
        return _error_response(request, exc, back)
    messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def note_delete(request, slug: str, conversation_id: int, note_id: int):
    business = get_business_for(user=request.user, slug=slug)
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    if conversation.membership is None or conversation.business_id != business.pk:
        raise Http404
    note = get_object_or_404(ContactNote, pk=note_id, contact_id=conversation.contact_id)
    services.delete_note(actor=request.user, note=note)
    messages.success(request, _("Note deleted."))
    return redirect("inbox_thread", slug=slug, conversation_id=conversation.pk)
