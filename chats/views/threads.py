"""HTML views of a customer's chats and direct chats, and the thread page that the
merchant inbox (``chats.views.inbox``) shows too.

Each view parses, authorizes through a selector (``get_conversation_for`` for a
conversation), calls one service and renders. Everything works with plain form
posts; the socket (static/js/chat.js) and its polling fallback only make it live.
"""

import time
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership
from accounts.selectors import get_public_business
from accounts.throttle import client_ip
from catalog.selectors import active_products
from chats import events, hooks, selectors
from chats.forms import (
    ChatPreferencesForm,
    DirectChatForm,
    ReportForm,
    SendForm,
    StartChatForm,
)
from chats.models import ChatPreferences, Conversation
from chats.rows import chat_rows
from chats.services import conversations, receipts
from chats.services import messages as chat_messages
from chats.services import settings as settings_services
from core.errors import AppError

ROLE = Membership.Role
PREFILL_MAX = 1000


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def error_response(request, exc: AppError, fallback_url: str):
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


def thread_context(request, conversation: Conversation) -> dict:
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


TOUCH_SALT = "chats.click_to_chat.touch"
# What the signed touch carries to the conversation: its first touch, and the ad
# networks' click ids (for hooks.conversation_started; the conversation keeps none).
TOUCH_FIELDS = (*conversations.FIRST_TOUCH_FIELDS, "fbclid", "gclid", "click_id")
# Added to the sign-in's ``next``: the click was counted before the round trip.
COUNTED_MARK = "counted"
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
    return {k: str(touch[k]) for k in TOUCH_FIELDS if k in touch}


def _asked_product(business_id: int, product_id):
    """The active product ``product_id`` of the business, if there is one (the
    product a link or a thread asks about)."""
    if not str(product_id or "").isdigit():
        return None
    return (
        active_products(business=business_id)
        .filter(pk=product_id)
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
    if COUNTED_MARK not in params:
        hooks.chat_link_opened(request=request, business_id=business.pk)
        params[COUNTED_MARK] = "1"
    if "referrer" not in params:
        referrer = request.headers.get("Referer", "")
        host = urlsplit(referrer).netloc
        if referrer and host and host != request.get_host():
            params["referrer"] = referrer[:500]
    if not request.user.is_authenticated:
        return redirect_to_login(f"{request.path}?{params.urlencode()}")
    try:
        conversations.check_can_start_conversation(customer=request.user, business=business)
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
    touch = {key: params.get(key, "") for key in TOUCH_FIELDS}
    form = StartChatForm(initial={"body": text, "touch": _sign_touch(touch)})
    return _chat_page(request, business, form, product)


def _client(request) -> dict[str, str]:
    """The request's address and browser, for ``hooks.conversation_started`` (insights
    hashes them into the day's anonymous visitor; nothing stores them)."""
    try:
        ip = client_ip(request)
    except PermissionDenied:  # allauth finds no address
        ip = ""
    return {"ip": ip, "user_agent": request.headers.get("User-Agent", "")[:512]}


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
            conversation, message = conversations.start_conversation_with_message(
                customer=request.user,
                business=business,
                body=data["body"],
                first_touch=_read_touch(data["touch"]),
                product_id=data["product"],
                client_id=data["client_id"],
                client=_client(request),
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


def list_moment() -> int:
    """When a list page is read (milliseconds since the epoch), taken before its query:
    its socket's subscription asks what moved from then on
    (``selectors.lists_changed_since``)."""
    return int(time.time() * 1000)


def _my_chats(request, form, *, status: int = 200):
    since = list_moment()
    rows = selectors.list_chat_rows(user=request.user)
    context = {"rows": chat_rows(rows), "direct_form": form, "since": since}
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
            conversation, _created = conversations.start_direct_conversation(
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
    context = thread_context(request, conversation)
    product_id = request.GET.get("product")
    if product_id and conversation.business_id:
        context["ask_product"] = _asked_product(conversation.business_id, product_id)
        if context["ask_product"] and not request.GET.get("text"):
            context["send_form"] = SendForm(initial={"body": _ask_about(context["ask_product"])})
    receipts.mark_read(actor=request.user, conversation=conversation)
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
        return error_response(request, AppError(error, code="invalid"), back)
    data = form.cleaned_data
    try:
        if data.get("image"):
            message, created = chat_messages.send_image(
                actor=request.user,
                conversation=conversation,
                upload=data["image"],
                caption=data["body"],
                client_id=data["client_id"],
            )
        elif data.get("product"):
            message, created = chat_messages.share_product(
                actor=request.user,
                conversation=conversation,
                product_id=data["product"],
                body=data["body"],
                client_id=data["client_id"],
            )
        else:
            message, created = chat_messages.send_text(
                actor=request.user,
                conversation=conversation,
                body=data["body"],
                client_id=data["client_id"],
            )
    except AppError as exc:
        return error_response(request, exc, back)
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
        receipts.mark_read(
            actor=request.user, conversation=conversation, seq=request.POST.get("seq")
        )
    except AppError as exc:
        return error_response(request, exc, _thread_url(conversation))
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
        conversations.report_conversation(
            actor=request.user, conversation=conversation, reason=form.cleaned_data["reason"]
        )
    except AppError as exc:
        return error_response(request, exc, back)
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
        conversations.block_peer(actor=request.user, conversation=conversation, blocked=blocked)
    except AppError as exc:
        return error_response(request, exc, back)
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
        settings_services.set_chat_preferences(
            user=request.user, email_unread=form.cleaned_data["email_unread"]
        )
        messages.success(request, _("Chat settings saved."))
        return redirect("chat_settings")
    return render(request, "chats/settings.html", {"form": form})
