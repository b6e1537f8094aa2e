"""Follow-up rules with satisfaction ratings, and broadcasts of offers (docs/marketing.md).

A :class:`FollowUpRule` says "N days after an order is paid / shipped / delivered,
send this text"; the follow-up itself is an outbox row (``chats.ScheduledMessage``,
dedupe ``order:<id>:followup:<rule id>``) written in the transaction that changed
the order. A :class:`Broadcast` is an offer sent to an audience of opted-in contacts,
one outbox row per contact (dedupe ``broadcast:<id>:contact:<id>``): the unique key
is what makes "each contact at most once" hold.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business

MAX_DELAY_DAYS = 90
MAX_TEMPLATE = 1000


class FollowUpRule(models.Model):
    class Trigger(models.TextChoices):
        PAID = "paid", _("paid")
        SHIPPED = "shipped", _("shipped")
        DELIVERED = "delivered", _("delivered")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="followup_rules")
    trigger = models.CharField(_("after the order is"), max_length=10, choices=Trigger.choices)
    delay_days = models.PositiveSmallIntegerField(
        _("days later"), validators=[MaxValueValidator(MAX_DELAY_DAYS)]
    )
    text = models.TextField(_("message"), max_length=MAX_TEMPLATE)
    ask_rating = models.BooleanField(_("ask for a 1–5 satisfaction rating"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # The business's built-in check-in: it can be edited or turned off, not deleted.
    is_default = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["trigger", "delay_days", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business"], condition=Q(is_default=True), name="followup_one_default"
            ),
            models.CheckConstraint(
                condition=Q(delay_days__lte=MAX_DELAY_DAYS), name="followup_delay_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} + {self.delay_days}d"


class SatisfactionRating(models.Model):
    """The customer's 1–5 rating of an order, given once by tapping the check-in card."""

    order = models.OneToOneField(
        "payments.Order", on_delete=models.CASCADE, related_name="satisfaction"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.score}"


class Broadcast(models.Model):
    class Audience(models.TextChoices):
        ALL = "all", _("Everyone who accepts offers")
        LABEL = "label", _("Contacts with a label")
        PRODUCT = "product", _("Customers who bought a product")
        LAPSED = "lapsed", _("Customers whose last purchase was before a date")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="broadcasts")
    text = models.TextField(_("message"), max_length=MAX_TEMPLATE)
    product_ids = models.JSONField(default=list, blank=True)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    label = models.ForeignKey(
        "chats.Label", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    before = models.DateField(null=True, blank=True)
    send_at = models.DateTimeField(_("send at"))
    # How many contacts were chosen (the rest of the progress is read from the outbox).
    recipients = models.PositiveIntegerField(default=0)
    # Set once no message of it waits any more (the beat stops looking at it).
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when a merchant canceled it: its offers not sent yet were canceled with it.
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"broadcast {self.pk}"

    @property
    def key_prefix(self) -> str:
        return f"broadcast:{self.pk}:"
