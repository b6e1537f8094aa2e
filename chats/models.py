"""Conversations and their messages: the centre of the product.

A conversation is between a customer and a business (the business side is its
whole staff) or between two users (direct). Each side is a :class:`Participant`
row, which holds that side's read and delivered positions and unread count, so a
business conversation and a direct one are read, counted and pushed the same way.

Messages are numbered per conversation (``seq`` = 1, 2, 3 …) under a lock on the
conversation row, so the numbering is also the commit order: a client that saw
``seq`` n catches up with "everything after n" and can neither miss nor repeat one.
A message's ``kind`` names how it is rendered (see :mod:`chats.kinds`); its
``payload`` holds that kind's data, so other apps' kinds (payment requests, shipping
notices, offers) plug in without a new column.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from accounts.validators import validate_no_markup

MAX_TEXT = 4096


class ConsentSource(models.TextChoices):
    """Where a customer gave (or withdrew) their consent to receive offers."""

    PAYMENT = "payment", _("When paying")
    CHAT = "chat", _("In the chat")
    LINK = "link", _("Opt-out link")
    KEYWORD = "keyword", _("Replied STOP")
    STAFF = "staff", _("By the business")


class Contact(models.Model):
    """A business's view of one customer: labels, private notes, block, and their
    consent to receive offers (``offers_consent_at`` set: opted in)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="contacts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts"
    )
    labels = models.ManyToManyField("Label", blank=True, related_name="contacts")
    blocked_at = models.DateTimeField(null=True, blank=True)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    # Marketing consent (offers, broadcasts): when and where it was given, and when
    # and how it was withdrawn; chats.services.consent changes these (docs/marketing.md).
    offers_consent_at = models.DateTimeField(null=True, blank=True)
    offers_consent_source = models.CharField(
        max_length=10, choices=ConsentSource.choices, blank=True
    )
    offers_opt_out_at = models.DateTimeField(null=True, blank=True)
    offers_opt_out_source = models.CharField(
        max_length=10, choices=ConsentSource.choices, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "user"], name="contact_unique"),
        ]
        indexes = [
            models.Index(
                fields=["business"],
                condition=Q(offers_consent_at__isnull=False),
                name="contact_offers_consent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.business}"

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None

    @property
    def accepts_offers(self) -> bool:
        return self.offers_consent_at is not None


class AppendOnlyError(Exception):
    """An update or delete of an append-only record was attempted (a bug)."""


class ConsentRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("consent records are append-only")

    def delete(self):
        raise AppendOnlyError("consent records are append-only")


class ConsentRecord(models.Model):
    """One change of a contact's consent to receive offers, as it happened: the proof
    LGPD art. 8 asks for (who, when, where, what they were shown). Append-only: written
    only by ``chats.services.consent`` in the transaction that changes the contact;
    never updated or deleted through the ORM, the admin, or (on PostgreSQL) a trigger.
    Lives in chats because chats' consent services write it, and chats may not
    import the privacy app above it."""

    class Action(models.TextChoices):
        GIVEN = "given", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    contact = models.ForeignKey(
        # They go with their contact (a business closed for good), and only then.
        Contact,
        on_delete=models.CASCADE,
        related_name="consent_records",
    )
    purpose = models.CharField(max_length=20, default="offers", editable=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=10, choices=ConsentSource.choices)
    # Who made the change: the customer (chat, pay form, STOP) or nobody known (a
    # signed opt-out link opened without signing in).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=300, blank=True)
    text_version = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["contact", "created_at"], name="consentrecord_contact")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.get_source_display()}"

    def save(self, *args, **kwargs):
        # Append-only: a correction is a new record, never an edit.
        if not self._state.adding:
            raise AppendOnlyError("consent records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("consent records are append-only")


class Label(models.Model):
    class Color(models.TextChoices):
        GRAY = "gray", _("Gray")
        GREEN = "green", _("Green")
        BLUE = "blue", _("Blue")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")
        PURPLE = "purple", _("Purple")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(_("name"), max_length=40, validators=[validate_no_markup])
    color = models.CharField(_("color"), max_length=10, choices=Color.choices, default=Color.GRAY)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="label_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactNote(models.Model):
    """A private note about a customer, seen only by the business's staff."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:40]


class Conversation(models.Model):
    class Kind(models.TextChoices):
        BUSINESS = "business", _("Customer and business")
        DIRECT = "direct", _("Direct")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        RESOLVED = "resolved", _("Resolved")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, null=True, blank=True, related_name="conversations"
    )
    contact = models.OneToOneField(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="conversation"
    )
    # Direct conversations: "<smaller user id>:<larger user id>", so a pair has one.
    direct_key = models.CharField(max_length=41, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        verbose_name=_("assigned to"),
    )
    last_seq = models.PositiveIntegerField(default=0)
    last_message = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    away_sent_at = models.DateTimeField(null=True, blank=True)
    # When it was last marked resolved (None while it is open or pending).
    resolved_at = models.DateTimeField(null=True, blank=True)
    # First touch, for attribution: how the customer first reached the chat.
    ref = models.CharField(max_length=100, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["business", "status", "-last_message_at"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="business", business__isnull=False, contact__isnull=False)
                    | Q(kind="direct", business__isnull=True, direct_key__isnull=False)
                ),
                name="conversation_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}"

    @property
    def is_direct(self) -> bool:
        return self.kind == self.Kind.DIRECT

    @property
    def first_touch(self) -> dict[str, str]:
        fields = ("ref", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        touch = {f: getattr(self, f) for f in fields if getattr(self, f)}
        if self.referrer:
            touch["referrer"] = self.referrer
        return touch


class Participant(models.Model):
    """One side of a conversation: a user (customer or direct peer) or a business."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_participations",
    )
    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    last_read_seq = models.PositiveIntegerField(default=0)
    last_delivered_seq = models.PositiveIntegerField(default=0)
    unread = models.PositiveIntegerField(default=0)
    # The last seq an unread-replies e-mail covered, and when the next one is due
    # (null: none is). A sender claiming it moves it to the end of its lease, so a
    # sender killed mid-send leaves it due again; the beat's sweep sends the due ones
    # (chats.services.unread_email.send_unread_email, docs/outbox.md). Failed sends so far.
    emailed_seq = models.PositiveIntegerField(default=0)
    email_due_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    # Direct conversations: when this side blocked the other (no messages, no money
    # from them) — a customer blocks a business through its Contact instead.
    blocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) ^ Q(business__isnull=True),
                name="participant_user_xor_business",
            ),
            models.UniqueConstraint(
                fields=["conversation", "user"],
                condition=Q(user__isnull=False),
                name="participant_user_unique",
            ),
            models.UniqueConstraint(
                fields=["conversation", "business"],
                condition=Q(business__isnull=False),
                name="participant_business_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "conversation"]),
            # The sweep's "due e-mails": only the few rows with one due are indexed.
            models.Index(
                fields=["email_due_at"],
                condition=Q(email_due_at__isnull=False),
                name="participant_email_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business or self.user} in {self.conversation_id}"

    @property
    def side(self) -> str:
        return f"b{self.business_id}" if self.business_id else f"u{self.user_id}"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField()
    # Null for system notes (the platform speaking).
    sender = models.ForeignKey(
        Participant, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Who typed it: the customer, or which staff member on the business side.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=40, default="text")
    body = models.TextField(blank=True, max_length=MAX_TEXT)
    payload = models.JSONField(default=dict, blank=True)
    image = models.ImageField(upload_to="chat/", blank=True)
    image_thumb = models.ImageField(upload_to="chat/thumbs/", blank=True)
    # Null, not "": the uniqueness below applies only to messages that have one.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.kind}"


class QuickReply(models.Model):
    """A saved answer, inserted in the composer by typing ``/shortcut``."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="quick_replies")
    shortcut = models.SlugField(_("shortcut"), max_length=30)
    text = models.TextField(_("text"), max_length=MAX_TEXT)

    class Meta:
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(fields=["business", "shortcut"], name="quick_reply_unique"),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class InboxSettings(models.Model):
    """Automatic greeting and away messages of a business."""

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, primary_key=True, related_name="inbox_settings"
    )
    greeting_enabled = models.BooleanField(_("send a greeting on first contact"), default=False)
    greeting_text = models.TextField(_("greeting message"), max_length=1000, blank=True)
    away_enabled = models.BooleanField(_("send an away message outside hours"), default=False)
    away_text = models.TextField(_("away message"), max_length=1000, blank=True)

    def __str__(self) -> str:
        return f"inbox settings of {self.business}"


class ChatPreferences(models.Model):
    """A user's own chat settings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    email_unread = models.BooleanField(
        _("e-mail me when a business replies and I have not read it"), default=True
    )

    def __str__(self) -> str:
        return f"chat preferences of {self.user_id}"


class Report(models.Model):
    """A conversation reported to the platform's operators."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.TextField(_("reason"), max_length=2000)
    created_at = models.DateTimeField(default=now, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"report {self.pk} on conversation {self.conversation_id}"


# --- Outbox -------------------------------------------------------------------------


class ScheduledMessage(models.Model):
    """An automated message, written before it is sent (the outbox; docs/outbox.md).

    Written by :func:`chats.services.outbox.schedule_message` in the same transaction as the
    event that caused it (an order shipped, a payment request created), sent by a
    Celery worker once ``due_at`` has come. Sending creates the chat message and
    marks the row sent in one transaction, so a redelivered task or a second worker
    never sends it twice; ``dedupe_key`` (unique) makes scheduling idempotent too.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Sender(models.TextChoices):
        BUSINESS = "business", _("The business")
        SYSTEM = "system", _("The platform")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="scheduled_messages"
    )
    sender = models.CharField(max_length=10, choices=Sender.choices, default=Sender.BUSINESS)
    kind = models.CharField(max_length=40)
    body = models.TextField(blank=True, max_length=MAX_TEXT)
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The dispatcher's scan: due rows still to send, oldest first.
            models.Index(
                fields=["due_at", "id"],
                condition=Q(status="scheduled"),
                name="scheduled_message_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dedupe_key} ({self.status})"


class RelayedEvent(models.Model):
    """A socket event written by a process that cannot reach the sockets itself.

    Only on the embedded default, whose in-memory channel layer lives in the web
    process alone: a Celery worker writes its events here (in the transaction that
    caused them) and the web process pushes them (:mod:`chats.relay`). Short-lived:
    the web process deletes them after a minute.
    """

    group = models.CharField(max_length=200)
    event = models.JSONField()
    created_at = models.DateTimeField(default=now, editable=False)

    def __str__(self) -> str:
        return f"{self.group} {self.pk}"
