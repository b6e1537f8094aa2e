"""The unread-replies e-mail: a customer who has not read a business's replies gets
them by e-mail after ``CHAT_UNREAD_EMAIL_DELAY`` (docs/outbox.md). The participant
row's ``email_due_at`` is the truth; the task enqueued after the commit is only a
shortcut, and the beat's sweep sends what it missed.
"""

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chats import events, kinds
from chats.models import ChatPreferences, Message, Participant
from core.events import enqueue_on_commit

logger = logging.getLogger(__name__)


def schedule_unread_email(participants: list[Participant]) -> None:
    """Make the unread-replies e-mail due in ``CHAT_UNREAD_EMAIL_DELAY`` for each
    customer among ``participants`` that has none due (a conditional update, so the
    first reply of a batch sets it and later ones join that e-mail). The row is what
    counts: the beat's sweep (:func:`send_due_unread_emails`) sends it even when the
    task enqueued here after the commit, only a shortcut, is lost."""
    wanted = [s for s in participants if s.user_id is not None and s.email_due_at is None]
    if not wanted:
        return
    ids = [side.pk for side in wanted]
    delay = settings.CHAT_UNREAD_EMAIL_DELAY
    due = timezone.now() + datetime.timedelta(seconds=delay)
    if not Participant.objects.filter(pk__in=ids, email_due_at__isnull=True).update(
        email_due_at=due
    ):
        return
    for side in wanted:
        side.email_due_at = due
    if len(ids) == 1:
        enqueue_on_commit("chats.tasks.send_unread_email", ids[0], countdown=delay, robust=True)
    else:
        enqueue_on_commit("chats.tasks.send_unread_emails", ids, countdown=delay, robust=True)


@dataclass(frozen=True)
class _UnreadEmail:
    """An unread-replies e-mail claimed by one sender until ``lease``."""

    participant_id: int
    seq: int  # the last message it covers
    lease: datetime.datetime
    attempts: int
    message: Any  # EmailMessage


def _unread_replies(side: Participant, since: int):
    return (
        Message.objects.filter(conversation_id=side.conversation_id, seq__gt=since)
        .exclude(sender=side)
        .exclude(sender__isnull=True)
    )


def _claim_unread_email(participant_id: int) -> _UnreadEmail | None:
    """Claim the participant's due e-mail and render it, in one short transaction;
    ``None`` if it is not due, held by another sender, or moot (read meanwhile,
    online, turned off: then it is no longer due)."""
    moment = timezone.now()
    with transaction.atomic():
        side = (
            Participant.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("user", "conversation__business")
            .filter(pk=participant_id, email_due_at__lte=moment)
            .first()
        )
        if side is None or side.user is None:
            return None
        unread = list(
            _unread_replies(side, max(side.last_read_seq, side.emailed_seq)).order_by("seq")
        )
        prefs = ChatPreferences.objects.filter(user=side.user).first()
        if not unread or (prefs and not prefs.email_unread) or events.is_online(side.user_id):
            Participant.objects.filter(pk=side.pk).update(email_due_at=None, email_attempts=0)
            return None
        lease = moment + datetime.timedelta(seconds=settings.CHAT_UNREAD_EMAIL_LEASE)
        # Conditional as well as locked: SQLite has no row locks (its write lock
        # serializes the claims instead), and this keeps a claim single either way.
        if not Participant.objects.filter(pk=side.pk, email_due_at=side.email_due_at).update(
            email_due_at=lease
        ):
            return None
        business = side.conversation.business
        with translation.override(side.user.language or settings.LANGUAGE_CODE):
            context = {
                "user": side.user,
                "business": business,
                "previews": [kinds.get(m.kind).preview(m) for m in unread[-5:]],
                "count": len(unread),
                "url": settings.SITE_URL
                + reverse("chat_thread", kwargs={"conversation_id": side.conversation_id}),
                "settings_url": settings.SITE_URL + reverse("chat_settings"),
            }
            subject = _("%(business)s replied to you on Conversa") % {"business": business.name}
            text = render_to_string("chats/email/unread.txt", context)
    seq = unread[-1].seq
    message = EmailMessage(
        subject,
        text,
        None,
        [side.user.email],
        # The same for every attempt at this batch: should a sender die after the
        # server took the e-mail and before recording it, the second copy is the
        # same message to the customer's mail client.
        headers={"Message-ID": f"<unread.{side.pk}.{seq}@{DNS_NAME}>"},
    )
    return _UnreadEmail(side.pk, seq, lease, side.email_attempts, message)


def _finish_unread_email(claim: _UnreadEmail, *, error: BaseException | None) -> None:
    """Record the outcome of a claimed e-mail. Sent: ``emailed_seq`` covers it, and
    it is due again only if a reply came while it was being sent. Failed: retried
    after a backoff, given up after ``CHAT_UNREAD_EMAIL_MAX_ATTEMPTS``. A claim whose
    lease another sender has since taken leaves ``email_due_at`` to that sender."""
    moment = timezone.now()
    with transaction.atomic():
        side = (
            Participant.objects.select_for_update(no_key=True)
            .filter(pk=claim.participant_id)
            .first()
        )
        if side is None:
            return
        ours = side.email_due_at == claim.lease
        if error is None:
            fields: dict[str, Any] = {
                "emailed_seq": max(side.emailed_seq, claim.seq),
                "email_attempts": 0,
            }
            if ours:
                since = max(claim.seq, side.last_read_seq)
                newer = _unread_replies(side, since).exists()
                delay = datetime.timedelta(seconds=settings.CHAT_UNREAD_EMAIL_DELAY)
                fields["email_due_at"] = moment + delay if newer else None
        elif not ours:
            return
        else:
            attempts = claim.attempts + 1
            if attempts >= settings.CHAT_UNREAD_EMAIL_MAX_ATTEMPTS:
                fields = {"email_due_at": None, "email_attempts": 0}
            else:
                wait = settings.CHAT_UNREAD_EMAIL_RETRY_BASE * 2 ** (attempts - 1)
                fields = {
                    "email_due_at": moment + datetime.timedelta(seconds=wait),
                    "email_attempts": attempts,
                }
            logger.warning(
                "unread e-mail to participant %s failed (attempt %d%s): %s: %s",
                claim.participant_id, attempts,
                ", given up" if fields["email_due_at"] is None else "",
                type(error).__name__, error,
            )  # fmt: skip
        Participant.objects.filter(pk=side.pk).update(**fields)


def send_unread_email(*, participant_id: int) -> bool:
    """E-mail the customer the business replies they have not read, if that e-mail is
    due (``email_due_at``). Returns whether an e-mail went out. Idempotent, and safe
    for any number of concurrent callers (the accelerating task, the sweep, a
    redelivered task).

    Three steps, none holding a lock over the network: claim it (the row's due time
    moves to the end of a ``CHAT_UNREAD_EMAIL_LEASE``, the e-mail is rendered), send
    it, record it (``emailed_seq`` = the last message it covers, so the next e-mail
    starts after it). A sender killed after claiming leaves the row due at the end of
    its lease, and the sweep sends it then: nothing is lost, and the flag never stays
    set. Only a sender killed between the mail server's acceptance and the record
    can cause a second copy (the same ``Message-ID``); docs/outbox.md.
    """
    if type(participant_id) is not int:
        return False
    claim = _claim_unread_email(participant_id)
    if claim is None:
        return False
    try:
        claim.message.send()
    except Exception as exc:  # the mail server: retried later, not a task failure
        _finish_unread_email(claim, error=exc)
        return False
    _finish_unread_email(claim, error=None)
    return True


def send_due_unread_emails(*, limit: int | None = None) -> int:
    """The beat's sweep: send the due unread-replies e-mails, up to ``limit``
    (``CHAT_UNREAD_EMAIL_BATCH``), earliest first; returns how many went out. Rows
    another sender holds are skipped (each is claimed with ``skip_locked``)."""
    limit = limit or settings.CHAT_UNREAD_EMAIL_BATCH
    due = (
        Participant.objects.filter(email_due_at__lte=timezone.now())
        .order_by("email_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send_unread_email(participant_id=pk) for pk in list(due))
