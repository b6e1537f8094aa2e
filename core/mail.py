"""E-mails that must not be lost: a row first, then a Celery task (docs/outbox.md).

:func:`queue_email` writes an :class:`~core.models.OutgoingEmail` in the caller's
transaction (the event and its e-mail commit together or not at all) and enqueues
``core.tasks.send_email`` after the commit, only a shortcut: the beat's
``core.tasks.send_due_emails`` sends every due row whose task was lost or whose worker
died. Sending claims the row for ``MAIL_LEASE`` seconds in a short transaction, sends
outside any transaction, then records it: a sender killed mid-send leaves the row due
at the end of its lease. A mail server error is retried with backoff, then the row
is ``failed`` (listed in Django admin). At least once: a second copy needs a sender
killed between the server's acceptance and the record, and has the same Message-ID.
"""

import datetime
import logging
import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.events import enqueue_on_commit
from core.models import OutgoingEmail

logger = logging.getLogger(__name__)
STATUS = OutgoingEmail.Status


def this_site() -> SimpleNamespace:
    """What e-mails call the site and link to: ``SITE_NAME`` and ``SITE_URL``'s host,
    never the host and port a request happened to come in at ("Hello from
    127.0.0.1:8101!"). Shaped like ``django.contrib.sites``' Site for allauth's mails."""
    return SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


def queue_email(
    *,
    to: str,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
    html_body: str = "",
    sensitive: bool = False,
    forget_recipient: bool = False,
) -> OutgoingEmail:
    """Queue one e-mail, due now; call it inside the transaction of its cause.
    Idempotent by ``dedupe_key`` (the row already queued under it is returned; none
    given: a new one). ``sensitive``: the body is cleared once sent (a one-time code);
    ``forget_recipient``: the address too (the last mail to an erased person)."""
    row = OutgoingEmail(
        to=to,
        subject=subject[:255],
        body=body,
        html_body=html_body,
        sensitive=sensitive or forget_recipient,
        forget_recipient=forget_recipient,
        dedupe_key=(dedupe_key or f"mail:{uuid.uuid4().hex}")[:200],
        due_at=timezone.now(),
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return OutgoingEmail.objects.get(dedupe_key=row.dedupe_key)
    enqueue_on_commit("core.tasks.send_email", row.pk, robust=True)
    return row


def _claim(email_id: int) -> tuple[OutgoingEmail, datetime.datetime] | None:
    moment = timezone.now()
    with transaction.atomic():
        row = (
            OutgoingEmail.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(pk=email_id, status=STATUS.PENDING, due_at__lte=moment)
            .first()
        )
        if row is None:
            return None
        lease = moment + datetime.timedelta(seconds=settings.MAIL_LEASE)
        # Conditional too: SQLite has no row locks (its write lock serializes this).
        if not OutgoingEmail.objects.filter(
            pk=row.pk, status=STATUS.PENDING, due_at=row.due_at
        ).update(due_at=lease):
            return None
    return row, lease


def send_email(*, email_id: int) -> bool:
    """Send one queued e-mail if it is due; returns whether it went out. Idempotent;
    any number of callers may race (one claims it)."""
    if type(email_id) is not int:
        return False
    claimed = _claim(email_id)
    if claimed is None:
        return False
    row, lease = claimed
    message = _message(row)
    try:
        message.send()
    except Exception as exc:  # the mail server: retried, not a task failure
        attempts = row.attempts + 1
        failed = attempts >= settings.MAIL_MAX_ATTEMPTS
        wait = datetime.timedelta(seconds=settings.MAIL_RETRY_BASE * 2 ** (attempts - 1))
        OutgoingEmail.objects.filter(pk=row.pk, due_at=lease).update(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            status=STATUS.FAILED if failed else STATUS.PENDING,
            due_at=timezone.now() + wait,
        )
        logger.warning("mail %s failed (attempt %d): %s", row.dedupe_key, attempts, exc)
        return False
    sent = {"status": STATUS.SENT, "sent_at": timezone.now(), "attempts": row.attempts + 1}
    if row.sensitive:
        sent |= {"body": "", "html_body": ""}
    if row.forget_recipient:
        sent |= {"to": ""}
    OutgoingEmail.objects.filter(pk=row.pk).update(**sent)
    return True


def _message(row: OutgoingEmail) -> EmailMessage:
    """The row as a message: plain text, with an HTML alternative if it has one (an
    HTML-only row is sent as HTML)."""
    headers = {"Message-ID": f"<mail.{row.pk}@{DNS_NAME}>"}
    message = EmailMultiAlternatives(row.subject, row.body, None, [row.to], headers=headers)
    if row.html_body and row.body:
        message.attach_alternative(row.html_body, "text/html")
    elif row.html_body:
        message.body, message.content_subtype = row.html_body, "html"
    return message


def send_due_emails(*, limit: int = 200) -> int:
    """The beat's sweep: send the due e-mails, earliest first; how many went out."""
    due = (
        OutgoingEmail.objects.filter(status=STATUS.PENDING, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send_email(email_id=pk) for pk in list(due))
