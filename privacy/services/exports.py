"""Data exports (LGPD arts. 18 and 19: access and portability): a ZIP of everything
Conversa keeps about one person — or, for a business, about one of its contacts —
built by a Celery worker, downloadable by the one who asked for
``PRIVACY_EXPORT_TTL_DAYS`` days, then deleted (docs/privacy.md, "Export").

Files live under ``PRIVACY_EXPORT_DIR`` (never under MEDIA: they are served only by
the download view, to the signed-in requester) with random names.
"""

import csv
import io
import json
import logging
import secrets
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from chats.models import ConsentRecord, Contact, Conversation, Message
from core.errors import AppError
from core.events import enqueue_on_commit
from core.mail import queue_email
from marketing.models import SatisfactionRating
from payments.models import Card, Order, Payment, Payout
from privacy.models import PrivacyRequest

logger = logging.getLogger(__name__)
STATUS = PrivacyRequest.Status
KIND = PrivacyRequest.Kind


def export_dir() -> Path:
    path = Path(settings.PRIVACY_EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def request_export(
    *, actor: User, subject: User, business: Business | None = None
) -> PrivacyRequest:
    """Ask for an export of ``subject``'s data: their own (``actor`` is ``subject``,
    no business) or, for a business's owner or admin who was authorised by the
    caller, that contact's data in ``business``. One at a time per scope, at most
    ``PRIVACY_EXPORTS_PER_DAY`` a day per requester (AppError ``export_running``,
    ``export_limit``). Enqueues the build after the commit."""
    from privacy.services.erasure import pseudonym_key  # sibling; imports this module

    kind = KIND.EXPORT if business is None else KIND.CONTACT_EXPORT
    since = timezone.now() - timedelta(days=1)
    with transaction.atomic():
        mine = PrivacyRequest.objects.filter(actor=actor, kind=kind, business=business)
        if mine.filter(subject=subject, status__in=PrivacyRequest.LIVE).exists():
            raise AppError(_("An export is already being prepared."), code="export_running")
        if mine.filter(created_at__gte=since).count() >= settings.PRIVACY_EXPORTS_PER_DAY:
            raise AppError(
                _("You have asked for too many exports today. Try again tomorrow."),
                code="export_limit",
                status_code=429,
            )
        try:
            with transaction.atomic():
                request = PrivacyRequest.objects.create(
                    kind=kind,
                    subject=subject,
                    subject_label=pseudonym_key(subject.pk),
                    actor=actor,
                    business=business,
                )
        except IntegrityError:
            raise AppError(
                _("An export is already being prepared."), code="export_running"
            ) from None
        enqueue_on_commit("privacy.tasks.build_export", request.pk)
    return request


def _set_progress(request: PrivacyRequest, progress: int) -> None:
    # The page polls it (privacy/_export_status.html).
    PrivacyRequest.objects.filter(pk=request.pk).update(progress=progress)


def build_export(*, request_id: int) -> PrivacyRequest | None:
    """The worker's part: claim the pending request, write the ZIP, mark it ready and
    e-mail the requester. Idempotent (a request not pending is left alone); a
    failure marks it failed and removes any partial file."""
    with transaction.atomic():
        request = (
            PrivacyRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("subject", "actor", "business")
            .filter(pk=request_id, status=STATUS.PENDING)
            .first()
        )
        if request is None:
            return None
        request.status = STATUS.RUNNING
        request.save(update_fields=["status"])
    name = f"{secrets.token_hex(16)}.zip"
    path = export_dir() / name
    try:
        files = export_files(
            user=request.subject,
            business=request.business,
            progress=lambda p: _set_progress(request, p),
        )
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file_name, content in files.items():
                archive.writestr(file_name, content)
    except Exception:
        logger.exception("export %s failed", request.pk)
        path.unlink(missing_ok=True)
        PrivacyRequest.objects.filter(pk=request.pk).update(
            status=STATUS.FAILED, error="build_failed", completed_at=timezone.now()
        )
        return PrivacyRequest.objects.get(pk=request.pk)
    with transaction.atomic():
        request.status = STATUS.READY
        request.progress = 100
        request.file_name = name
        request.file_size = path.stat().st_size
        request.completed_at = timezone.now()
        request.expires_at = request.completed_at + timedelta(days=settings.PRIVACY_EXPORT_TTL_DAYS)
        request.save(
            update_fields=[
                "status", "progress", "file_name", "file_size", "completed_at", "expires_at",
            ]
        )  # fmt: skip
        actor = request.actor
        if actor is not None and actor.is_active:
            with translation.override(actor.language or settings.LANGUAGE_CODE):
                body = render_to_string(
                    "privacy/email/export_ready.txt",
                    {
                        "url": settings.SITE_URL.rstrip("/") + reverse("privacy_home"),
                        "days": settings.PRIVACY_EXPORT_TTL_DAYS,
                    },
                )
                queue_email(
                    to=actor.email,
                    subject=_("Your Conversa data is ready to download"),
                    body=body,
                    dedupe_key=f"privacy:export:{request.pk}",
                )
    return request


def export_path(request: PrivacyRequest) -> Path | None:
    """The ready file of ``request`` (None once expired or gone)."""
    if request.status != STATUS.READY or not request.file_name:
        return None
    if request.expires_at is None or request.expires_at <= timezone.now():
        return None
    path = export_dir() / request.file_name
    return path if path.is_file() else None


def delete_files(requests) -> int:
    """Delete the files of ``requests`` and mark the ready ones expired; how many."""
    count = 0
    for request in list(requests):
        if request.file_name:
            (export_dir() / Path(request.file_name).name).unlink(missing_ok=True)
            count += 1
        fields = {"file_name": "", "file_size": 0}
        if request.status == STATUS.READY:
            fields["status"] = STATUS.EXPIRED
        PrivacyRequest.objects.filter(pk=request.pk).update(**fields)
    return count


def expire_exports(*, now=None) -> int:
    """The retention job's part: exports past their time lose their file."""
    now = now or timezone.now()
    return delete_files(PrivacyRequest.objects.filter(status=STATUS.READY, expires_at__lte=now))


# --- What goes in the ZIP -------------------------------------------------------------


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _money(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def _dt(value) -> str:
    return value.isoformat() if value else ""


def export_files(*, user: User, business: Business | None = None, progress=None) -> dict:
    """``{file name: str | bytes}`` of everything about ``user`` (in ``business``
    only, for a contact export). Reads only rows that belong to ``user``."""
    progress = progress or (lambda p: None)
    files: dict[str, str | bytes] = {}
    scope = Q(business=business) if business is not None else Q()

    profile = {
        "email": user.email,
        "name": user.display_name,
        "phone": user.phone,
        "language": user.language,
        "joined": _dt(user.date_joined),
        "last_login": _dt(user.last_login),
    }
    if business is None:
        profile["memberships"] = [
            {"business": m.business.name, "role": m.role}
            for m in Membership.objects.filter(user=user).select_related("business")
        ]
        profile["cards"] = [
            {
                "brand": c.brand,
                "last4": c.last4,
                "expiry": f"{c.exp_month:02d}/{c.exp_year}",
                "removed": bool(c.removed_at),
            }
            for c in Card.objects.filter(user=user)
        ]
    contacts = Contact.objects.filter(Q(user=user) & scope).select_related("business")
    profile["contacts"] = [
        {
            "business": c.business.name,
            "since": _dt(c.created_at),
            "accepts_offers": c.accepts_offers,
            "labels": [label.name for label in c.labels.all()],
        }
        for c in contacts
    ]
    files["profile.json"] = json.dumps(profile, indent=2, ensure_ascii=False)
    progress(10)

    conversations = Conversation.objects.filter(participants__user=user)
    if business is not None:
        conversations = conversations.filter(business=business)
    conversations = list(conversations.select_related("business").distinct())
    for i, conversation in enumerate(conversations):
        _conversation_files(files, conversation, user)
        progress(10 + int(60 * (i + 1) / max(1, len(conversations))))
    progress(70)

    orders = Order.objects.filter(Q(customer=user) & scope).select_related("business")
    files["orders.csv"] = _csv(
        ["number", "business", "status", "total", "currency", "created_at", "items"],
        (
            [
                o.number, o.business.name, o.status, _money(o.total), o.currency,
                _dt(o.created_at), "; ".join(f"{i.quantity} × {i.name}" for i in o.items.all()),
            ]
            for o in orders.prefetch_related("items")
        ),
    )  # fmt: skip
    payments = Payment.objects.filter(Q(payer=user) & scope, order__isnull=False).select_related(
        "business", "card", "order"
    )
    files["payments.csv"] = _csv(
        ["id", "order", "business", "amount", "currency", "status", "card", "created_at"],
        (
            [
                p.pk, p.order.number, p.business.name if p.business else "", _money(p.amount),
                p.currency, p.status, f"{p.card.brand} {p.card.last4}", _dt(p.created_at),
            ]
            for p in payments
        ),
    )  # fmt: skip
    if business is None:
        transfers = Payment.objects.filter(
            Q(payer=user) | Q(payee=user), order__isnull=True, business__isnull=True
        ).select_related("payer", "payee", "card")
        files["transfers.csv"] = _csv(
            ["id", "direction", "amount", "currency", "status", "note", "card", "created_at"],
            (
                [
                    t.pk, "sent" if t.payer_id == user.pk else "received", _money(t.amount),
                    t.currency, t.status, t.note,
                    f"{t.card.brand} {t.card.last4}" if t.payer_id == user.pk else "",
                    _dt(t.created_at),
                ]
                for t in transfers
            ),
        )  # fmt: skip
        files["payouts.csv"] = _csv(
            ["id", "amount", "currency", "status", "destination", "created_at"],
            (
                [p.pk, _money(p.amount), p.currency, p.status, p.destination_label,
                 _dt(p.created_at)]
                for p in Payout.objects.filter(user=user)
            ),
        )  # fmt: skip
    progress(85)
    consents = ConsentRecord.objects.filter(contact__in=contacts).select_related(
        "contact__business"
    )
    files["consents.json"] = json.dumps(
        [
            {
                "business": r.contact.business.name,
                "purpose": r.purpose,
                "action": r.action,
                "source": r.source,
                "by_you": r.actor_id == user.pk,
                "text": r.text,
                "text_version": r.text_version,
                "at": _dt(r.created_at),
            }
            for r in consents
        ],
        indent=2,
        ensure_ascii=False,
    )
    ratings = SatisfactionRating.objects.filter(Q(customer=user) & scope).select_related(
        "business", "order"
    )
    files["ratings.json"] = json.dumps(
        [
            {"business": r.business.name, "order": r.order.number, "score": r.score,
             "at": _dt(r.created_at)}
            for r in ratings
        ],
        indent=2,
        ensure_ascii=False,
    )  # fmt: skip
    with translation.override(user.language or settings.LANGUAGE_CODE):
        files["README.txt"] = render_to_string(
            "privacy/export_readme.txt",
            {"user": user, "business": business, "now": timezone.now(), "files": sorted(files)},
        )
    progress(95)
    return files


def _sender(message: Message, user: User, title: str) -> str:
    if message.author_id == user.pk:
        return "you"
    return title if message.sender_id else "system"


def _conversation_files(files: dict, conversation: Conversation, user: User) -> None:
    if conversation.business_id:
        title = conversation.business.name
    else:
        other = conversation.participants.exclude(user=user).select_related("user").first()
        title = other.user.get_short_name() if other and other.user else _("Direct chat")
    messages = []
    for message in Message.objects.filter(conversation=conversation).order_by("seq"):
        entry = {
            "seq": message.seq,
            "at": _dt(message.created_at),
            "from": "you"
            if message.author_id == user.pk
            else ("system" if not message.sender_id else title),
            "kind": message.kind,
            "text": message.body,
        }
        if message.image:
            suffix = Path(message.image.name).suffix
            image_name = f"conversations/images/{conversation.pk}-{message.seq}{suffix}"
            try:
                with message.image.open("rb") as handle:
                    files[image_name] = handle.read()
                entry["image"] = image_name.removeprefix("conversations/")
            except OSError:
                entry["image"] = None
        messages.append(entry)
    base = f"conversations/{conversation.pk}"
    files[f"{base}.json"] = json.dumps(
        {"id": conversation.pk, "with": title, "messages": messages}, indent=2, ensure_ascii=False
    )
    files[f"{base}.html"] = render_to_string(
        "privacy/export_conversation.html", {"title": title, "messages": messages}
    )
